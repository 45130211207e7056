"""`prakerja simulate` end to end: the 2020 program at 1:2000 through the services, on SQLite and on
PostgreSQL (CI runs both), interrupted and resumed; and on PostgreSQL, two Celery workers on Redis
print the same tables as the inline run."""

import io
import os
import re
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.simulation.models import SimulationState
from prakerja.waves.models import Participant, ProgramScheme
from tests.ops.test_worker import redis_reachable

SCALE = "0.0005"
ROW = re.compile(
    r"^(?P<stage>[A-Za-z:/ ()]+?)\s{2,}.*?(?P<simulated>[\d.]+)\s+(?P<share>[\d.]+)%\s+(?P<delta>[+-][\d.]+)$"
)
BAD = re.compile(r"^(?P<kind>[a-z_]+)\s+(?P<injected>\d+)\s+(?P<caught>\d+)\s+(?P<paid>\d+)\s")


def funnel(text: str) -> dict[str, tuple[int, float, float]]:
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            simulated = int(match["simulated"].replace(".", ""))
            rows[match["stage"].strip()] = (simulated, float(match["share"]), float(match["delta"]))
    return rows


def bad_actors(text: str) -> dict[str, tuple[int, int, int]]:
    rows = {}
    for line in text.splitlines():
        match = BAD.match(line)
        if match:
            rows[match["kind"]] = (int(match["injected"]), int(match["caught"]), int(match["paid"]))
    return rows


@pytest.fixture
def scheme_2020() -> None:
    """The 2020 scheme as its data migration writes it: a transactional test that ran before
    this one flushed it away."""
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )


@pytest.mark.django_db(transaction=True)
def test_the_2020_program_at_1_to_2000_reproduces_the_published_shares(scheme_2020):
    first = io.StringIO()
    call_command(
        "simulate",
        "--scale",
        SCALE,
        "--seed",
        "2020",
        "--no-progress",
        "--stop-after",
        "2020-06-20",
        stdout=first,
    )
    assert "run again to resume" in first.getvalue()
    stopped_at = Participant.objects.count()

    out = io.StringIO()
    call_command("simulate", "--scale", SCALE, "--seed", "2020", "--no-progress", stdout=out)
    text = out.getvalue()

    rows = funnel(text)
    assert stopped_at == 84 + 144 + 112  # waves 1–3 drawn by 20 June, wave 4 not yet
    assert {stage: rows[stage][0] for stage in list(rows)[:8]} == {
        # the plan's 11.585 people and the 25 who sign up with a NIK another holds: an account
        # that holds no NIK (NIK_TAKEN after the email is proved), as sign-up tells nobody
        "registered on the website": 11_610,
        "email verified": 9_000,
        "NIK validated": 6_700,
        "phone verified by SMS OTP": 6_000,
        "participants (selected)": 1_940,
        "bought a training": 1_600,
        "completed a training": 1_000,
        "received an incentive": 600,
    }
    assert all(abs(delta) <= 1.0 for _, _, delta in rows.values()), text
    assert bad_actors(text) == {
        "duplicate_nik": (25, 25, 0),
        "kk_third": (5, 5, 0),
        "excluded_before": (50, 50, 0),
        "excluded_after": (15, 15, 0),
        "review_ring": (9, 9, 0),
        "fast_completion": (10, 10, 0),
        "wallet_other_nik": (10, 10, 0),
    }
    assert "Result: every share within 1 point, no bad actor paid, the money reconciles." in text
    assert ledger_integrity_report().ok
    assert SimulationState.objects.get().finished_at is not None
    with pytest.raises(CommandError, match="finished simulation"):
        call_command("simulate", "--scale", SCALE, "--seed", "2020", "--no-progress")


def _scratch_database(name: str) -> str:
    """A new, migrated PostgreSQL database next to the test database; its URL."""
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://{user}@{host}:{port}/{name}"
    _prakerja(url, "migrate", "--verbosity", "0")
    return url


def _prakerja(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": ""}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return done.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_two_workers_print_the_same_tables_as_the_inline_run(postgres_only):
    if not redis_reachable():
        pytest.skip("Redis is not running at 127.0.0.1:6379: the distributed run needs it")
    base = connection.settings_dict["NAME"]
    inline_db = _scratch_database(f"{base}_sim_inline")
    workers_db = _scratch_database(f"{base}_sim_workers")
    try:
        args = ("simulate", "--scale", "0.001", "--seed", "7", "--no-progress")
        inline = _prakerja(inline_db, *args)
        distributed = _prakerja(workers_db, *args, "--workers", "2")
    finally:
        connection.close()
        with connection.cursor() as cursor:
            for name in (f"{base}_sim_inline", f"{base}_sim_workers"):
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert funnel(inline)["participants (selected)"][0] == 3_880
    assert distributed == inline
