"""From entitlement to money paid and settled, against a sandbox institution over real HTTP: the
maker prepares, the checker approves, the batch goes out, results come back, the statement settles
it — and the ledger follows every step."""

import pytest
from django.utils import timezone

from prakerja.incentives.errors import MakerCannotApprove, RunExists
from prakerja.incentives.models import DisbursementRun, Entitlement, TransferInstruction
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.incentives.sending import batches_results_query
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import ledger_integrity_report
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    balance,
    completed_and_reviewed,
    link,
    months_ahead,
    sandbox_bank,
    statuses,
    wallet,
)
from tests.orders.kit import scheme_valid_for_a_year

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


def test_entitled_participants_are_paid_once_and_the_ledger_follows_every_step(
    monkeypatch, django_capture_on_commit_callbacks
):
    people = completed_and_reviewed(3)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        accounts = [link(p, bank) for p in people]
        assert [a.status for a in accounts] == ["verified"] * 3
        assert statuses() == {"due": 12}
        assert balance(AccountKind.INCENTIVE_PAYABLE) == 12 * 600_000

        run = run_prepare(run_date=months_ahead(4), actor=MAKER)
        assert (run.instructions_count, run.amount_idr, run.batches.count()) == (12, 7_200_000, 1)
        with pytest.raises(MakerCannotApprove):
            run_approve(run=run, actor=MAKER)
        assert DisbursementRun.objects.get(pk=run.pk).status == "prepared"
        assert bank.totals()["received_count"] == 0

        with django_capture_on_commit_callbacks(execute=True):
            run_approve(run=run, actor=CHECKER)  # no broker in tests: the batch is sent inline
        assert set(TransferInstruction.objects.values_list("status", flat=True)) == {"accepted"}
        assert batches_results_query() == 1
        assert statuses() == {"paid": 12}
        assert DisbursementRun.objects.get(pk=run.pk).status == "done"
        ovo = bank.partner.pk
        assert balance(AccountKind.INCENTIVE_PAYABLE) == 0
        assert balance(AccountKind.INSTITUTION_CLEARING, ovo) == 7_200_000
        assert bank.totals()["success_sum_idr"] == 7_200_000

        lines = [
            Line(i, amount, "success", ref)
            for i, amount, ref in TransferInstruction.objects.values_list(
                "instruction_id", "amount_idr", "partner_reference"
            )
        ]
        statement = statement_reconcile(
            institution=bank.partner,
            statement_date=timezone.localdate(),
            lines=lines,
            source="api",
            actor=CHECKER,
        )
        assert (statement.matched, statement.missing_here, statement.missing_there) == (12, 0, 0)
        assert balance(AccountKind.INSTITUTION_CLEARING, ovo) == 0
        assert balance(AccountKind.PAID_OUT) == 7_200_000
        again = statement_reconcile(
            institution=bank.partner,
            statement_date=timezone.localdate(),
            lines=lines,
            source="api",
            actor=CHECKER,
        )
        assert again.matched == 12
        assert balance(AccountKind.PAID_OUT) == 7_200_000  # settled once
    assert ledger_integrity_report().ok


def test_a_second_run_for_the_same_date_is_refused_and_changes_nothing(monkeypatch):
    people = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        link(people[0], bank)
        run_prepare(run_date=months_ahead(1), actor=MAKER)
        before = (TransferInstruction.objects.count(), DisbursementRun.objects.count())
        with pytest.raises(RunExists):
            run_prepare(run_date=months_ahead(1), actor=MAKER)
        assert (TransferInstruction.objects.count(), DisbursementRun.objects.count()) == before
        assert Entitlement.objects.filter(status="due").count() == 4
