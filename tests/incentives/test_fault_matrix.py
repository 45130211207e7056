"""The fault matrix (issue 7's acceptance): a sandbox institution over HTTP failing transfers for
every reason code, timing out, answering 5xx, losing answers, and sending duplicate, late and lost
callbacks into the real partner API (a live server). Runs go day after day until nothing is in
flight; a participant who fixes the account is paid in a later run. At the end every entitlement is
paid exactly once or held with a reason, the ledger's institution totals equal the sandbox bank's,
and the ledger check passes."""

import datetime
import time
from collections import Counter

import pytest
from django.db.models import Q
from django.utils import timezone

from prakerja.common.timeutil import WIB
from prakerja.incentives import sending
from prakerja.incentives.models import Entitlement, TransferInstruction
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.integrations.bank import bank_client
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

pytestmark = pytest.mark.django_db(transaction=True)

REASONS = (
    "NIK_MISMATCH",
    "NOT_UPGRADED",
    "ACCOUNT_INACTIVE",
    "ACCOUNT_NOT_FOUND",
    "LIMIT_REACHED",
    "PHONE_CHANGED",
    "TEMPORARY_FAILURE",
)


@pytest.fixture(autouse=True)
def scheme_2020() -> None:
    # Transactional tests empty the tables between tests, the data migration's schemes included.
    scheme, _ = ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB) + datetime.timedelta(days=365),
        daily_disbursement_capacity=30,
    )


def in_flight() -> int:
    return TransferInstruction.objects.filter(status__in=("ready", "sent", "accepted")).count()


def settle_in_flight(deadline_s: float = 60) -> None:
    """Ask about unknown outcomes and overdue results until nothing is in flight (callbacks keep
    arriving meanwhile)."""
    deadline = time.monotonic() + deadline_s
    while in_flight() and time.monotonic() < deadline:
        time.sleep(0.3)
        sending.batches_confirm_due()
    assert in_flight() == 0


def test_every_entitlement_is_paid_exactly_once_or_held_with_a_reason(monkeypatch, live_server):
    monkeypatch.setattr(sending, "CONFIRM_AFTER", datetime.timedelta(0))
    people = completed_and_reviewed(12)
    with sandbox_bank(
        "ovo",
        monkeypatch,
        system_url=live_server.url,
        mode="async",
        duplicate_callback_rate=0.3,
        late_callback_rate=0.3,
        late_callback_ms=700,
        lost_callback_rate=0.25,
        lost_answer_rate=0.2,
        hang_s=3.0,
    ) as bank:
        bank.add_accounts([wallet(p) for p in people])
        assert [link(p, bank).status for p in people] == ["verified"] * 12
        # After linking, things change at the institution: one account per reason code.
        bank.control("POST", "/_reset", {"accounts": True})
        bank.add_accounts(
            [
                wallet(people[0], status="inactive"),  # activated again after the second run
                wallet(people[1], kyc_level="basic"),
                wallet(people[2], phone_changed=True),
                wallet(people[3], fail_reason="NIK_MISMATCH"),
                # people[4]: closed, no longer in the book: ACCOUNT_NOT_FOUND
                wallet(people[5], fail_reason="LIMIT_REACHED"),  # every attempt: gives up
                wallet(people[6], fail_reason="TEMPORARY_FAILURE"),  # passes after the second run
                *(wallet(p) for p in people[7:]),
            ]
        )
        # And the line is bad: 5xx, timeouts, lost answers, callbacks duplicated, late or lost.
        bank.control("POST", "/_faults", {"error_rate": 0.15, "timeout_rate": 0.1, "hang_s": 3})
        day = timezone.localdate(timezone=WIB)
        for run_number in range(8):
            run = run_prepare(run_date=day + datetime.timedelta(days=31 * run_number), actor=MAKER)
            run_approve(run=run, actor=CHECKER)  # sent at commit, inline (no broker)
            settle_in_flight()
            if run_number == 1:
                bank.add_accounts([wallet(people[0]), wallet(people[6])])
                # The inactive account's owner links it again; the passing failure just passes.
                assert link(people[0], bank).status == "verified"
        bank.control("POST", "/_faults", {"error_rate": 0, "timeout_rate": 0})
        time.sleep(1.5)  # late and duplicate callbacks still on their way: they must change nothing

        entitlements = Entitlement.objects.all()
        assert entitlements.count() == 48
        by_person = {
            index: sorted(
                Entitlement.objects.filter(participant=person).values_list("status", "hold_reason")
            )
            for index, person in enumerate(people)
        }
        for index in (0, 6, 7, 8, 9, 10, 11):
            assert by_person[index] == [("paid", "")] * 4, index
        assert by_person[1] == [("held", "NOT_UPGRADED")] * 4
        assert by_person[2] == [("held", "PHONE_CHANGED")] * 4
        assert by_person[3] == [("held", "NIK_MISMATCH")] * 4
        assert by_person[4] == [("held", "ACCOUNT_NOT_FOUND")] * 4
        assert by_person[5] == [("held", "ATTEMPTS_EXHAUSTED")] * 4
        failed = Counter(
            TransferInstruction.objects.filter(status="failed").values_list(
                "reason_code", flat=True
            )
        )
        assert set(failed) == set(REASONS)
        assert failed["LIMIT_REACHED"] == 12  # three attempts for each of four payments
        paid_per_entitlement = Counter(
            TransferInstruction.objects.filter(status="success").values_list(
                "entitlement_id", flat=True
            )
        )
        assert set(paid_per_entitlement.values()) == {1}
        assert set(paid_per_entitlement) == set(
            entitlements.filter(status="paid").values_list("pk", flat=True)
        )

        totals = bank.totals()
        callbacks = bank.control("GET", "/_callbacks")
        assert min(callbacks["lost"], callbacks["late"], callbacks["duplicated"]) >= 1, callbacks
        assert totals["received_count"] == TransferInstruction.objects.count()
        ovo = bank.partner.pk
        paid_here = sum(
            TransferInstruction.objects.filter(status="success").values_list(
                "amount_idr", flat=True
            )
        )
        assert totals["success_sum_idr"] == paid_here
        assert balance(AccountKind.INSTITUTION_CLEARING, ovo) == paid_here
        assert balance(AccountKind.INCENTIVE_PAYABLE) == sum(
            entitlements.filter(status="held").values_list("amount_idr", flat=True)
        )

        # The institution's statements settle what was paid, day by day.
        settled_days = {
            timezone.localtime(at, WIB).date()
            for at in TransferInstruction.objects.filter(status="success").values_list(
                "settled_at", flat=True
            )
        }
        client = bank_client("ovo")
        for statement_day in sorted(settled_days):
            lines = [
                Line(x.instruction_id, x.amount_idr, x.status, x.partner_reference)
                for x in client.statement(statement_day)
            ]
            statement = statement_reconcile(
                institution=bank.partner,
                statement_date=statement_day,
                lines=lines,
                source="api",
                actor=CHECKER,
            )
            assert (statement.missing_here, statement.missing_there, statement.amount_mismatch) == (
                0,
                0,
                0,
            )
        assert balance(AccountKind.INSTITUTION_CLEARING, ovo) == 0
        assert balance(AccountKind.PAID_OUT) == paid_here
        assert not TransferInstruction.objects.filter(
            Q(status="success") & Q(reconciled_at__isnull=True)
        ).exists()
    assert ledger_integrity_report().ok
