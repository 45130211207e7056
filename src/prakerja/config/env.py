"""The one table of environment variables the system reads, with defaults and meaning.

Defaults give the embedded setup: a SQLite file under PRAKERJA_DATA_DIR, tasks run inline, sandbox
adapters. docs/settings.md is generated from this table (`prakerja envtable`) and a test keeps the
two in step.
"""

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EnvVar:
    name: str
    default: str
    meaning: str


TABLE: tuple[EnvVar, ...] = (
    EnvVar(
        "PRAKERJA_DATA_DIR",
        "./var",
        "Folder for the embedded SQLite database, uploaded files and demo state.",
    ),
    EnvVar(
        "DATABASE_URL",
        "sqlite:///$PRAKERJA_DATA_DIR/prakerja.sqlite3",
        "Database. `postgres://user@host:5432/name` selects PostgreSQL (psycopg 3).",
    ),
    EnvVar(
        "PRAKERJA_DB_CONN_MAX_AGE",
        "60",
        "Seconds a PostgreSQL connection is kept open between requests (0 closes after each).",
    ),
    EnvVar(
        "PRAKERJA_SQLITE_BUSY_TIMEOUT_MS",
        "20000",
        "How long a SQLite writer waits for the write lock before giving up.",
    ),
    EnvVar(
        "CELERY_BROKER_URL",
        "",
        "Celery broker, e.g. `redis://127.0.0.1:6379/0`. Empty: tasks run inline in the caller.",
    ),
    EnvVar(
        "CELERY_RESULT_BACKEND",
        "",
        "Where task results are kept; empty means the broker URL when one is set.",
    ),
    EnvVar(
        "PRAKERJA_SECRET_KEY",
        "insecure-demo-key-change-me",
        "Django secret key (signing). Must be set to a long random value in production.",
    ),
    EnvVar("PRAKERJA_DEBUG", "false", "Django debug pages. Never true in production."),
    EnvVar(
        "PRAKERJA_ALLOWED_HOSTS",
        "127.0.0.1,localhost,testserver",
        "Comma-separated host names the web server answers to.",
    ),
    EnvVar(
        "PRAKERJA_SECURE_COOKIES",
        "false",
        "Send session and CSRF cookies over HTTPS only (true behind TLS in production).",
    ),
    EnvVar(
        "PRAKERJA_OPERATOR_OTP",
        "true",
        "Operators sign in to the console with a second factor (TOTP). `false` only for local "
        "debugging, never in production.",
    ),
    EnvVar(
        "PRAKERJA_LANGUAGE",
        "id",
        "Default language of pages and messages: `id` (Bahasa Indonesia) or `en`.",
    ),
    EnvVar("PRAKERJA_LOG_LEVEL", "INFO", "Log level of the `prakerja` loggers."),
    EnvVar("PRAKERJA_HOST", "127.0.0.1", "Address `prakerja serve` and `prakerja demo` bind to."),
    EnvVar("PRAKERJA_PORT", "8000", "Port `prakerja serve` and `prakerja demo` listen on."),
    EnvVar("PRAKERJA_WEB_WORKERS", "2", "Gunicorn worker processes of `prakerja serve`."),
    EnvVar(
        "PRAKERJA_TRUSTED_PROXIES",
        "127.0.0.1,::1",
        "Comma-separated addresses or CIDR networks of the reverse proxies in front of `prakerja "
        "serve` (the documented nginx runs on the same machine). A visitor's address is the "
        "right-most X-Forwarded-For hop that is not one of these; rate limits count per visitor.",
    ),
    EnvVar(
        "PRAKERJA_NIK_KEY",
        "insecure-demo-nik-key",
        "Secret that encrypts NIKs at rest. Set a long random value in production; keep it safe.",
    ),
    EnvVar(
        "PRAKERJA_BLIND_INDEX_KEY",
        "insecure-demo-index-key",
        "Secret of the keyed blind index used to look NIKs and KK numbers up. Never change it "
        "after data exists: every index would have to be recomputed.",
    ),
    EnvVar(
        "PRAKERJA_POPULATION_URL",
        "http://127.0.0.1:8101",
        "Population registry (Dukcapil) adapter base URL; the demo runs `prakerja sandbox "
        "population` there.",
    ),
    EnvVar(
        "PRAKERJA_SMS_URL",
        "http://127.0.0.1:8102",
        "SMS gateway adapter base URL; the demo runs `prakerja sandbox sms` there.",
    ),
    EnvVar(
        "PRAKERJA_PLATFORM_SANDBOX_URL",
        "http://127.0.0.1:8103",
        "Where `prakerja sandbox platform` listens: a digital platform's backend that receives "
        "the system's webhooks at `/webhooks` and calls the partner API.",
    ),
    EnvVar(
        "PRAKERJA_BANK_URLS",
        "bni=http://127.0.0.1:8641,linkaja=http://127.0.0.1:8642,ovo=http://127.0.0.1:8643,"
        "gopay=http://127.0.0.1:8644",
        "Financial institutions' adapter base URLs as comma-separated `code=url`; `prakerja "
        "sandbox bank --name CODE` listens on the port of its code.",
    ),
    EnvVar(
        "PRAKERJA_PLATFORM_SANDBOX_PARTNER",
        "",
        "Partner code the platform sandbox acts as; its secrets are read from the database "
        "unless the next two are set. Empty: webhooks are refused until configured.",
    ),
    EnvVar(
        "PRAKERJA_PLATFORM_SANDBOX_SECRET",
        "",
        "The platform sandbox's partner API signing secret (overrides the database's).",
    ),
    EnvVar(
        "PRAKERJA_PLATFORM_SANDBOX_WEBHOOK_SECRET",
        "",
        "The platform sandbox's webhook secret `whsec_…` (overrides the database's).",
    ),
    EnvVar(
        "PRAKERJA_PLATFORM_SANDBOX_LEARNER",
        "false",
        "`true`: the platform sandbox plays a learner on every `voucher.issued` event it receives "
        "(redeems the voucher, reports progress, completes it with a certificate it serves). The "
        "demo turns it on.",
    ),
    EnvVar(
        "PRAKERJA_DEMO_SIMULATION",
        "true",
        "`true`: on its first start the demo simulates the 2020 program with about 2.000 "
        "registrants (a minute) so that every page has data; `false`: the demo starts without it.",
    ),
    EnvVar(
        "PRAKERJA_DISBURSEMENT_APPROVAL_LIMIT_IDR",
        "0",
        "The largest disbursement run (rupiah) a finance checker may approve; 0: no limit. A larger "
        "run must be prepared smaller.",
    ),
    EnvVar(
        "PRAKERJA_METRICS_TOKEN",
        "",
        "Bearer token a Prometheus scraper sends to `GET /metrics` (the disbursement's live "
        "state). Empty: the endpoint answers 404 to everyone, as it does to a wrong token.",
    ),
    EnvVar(
        "PRAKERJA_SANDBOX_DATA_ALLOWED",
        "auto",
        "Whether `prakerja sandbox-data` may create synthetic participants and orders. `auto`: "
        "only in a sandbox setting (PRAKERJA_DEBUG, or email kept in the sandbox inbox), never "
        "with real email; `true`: always (a partner-testing environment whose SMS and email go "
        "to sandboxes); `false`: never.",
    ),
    EnvVar(
        "PRAKERJA_ADAPTER_TIMEOUT_S",
        "5",
        "Seconds an adapter waits for the registry or the SMS gateway before it counts as down.",
    ),
    EnvVar(
        "PRAKERJA_WEBHOOK_TIMEOUT_S",
        "10",
        "Seconds the system waits for a partner's webhook endpoint to answer before the delivery "
        "counts as failed and is retried later.",
    ),
    EnvVar(
        "PRAKERJA_EMAIL_URL",
        "sandbox:",
        "Outgoing email: `sandbox:` keeps mails in the database for the demo's inbox page; "
        "`smtp://user:password@host:587` sends them; `console:` prints them.",
    ),
    EnvVar("PRAKERJA_EMAIL_FROM", "Kartu Prakerja <noreply@prakerja.test>", "Sender of emails."),
    EnvVar(
        "PRAKERJA_PUBLIC_URL",
        "http://127.0.0.1:8000",
        "Base URL people reach the portal at; used in links sent by email.",
    ),
    EnvVar(
        "PRAKERJA_SANDBOX_PAGES",
        "true",
        "Show the sandbox email inbox page; only ever shown while PRAKERJA_EMAIL_URL is `sandbox:`.",
    ),
)

_BY_NAME = {var.name: var for var in TABLE}


def get(name: str) -> str:
    """The variable's value from the environment, else its documented default."""
    var = _BY_NAME[name]  # KeyError on purpose: every variable read must be in the table
    return os.environ.get(name, var.default)


def get_bool(name: str) -> bool:
    return get(name).strip().lower() in {"1", "true", "yes", "on"}


def get_int(name: str) -> int:
    return int(get(name))


def get_list(name: str) -> list[str]:
    return [item.strip() for item in get(name).split(",") if item.strip()]


def data_dir() -> Path:
    return Path(get("PRAKERJA_DATA_DIR")).expanduser().resolve()


def markdown_table() -> str:
    lines = [
        "# Settings",
        "",
        "Every setting comes from an environment variable. Generated from",
        "`src/prakerja/config/env.py` by `prakerja envtable`; do not edit by hand.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{v.name}` | `{v.default}` | {v.meaning} |" for v in TABLE]
    return "\n".join(lines) + "\n"
