"""One integration test with a real Celery worker process on Redis (production's topology)."""

import os
import socket
import subprocess
import sys

import pytest
from celery import Celery

from prakerja.common.actors import Actor
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import account_get_or_create, transfer

REDIS_URL = "redis://127.0.0.1:6379/14"


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.redis
def test_a_task_sent_to_the_broker_runs_on_a_prakerja_worker(child_env):
    if not redis_reachable():
        pytest.skip("Redis is not running at 127.0.0.1:6379: the real-worker test needs it")
    actor = Actor.system("tests")
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    participant = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=1).pk
    transfer(
        idempotency_key="credit:1",
        kind="training_credit",
        from_account_id=budget,
        to_account_id=participant,
        amount=1_000,
        actor=actor,
    )
    queue = f"prakerja-test-{os.getpid()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "prakerja.cli", "worker", "--concurrency", "1", "--queues", queue],
        env={**child_env, "CELERY_BROKER_URL": REDIS_URL},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Not the current app: shared tasks elsewhere in this test run must keep running inline.
        client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
        result = client.send_task("prakerja.ledger.check", queue=queue).get(timeout=90)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert result == {"ok": True, "accounts": 2, "transactions": 1, "problems": []}


def test_worker_without_a_broker_explains_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env["PRAKERJA_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "CELERY_BROKER_URL belum diatur" in done.stderr
    assert "CELERY_BROKER_URL is not set" in done.stderr
