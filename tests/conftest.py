import pytest
from django.db import connection

from prakerja.common.actors import Actor


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    vendor = "PostgreSQL" if "postgresql" in db["ENGINE"] else "SQLite"
    return f"database: {vendor} ({db['NAME']}; tests use a fresh test database)"


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")


@pytest.fixture
def child_env(transactional_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Environment for a subprocess (`prakerja …`, a Celery worker) that uses the test database."""
    import os

    settings_dict = connection.settings_dict
    env = os.environ.copy()
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{settings_dict['NAME']}"
    else:
        user = settings_dict.get("USER") or "postgres"
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{settings_dict['NAME']}"
    return env


# --- registration kit fixtures (tests/registration/kit.py) ----------------------------------------


@pytest.fixture
def registry():
    from prakerja.integrations.population import use_population_registry
    from tests.registration.kit import FakeRegistry

    with use_population_registry(FakeRegistry()) as fake:
        yield fake


@pytest.fixture
def sms():
    from prakerja.integrations.sms import use_sms_gateway
    from tests.registration.kit import FakeSms

    with use_sms_gateway(FakeSms()) as fake:
        yield fake


@pytest.fixture
def people(registry):
    from tests.registration.kit import People

    return People(registry)


@pytest.fixture
def journey(django_capture_on_commit_callbacks, sms, registry):
    from tests.registration.kit import Journey

    return Journey(django_capture_on_commit_callbacks, sms)


# --- operators: signed in to the console with the second factor passed (tests/operators.py) ------


@pytest.fixture
def admin_client(db, admin_user):  # type: ignore[no-untyped-def]
    """pytest-django's admin_client, with the second factor the console demands passed."""
    from django.test import Client

    from tests.operators import operator_login

    return operator_login(Client(), admin_user)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.demo_process import LEFT_TO_SQLITE

    if LEFT_TO_SQLITE:
        terminalreporter.write_sep("-", "demo tests left to the run on SQLite")
        terminalreporter.write_line(
            f"{len(LEFT_TO_SQLITE)} test(s) that start `prakerja demo` were skipped: they start it "
            "on the embedded SQLite default whatever DATABASE_URL says, so they run in the suite's "
            "run on SQLite (CI runs both)."
        )
