"""The crash test (issue 7's acceptance): a real Celery worker process is killed while it is sending
a batch to the institution, a new worker is started, and the run completes — the batch confirmed
with the institution instead of sent again, no entitlement paid twice, no instruction under a new
id."""

import datetime
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from celery import Celery
from django.utils import timezone

from prakerja.common.timeutil import WIB
from prakerja.incentives import sending
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    TransferBatch,
    TransferInstruction,
)
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.waves.models import ProgramScheme
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    balance,
    completed_and_reviewed,
    link,
    sandbox_bank,
    wallet,
)
from tests.ops.test_worker import REDIS_URL, redis_reachable

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture(autouse=True)
def scheme_2020() -> None:
    scheme, _ = ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB) + datetime.timedelta(days=365)
    )


def wait_until(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def start_worker(env: dict[str, str], queue: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "prakerja.cli", "worker", "--concurrency", "1", "--queues", queue],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the pool's child too
    )


def test_a_worker_killed_mid_send_is_replaced_and_the_run_completes_paying_once(
    child_env, monkeypatch
):
    if not redis_reachable():
        pytest.skip("Redis is not running at 127.0.0.1:6379: the crash test needs a real worker")
    people = completed_and_reviewed(6)
    queue = f"prakerja-crash-{os.getpid()}"
    broker = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        assert [link(p, bank).status for p in people] == ["verified"] * 6
        run = run_prepare(run_date=timezone.localdate(timezone=WIB), actor=MAKER)
        # The batch goes to the real worker below, not inline.
        monkeypatch.setattr(sending, "run_dispatch", lambda run_id: 0)
        run_approve(run=run, actor=CHECKER)
        batch = TransferBatch.objects.get(run=run)
        ids_before = sorted(TransferInstruction.objects.values_list("instruction_id", flat=True))

        env = {
            **child_env,
            "CELERY_BROKER_URL": REDIS_URL,
            "PRAKERJA_BANK_URLS": f"ovo={bank.url}",
            "PRAKERJA_ADAPTER_TIMEOUT_S": "60",
        }
        # The institution answers slowly: the worker is killed while it waits for the answer.
        bank.control("POST", "/_faults", {"latency_ms": 4000})
        worker = start_worker(env, queue)
        try:
            broker.send_task("prakerja.incentives.batch_send", args=[batch.pk], queue=queue)
            wait_until(
                lambda: TransferBatch.objects.get(pk=batch.pk).status == "sending", 90, "sending"
            )
            time.sleep(1)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        # The institution did receive it (it finishes what it was asked after the caller died).
        wait_until(lambda: bank.totals()["received_count"] == 6, 30, "the bank's receipt")
        assert TransferBatch.objects.get(pk=batch.pk).status == "sending"
        bank.control("POST", "/_faults", {"latency_ms": 0})

        replacement = start_worker(env, queue)
        try:
            # What run_dispatch or the periodic confirm job does for a batch left sending.
            outcome = broker.send_task(
                "prakerja.incentives.batch_send", args=[batch.pk], queue=queue
            ).get(timeout=90)
        finally:
            os.killpg(replacement.pid, signal.SIGTERM)
            replacement.wait(timeout=30)
        assert outcome == "confirmed"
        sending.batches_results_query()

        assert DisbursementRun.objects.get(pk=run.pk).status == "done"
        assert sorted(TransferInstruction.objects.values_list("instruction_id", flat=True)) == (
            ids_before
        )
        assert Counter(
            TransferInstruction.objects.filter(status="success").values_list(
                "entitlement_id", flat=True
            )
        ) == Counter(Entitlement.objects.filter(status="paid").values_list("pk", flat=True))
        assert Entitlement.objects.filter(status="paid").count() == 6
        totals = bank.totals()
        assert (totals["received_count"], totals["success_sum_idr"]) == (6, 3_600_000)
        assert balance(AccountKind.INSTITUTION_CLEARING, bank.partner.pk) == 3_600_000
    assert ledger_integrity_report().ok


def test_two_workers_killed_mid_send_and_every_unknown_batch_confirmed_within_a_minute(
    child_env, monkeypatch
):
    """Two runs' batches, each taken by a worker of its own; both workers killed with SIGKILL while
    the institution still holds the calls. Two new workers and the periodic confirmation, sent
    every 10 s as beat sends it, recover both: each batch confirmed (never sent again) within
    60 s of its sending, with the worker's setting of when to ask (sending.CONFIRM_AFTER)."""
    if not redis_reachable():
        pytest.skip("Redis is not running at 127.0.0.1:6379: the crash test needs a real worker")
    people = completed_and_reviewed(6)
    queue = f"prakerja-crash2-{os.getpid()}"
    broker = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    monkeypatch.setattr(sending, "run_dispatch", lambda run_id: 0)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        assert [link(p, bank).status for p in people] == ["verified"] * 6
        today = timezone.localdate(timezone=WIB)
        runs = []
        for run_date in (today, today + datetime.timedelta(days=31)):
            run = run_prepare(run_date=run_date, actor=MAKER)
            run_approve(run=run, actor=CHECKER)
            runs.append(run)
        batches = list(TransferBatch.objects.filter(run__in=runs).order_by("pk"))
        assert len(batches) == 2
        env = {
            **child_env,
            "CELERY_BROKER_URL": REDIS_URL,
            "PRAKERJA_BANK_URLS": f"ovo={bank.url}",
            "PRAKERJA_ADAPTER_TIMEOUT_S": "60",
        }
        bank.control("POST", "/_faults", {"latency_ms": 5000})
        workers = [start_worker(env, queue), start_worker(env, queue)]
        try:
            for batch in batches:
                broker.send_task("prakerja.incentives.batch_send", args=[batch.pk], queue=queue)
            wait_until(
                lambda: (
                    TransferBatch.objects.filter(
                        pk__in=[b.pk for b in batches], status="sending"
                    ).count()
                    == 2
                ),
                90,
                "both batches sending",
            )
            time.sleep(1)
            for worker in workers:
                os.killpg(worker.pid, signal.SIGKILL)
            for worker in workers:
                worker.wait(timeout=30)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
        wait_until(lambda: bank.totals()["received_count"] == 12, 30, "the bank's receipt")
        bank.control("POST", "/_faults", {"latency_ms": 0})

        replacements = [start_worker(env, queue), start_worker(env, queue)]
        try:
            deadline = time.monotonic() + 90
            while TransferBatch.objects.filter(status="sending").exists():
                assert time.monotonic() < deadline, "batches still sending"
                broker.send_task("prakerja.incentives.batches_confirm_due", queue=queue)
                time.sleep(10)  # beat's period for this job (settings.PERIODIC_JOBS)
        finally:
            for worker in replacements:
                os.killpg(worker.pid, signal.SIGTERM)
            for worker in replacements:
                worker.wait(timeout=30)

        batches = list(TransferBatch.objects.filter(pk__in=[b.pk for b in batches]))
        for batch in batches:
            assert batch.status == "sent"
            assert batch.send_attempts == 1  # confirmed, not sent again
        confirmed_after = [
            (at - batch.sent_at).total_seconds()
            for batch in batches
            for at in TransferInstruction.objects.filter(batch=batch).values_list(
                "result_at", flat=True
            )
        ]
        assert max(confirmed_after) <= 60, confirmed_after
        assert set(
            DisbursementRun.objects.filter(pk__in=[r.pk for r in runs]).values_list(
                "status", flat=True
            )
        ) == {"done"}
        totals = bank.totals()
        assert (totals["received_count"], totals["success_count"]) == (12, 12)
        assert Counter(
            TransferInstruction.objects.filter(status="success").values_list(
                "entitlement_id", flat=True
            )
        ) == Counter(Entitlement.objects.filter(status="paid").values_list("pk", flat=True))
        assert (
            balance(AccountKind.INSTITUTION_CLEARING, bank.partner.pk) == totals["success_sum_idr"]
        )
    assert ledger_integrity_report().ok
