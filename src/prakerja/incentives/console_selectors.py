"""What the finance console reads about disbursement: a run's results so far, its batches and
failures, failures and holds across runs, a statement's unmatched lines. Each is a few grouped
queries, whatever the number of instructions (a run holds up to the scheme's daily capacity)."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Sum

from prakerja.incentives.models import (
    IN_FLIGHT,
    DisbursementRun,
    Entitlement,
    EntitlementStatus,
    InstructionStatus,
    ReconciliationOutcome,
    Statement,
    StatementItem,
    TransferBatch,
    TransferInstruction,
)

STATEMENT_ITEMS_SHOWN = 500


@dataclass(frozen=True)
class RunResults:
    """A run's instructions by where they stand: paid, failed, or still awaiting a result."""

    paid: int = 0
    failed: int = 0
    awaiting: int = 0


def runs_results(run_ids: Iterable[int]) -> dict[int, RunResults]:
    """The results so far of each run (one grouped query for a page of runs)."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        TransferInstruction.objects.filter(batch__run_id__in=list(run_ids))
        .order_by()
        .values("batch__run_id", "status")
        .annotate(n=Count("pk"))
        .values_list("batch__run_id", "status", "n")
    )
    for run_id, status, n in rows:
        counts.setdefault(run_id, {})
        counts[run_id][status] = counts[run_id].get(status, 0) + n
    return {
        run_id: RunResults(
            paid=by_status.get(InstructionStatus.SUCCESS, 0),
            failed=by_status.get(InstructionStatus.FAILED, 0),
            awaiting=sum(by_status.get(status, 0) for status in IN_FLIGHT),
        )
        for run_id, by_status in counts.items()
    }


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    institution_code: str
    institution_name: str
    control_count: int
    control_sum_idr: int
    status: str
    send_attempts: int
    refusal: str


@dataclass(frozen=True)
class CountSum:
    """A group of rows: its key (a status, a reason code…), how many and their rupiah."""

    key: str
    count: int
    amount_idr: int


@dataclass(frozen=True)
class RunPage:
    batches: list[BatchRow]
    by_status: list[CountSum]  # every instruction status, in the order of their life
    failures: list[CountSum]  # failed instructions by reason code, most first
    results: RunResults


def run_page(run: DisbursementRun) -> RunPage:
    """A run's batches per institution with their control totals, its instructions by status and
    its failures by reason code."""
    batches = [
        BatchRow(*row)
        for row in TransferBatch.objects.filter(run=run)
        .order_by("institution__code", "batch_id")
        .values_list(
            "batch_id",
            "institution__code",
            "institution__name",
            "control_count",
            "control_sum_idr",
            "status",
            "send_attempts",
            "refusal",
        )
    ]
    instructions = TransferInstruction.objects.filter(batch__run=run).order_by()
    grouped = {
        status: (n, amount or 0)
        for status, n, amount in instructions.values("status")
        .annotate(n=Count("pk"), amount=Sum("amount_idr"))
        .values_list("status", "n", "amount")
    }
    by_status = [
        CountSum(status, *grouped.get(status, (0, 0))) for status in InstructionStatus.values
    ]
    failures = sorted(
        (
            CountSum(reason or "—", n, amount or 0)
            for reason, n, amount in instructions.filter(status=InstructionStatus.FAILED)
            .values("reason_code")
            .annotate(n=Count("pk"), amount=Sum("amount_idr"))
            .values_list("reason_code", "n", "amount")
        ),
        key=lambda row: (-row.count, row.key),
    )
    counts = {row.key: row.count for row in by_status}
    results = RunResults(
        paid=counts[InstructionStatus.SUCCESS],
        failed=counts[InstructionStatus.FAILED],
        awaiting=sum(counts[status] for status in IN_FLIGHT),
    )
    return RunPage(batches=batches, by_status=by_status, failures=failures, results=results)


@dataclass(frozen=True)
class FailureRow:
    institution_code: str
    institution_name: str
    reason_code: str
    count: int
    amount_idr: int


@dataclass(frozen=True)
class FailuresReport:
    transfers: list[FailureRow]  # failed instructions by institution × reason code
    holds: list[CountSum]  # held entitlements by hold reason
    transfers_total: CountSum
    holds_total: CountSum


def failures_report() -> FailuresReport:
    """Failed transfer instructions by institution and reason code, and held entitlements by
    hold reason, with their counts and rupiah (those of cancelled runs count as CANCELLED)."""
    transfers = [
        FailureRow(code, name, reason or "—", n, amount or 0)
        for code, name, reason, n, amount in TransferInstruction.objects.filter(
            status=InstructionStatus.FAILED
        )
        .order_by()
        .values("institution__code", "institution__name", "reason_code")
        .annotate(n=Count("pk"), amount=Sum("amount_idr"))
        .values_list("institution__code", "institution__name", "reason_code", "n", "amount")
    ]
    transfers.sort(key=lambda row: (row.institution_code, -row.count, row.reason_code))
    holds = holds_by_reason()
    return FailuresReport(
        transfers=transfers,
        holds=holds,
        transfers_total=CountSum(
            "", sum(r.count for r in transfers), sum(r.amount_idr for r in transfers)
        ),
        holds_total=CountSum("", sum(r.count for r in holds), sum(r.amount_idr for r in holds)),
    )


FAILURES_CSV_HEADER = ["table", "institution", "reason_code", "count", "amount_idr"]


def failures_csv(report: FailuresReport) -> str:
    """The failures page as CSV: the same rows and numbers, amounts in whole rupiah."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FAILURES_CSV_HEADER)
    for row in report.transfers:
        writer.writerow(
            ["failed_transfer", row.institution_code, row.reason_code, row.count, row.amount_idr]
        )
    for hold in report.holds:
        writer.writerow(["held_entitlement", "", hold.key, hold.count, hold.amount_idr])
    return out.getvalue()


@dataclass(frozen=True)
class StatementPage:
    by_outcome: list[tuple[str, int]]  # the unmatched items by outcome, every outcome
    items: list[StatementItem]  # the first STATEMENT_ITEMS_SHOWN of them
    items_total: int


def statement_page(statement: Statement) -> StatementPage:
    """A statement's unmatched lines: how many of each outcome, and the first of them."""
    items = StatementItem.objects.filter(statement=statement)
    grouped = dict(
        items.order_by().values("outcome").annotate(n=Count("pk")).values_list("outcome", "n")
    )
    return StatementPage(
        by_outcome=[
            (outcome, grouped.get(outcome, 0))
            for outcome in ReconciliationOutcome.values
            if outcome != ReconciliationOutcome.MATCHED
        ],
        items=list(items.order_by("outcome", "instruction_id")[:STATEMENT_ITEMS_SHOWN]),
        items_total=sum(grouped.values()),
    )


def holds_by_reason() -> list[CountSum]:
    """Held entitlements of the whole program by hold reason, most first (one grouped query, read
    from the partial index of held ones)."""
    return sorted(
        (
            CountSum(reason, n, amount or 0)
            for reason, n, amount in Entitlement.objects.filter(status=EntitlementStatus.HELD)
            .order_by()
            .values("hold_reason")
            .annotate(n=Count("pk"), amount=Sum("amount_idr"))
            .values_list("hold_reason", "n", "amount")
        ),
        key=lambda row: (-row.count, row.key),
    )
