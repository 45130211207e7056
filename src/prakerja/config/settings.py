"""Django settings. Every value that varies between machines comes from `env.py`'s table."""

from pathlib import Path
from typing import Any

import dj_database_url

from prakerja.config import env
from prakerja.integrations.email import email_settings

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.data_dir()

SECRET_KEY = env.get("PRAKERJA_SECRET_KEY")
DEBUG = env.get_bool("PRAKERJA_DEBUG")
ALLOWED_HOSTS = env.get_list("PRAKERJA_ALLOWED_HOSTS")

INSTALLED_APPS = [
    "prakerja.console.admin_app.ConsoleAdminConfig",  # the admin on a site demanding the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "prakerja.audit",
    "prakerja.ledger",
    "prakerja.waves",
    "prakerja.registration",
    "prakerja.notifications",
    "prakerja.partners",
    "prakerja.catalog",
    "prakerja.orders",
    "prakerja.incentives",
    "prakerja.throttle",
    "prakerja.integrations",
    "prakerja.ops",
    "prakerja.simulation",
    "prakerja.console",
    "prakerja.dashboards",
    "prakerja.grievances",
    "prakerja.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "prakerja.portal.middleware.IndonesianFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "prakerja.console.middleware.OperatorAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "prakerja.common.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "prakerja.config.urls"
WSGI_APPLICATION = "prakerja.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = env.get("DATABASE_URL").replace("$PRAKERJA_DATA_DIR", str(DATA_DIR))
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at BEGIN, so
        # two writers queue on the busy timeout instead of failing to upgrade a read lock mid-way.
        config["OPTIONS"] = {
            "timeout": env.get_int("PRAKERJA_SQLITE_BUSY_TIMEOUT_MS") / 1000,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON;",
        }
        # Tests on SQLite use a file too, so that threads and subprocesses share one database.
        config["TEST"] = {"NAME": str(DATA_DIR / "test-prakerja.sqlite3")}
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    else:
        config["CONN_MAX_AGE"] = env.get_int("PRAKERJA_DB_CONN_MAX_AGE")
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.get("PRAKERJA_LANGUAGE")
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Jakarta"  # shown in WIB; with USE_TZ the database stores UTC
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise reads it at start
WHITENOISE_USE_FINDERS = True  # the demo serves app static files without a collectstatic step
MEDIA_ROOT = DATA_DIR / "media"

# Operators sign in with a second factor (TOTP); false only for local debugging.
OPERATOR_OTP = env.get_bool("PRAKERJA_OPERATOR_OTP")
OTP_TOTP_ISSUER = "Prakerja"
# Nobody reads an operator's key back from the admin (the auditor views devices): shown once only,
# when `prakerja operators` enrols it.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

SESSION_COOKIE_SECURE = env.get_bool("PRAKERJA_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Email: `sandbox:` keeps mails in the database for the demo's inbox page; SMTP in production.
globals().update(email_settings(env.get("PRAKERJA_EMAIL_URL")))
DEFAULT_FROM_EMAIL = SERVER_EMAIL = env.get("PRAKERJA_EMAIL_FROM")
# Inbox pages only while email itself is the sandbox: a production setup with SMTP never shows them.
SANDBOX_PAGES = (
    env.get_bool("PRAKERJA_SANDBOX_PAGES") and env.get("PRAKERJA_EMAIL_URL") == "sandbox:"
)
# `prakerja sandbox-data` writes synthetic participants and orders: only in a sandbox setting.
_SANDBOX_DATA = env.get("PRAKERJA_SANDBOX_DATA_ALLOWED").strip().lower()
SANDBOX_DATA_ALLOWED = (
    DEBUG or env.get("PRAKERJA_EMAIL_URL") == "sandbox:"
    if _SANDBOX_DATA == "auto"
    else env.get_bool("PRAKERJA_SANDBOX_DATA_ALLOWED")
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# Celery: without a broker every task runs inline in the caller (embedded default, unit tests).
CELERY_BROKER_URL = env.get("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env.get("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again, so tasks are idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task that was taken but never acknowledged (its worker killed) is given again after this: at
# least the longest task's time limit (3.600 s, soft) plus a margin, or a task still running would
# be given to a second worker. Nothing waits for it: the periodic confirmation recovers a killed
# batch in seconds (incentives/sending.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600 + 300}
# A worker process that dies (killed, out of memory) under a task of a live worker: the task goes
# back to the queue at once instead of waiting for the visibility timeout.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
DISBURSEMENT_APPROVAL_LIMIT_IDR = env.get_int("PRAKERJA_DISBURSEMENT_APPROVAL_LIMIT_IDR")

# Periodic jobs. In production `celery beat` runs this table; the embedded default runs the same
# table with `prakerja scheduler` (the demo starts it).
PERIODIC_JOBS = {
    "registry-retry-due": ("prakerja.registration.registry_retry_due", 30),
    "throttle-prune": ("prakerja.throttle.prune", 3600),
    "notifications-send": ("prakerja.notifications.send_due", 10),
    "partner-events-deliver": ("prakerja.partners.deliver_due", 10),
    "partner-idempotency-prune": ("prakerja.partners.idempotency_prune", 3600),
    # Hourly although they are daily duties: each is idempotent, and a deadline (a purchase window, a
    # voucher's date, a balance expiry date) is met within the hour rather than up to a day late.
    "participants-revoke-due": ("prakerja.waves.revoke_due", 3600),
    "purchase-reminders": ("prakerja.waves.purchase_reminders", 3600),
    "vouchers-expire-due": ("prakerja.orders.vouchers_expire_due", 3600),
    "balances-lapse-due": ("prakerja.orders.balances_lapse_due", 3600),
    # A platform's new trainings compared with the catalog for near-duplicates (catalog.flags).
    "trainings-near-duplicates-check": ("prakerja.catalog.near_duplicates_check_due", 10),
    # The catalog's popularity (buyers per training), counted from the orders.
    "trainings-buyers-refresh": ("prakerja.orders.trainings_buyers_refresh", 600),
    # Disbursement: batches whose outcome is unknown or whose results are overdue, asked about;
    # payment accounts whose inquiry was not answered, asked again.
    # Every 10 s so that an unknown outcome is confirmed within 30 s of its sending (sending.py).
    "disbursement-batches-confirm": ("prakerja.incentives.batches_confirm_due", 10),
    "payment-accounts-check": ("prakerja.incentives.payment_accounts_check_due", 300),
    # Last month's statements per platform, prepared on the first run after the month ends.
    "settlements-prepare-due": ("prakerja.orders.settlements_prepare_due", 3600),
    # The dashboards' daily facts: the days touched since the last refresh, recomputed.
    "dashboards-facts-refresh": ("prakerja.dashboards.facts_refresh", 300),
}
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": float(seconds)}
    for name, (task, seconds) in PERIODIC_JOBS.items()
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"prakerja": {"handlers": ["console"], "level": env.get("PRAKERJA_LOG_LEVEL")}},
}
