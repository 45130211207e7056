"""Pay day under faults (issue 21): a failure first learned from a statement is recorded only with
the institution's own reason; a failure without a reason is never recorded; callbacks one per
instruction, duplicated and late, recorded on PostgreSQL without a deadlock."""

import datetime
import time

import pytest
from django.db import connection
from django.utils import timezone

from prakerja.common.timeutil import WIB
from prakerja.incentives import sending
from prakerja.incentives.models import Entitlement, PaymentAccount, TransferInstruction
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.results import Outcome, transfer_outcomes_record
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.integrations.bank import bank_client
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.waves.models import ProgramScheme
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    SYSTEM,
    Bank,
    completed_and_reviewed,
    link,
    sandbox_bank,
    wallet,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def scheme_2020() -> None:
    scheme, _ = ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB) + datetime.timedelta(days=365),
        daily_disbursement_capacity=100,
    )


def statuses() -> list[tuple[str, str]]:
    return sorted(TransferInstruction.objects.values_list("status", "reason_code"))


def wait_until_settled_at_the_bank(bank: Bank, count: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        totals = bank.totals()
        if totals["success_count"] + totals["failed_count"] >= count:
            return
        time.sleep(0.1)
    raise AssertionError(bank.totals())


def the_days_statement(bank: Bank) -> list[Line]:
    day = timezone.localdate(timezone=WIB)
    return [
        Line(x.instruction_id, x.amount_idr, x.status, x.partner_reference)
        for x in bank_client(bank.code).statement(day)
    ]


def first_run_sent(bank: Bank, monkeypatch: pytest.MonkeyPatch, people: list) -> None:
    """Two participants' first incentive each, sent asynchronously; every callback lost; the
    first participant's wallet not upgraded since it was linked."""
    monkeypatch.setattr(sending, "CONFIRM_AFTER", datetime.timedelta(hours=1))  # nobody asks
    bank.add_accounts([wallet(p) for p in people])
    assert [link(p, bank).status for p in people] == ["verified", "verified"]
    bank.control("POST", "/_reset", {"accounts": True})
    bank.add_accounts([wallet(people[0], kyc_level="basic"), wallet(people[1])])
    ProgramScheme.objects.update(daily_disbursement_capacity=2)
    run = run_prepare(run_date=timezone.localdate(timezone=WIB), actor=MAKER)
    run_approve(run=run, actor=CHECKER)
    wait_until_settled_at_the_bank(bank, 2)
    assert statuses() == [("accepted", ""), ("accepted", "")]


def test_a_failure_on_the_statement_is_recorded_with_the_institutions_reason(
    monkeypatch, live_server
):
    people = completed_and_reviewed(2)
    with sandbox_bank(
        "ovo", monkeypatch, system_url=live_server.url, mode="async", lost_callback_rate=1.0
    ) as bank:
        first_run_sent(bank, monkeypatch, people)
        lines = the_days_statement(bank)
        assert sorted(x.status for x in lines) == ["failed", "success"]

        statement = statement_reconcile(
            institution=bank.partner,
            statement_date=timezone.localdate(timezone=WIB),
            lines=lines,
            source="api",
            actor=CHECKER,
        )

    assert statuses() == [("failed", "NOT_UPGRADED"), ("success", "")]
    assert (statement.matched, statement.missing_here, statement.missing_there) == (2, 0, 0)
    # What a reason decides followed: the account rejected, the person's other payments held.
    account = PaymentAccount.objects.get(participant=people[0])
    assert (account.status, account.reason_code) == ("rejected", "NOT_UPGRADED")
    assert set(
        Entitlement.objects.filter(participant=people[0]).values_list("status", "hold_reason")
    ) == {("held", "NOT_UPGRADED")}
    assert Entitlement.objects.filter(participant=people[0], failed_attempts__gt=0).count() == 0
    assert ledger_integrity_report().ok


def test_a_failure_the_institution_does_not_explain_stays_in_flight_until_it_does(
    monkeypatch, live_server
):
    people = completed_and_reviewed(2)
    with sandbox_bank(
        "ovo", monkeypatch, system_url=live_server.url, mode="async", lost_callback_rate=1.0
    ) as bank:
        first_run_sent(bank, monkeypatch, people)
        lines = the_days_statement(bank)
        failed = next(x.instruction_id for x in lines if x.status == "failed")
        refused = Entitlement.objects.filter(participant=people[0]).order_by("pk")
        before = list(refused.values_list("status", "hold_reason", "failed_attempts"))

        # A failure reported without a reason (as a statement line is) is not taken.
        recorded = transfer_outcomes_record(
            institution_id=bank.partner.pk, outcomes=[Outcome(failed, "failed", "")], actor=SYSTEM
        )
        assert (recorded.failed, recorded.unconfirmed) == (0, [failed])

        # The statement comes while the institution does not answer status queries.
        bank.control("POST", "/_faults", {"outage": True})
        statement = statement_reconcile(
            institution=bank.partner,
            statement_date=timezone.localdate(timezone=WIB),
            lines=lines,
            source="api",
            actor=CHECKER,
        )
        assert statuses() == [("accepted", ""), ("success", "")]
        assert (statement.matched, statement.missing_here) == (1, 1)
        assert list(refused.values_list("status", "hold_reason", "failed_attempts")) == before
        assert PaymentAccount.objects.get(participant=people[0]).status == "verified"

        # It answers again: the periodic confirmation learns why.
        bank.control("POST", "/_faults", {"outage": False})
        monkeypatch.setattr(sending, "CONFIRM_AFTER", datetime.timedelta(0))
        sending.batches_confirm_due()

    assert statuses() == [("failed", "NOT_UPGRADED"), ("success", "")]
    assert PaymentAccount.objects.get(participant=people[0]).status == "rejected"
    assert ledger_integrity_report().ok


def deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: run with DATABASE_URL=…"
)
def test_callbacks_per_instruction_duplicated_and_late_record_without_a_deadlock(
    monkeypatch, live_server
):
    """Thirty participants, four payments each in one run; one in five has an account the
    institution now refuses, so recording their failure holds their other payments while the
    callbacks of those payments arrive on other connections."""
    monkeypatch.setattr(sending, "CONFIRM_AFTER", datetime.timedelta(hours=1))
    people = completed_and_reviewed(30)
    with sandbox_bank(
        "ovo",
        monkeypatch,
        system_url=live_server.url,
        mode="async",
        callback_delay_ms=0,
        duplicate_callback_rate=0.3,
        late_callback_rate=0.3,
        late_callback_ms=300,
        callback_workers=8,
    ) as bank:
        bank.add_accounts([wallet(p) for p in people])
        assert {link(p, bank).status for p in people} == {"verified"}
        bank.control("POST", "/_reset", {"accounts": True})
        bank.add_accounts(
            [
                wallet(p, kyc_level="basic") if i % 5 == 0 else wallet(p)
                for i, p in enumerate(people)
            ]
        )
        ProgramScheme.objects.update(daily_disbursement_capacity=200)
        from_before = deadlocks()
        # Three months on: every participant's four payments are due in the one run.
        day = timezone.localdate(timezone=WIB) + datetime.timedelta(days=31 * 3)
        run = run_prepare(run_date=day, actor=MAKER)
        run_approve(run=run, actor=CHECKER)
        deadline = time.monotonic() + 60
        while (
            TransferInstruction.objects.filter(status__in=("sent", "accepted")).exists()
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        time.sleep(1)  # the late and duplicated callbacks

        assert deadlocks() == from_before
        by_status = sorted(
            TransferInstruction.objects.values_list("status", "reason_code").distinct()
        )
        assert by_status == [("failed", "NOT_UPGRADED"), ("success", "")]
        assert TransferInstruction.objects.count() == 30 * 4
        # A refused account's first failure holds the person's payments not yet recorded; those
        # in flight are recorded as they come (failed: the same account).
        assert TransferInstruction.objects.filter(status="failed").count() == 6 * 4
        assert TransferInstruction.objects.filter(status="success").count() == 24 * 4
        callbacks = bank.control("GET", "/_callbacks")
        assert callbacks["refused"] == 0, callbacks
    assert ledger_integrity_report().ok


def test_callbacks_given_up_while_the_web_server_is_down_are_recovered_by_the_status_query(
    monkeypatch,
):
    """The system's web server is down (its address refuses connections) while the institution
    delivers the callbacks; the institution retries, gives up, and the periodic confirmation,
    sent every 10 s as beat sends it, asks for the results once they are CONFIRM_AFTER overdue.
    The recovery time is that, from the sending: 20 to 30 s."""
    people = completed_and_reviewed(3)
    with sandbox_bank(
        "ovo",
        monkeypatch,
        system_url="http://127.0.0.1:9",  # nothing listens: every callback is refused
        mode="async",
        callback_retries=2,
        callback_retry_ms=100,
    ) as bank:
        bank.add_accounts([wallet(p) for p in people])
        assert [link(p, bank).status for p in people] == ["verified"] * 3
        run = run_prepare(run_date=timezone.localdate(timezone=WIB), actor=MAKER)
        run_approve(run=run, actor=CHECKER)
        wait_until_settled_at_the_bank(bank, 3)
        deadline = time.monotonic() + 10
        while bank.control("GET", "/_callbacks")["given_up"] < 3:
            assert time.monotonic() < deadline, bank.control("GET", "/_callbacks")
            time.sleep(0.1)
        assert statuses() == [("accepted", "")] * 3

        started = time.monotonic()
        while TransferInstruction.objects.filter(status="accepted").exists():
            assert time.monotonic() - started < 60, statuses()
            sending.batches_confirm_due()
            time.sleep(10)  # beat's period for this job
        sent_at = TransferInstruction.objects.values_list("batch__sent_at", flat=True).first()
        recovered_after = max(
            (at - sent_at).total_seconds()
            for at in TransferInstruction.objects.values_list("result_at", flat=True)
        )

    assert statuses() == [("success", "")] * 3
    assert 20 <= recovered_after <= 31, recovered_after
    assert ledger_integrity_report().ok
