import subprocess
import sys
from pathlib import Path

from prakerja.config import env

ROOT = Path(__file__).resolve().parents[2]


def test_docs_settings_table_is_generated_from_the_env_table():
    assert (ROOT / "docs" / "settings.md").read_text() == env.markdown_table()


def test_every_variable_the_code_reads_is_in_the_table():
    source = (ROOT / "src" / "prakerja").rglob("*.py")
    import re

    used = {
        name
        for path in source
        for name in re.findall(r'env\.get(?:_bool|_int|_list)?\("([A-Z_]+)"\)', path.read_text())
    }
    assert used <= {var.name for var in env.TABLE}


def settings_in_child(variables: dict[str, str], expression: str) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='prakerja.config.settings'; "
        f"django.setup(); from django.conf import settings; print({expression})"
    )
    clean = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **variables},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_default_is_a_sqlite_file_in_wal_with_a_busy_timeout(tmp_path):
    printed = settings_in_child(
        {"PRAKERJA_DATA_DIR": str(tmp_path)},
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], "
        "settings.DATABASES['default']['OPTIONS']['timeout'], "
        "'journal_mode=WAL' in settings.DATABASES['default']['OPTIONS']['init_command'], "
        "settings.CELERY_TASK_ALWAYS_EAGER",
    )
    assert printed == (f"django.db.backends.sqlite3 {tmp_path / 'prakerja.sqlite3'} 20.0 True True")


def test_database_url_selects_postgresql_and_a_broker_sends_tasks_to_workers(tmp_path):
    printed = settings_in_child(
        {
            "PRAKERJA_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://app@db.internal:5432/prakerja",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        },
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], "
        "settings.DATABASES['default']['HOST'], settings.CELERY_TASK_ALWAYS_EAGER, "
        "settings.CELERY_RESULT_BACKEND",
    )
    assert printed == (
        "django.db.backends.postgresql prakerja db.internal False redis://127.0.0.1:6379/0"
    )


def test_sqlite_connection_really_is_in_wal_mode(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_sandbox_pages_never_show_with_real_email(tmp_path):
    with_sandbox = settings_in_child({"PRAKERJA_DATA_DIR": str(tmp_path)}, "settings.SANDBOX_PAGES")
    with_smtp = settings_in_child(
        {
            "PRAKERJA_DATA_DIR": str(tmp_path),
            "PRAKERJA_EMAIL_URL": "smtp://mailer@mail.example.id:587",
        },
        "settings.SANDBOX_PAGES, settings.EMAIL_BACKEND",
    )
    assert with_sandbox == "True"
    assert with_smtp == "False django.core.mail.backends.smtp.EmailBackend"
