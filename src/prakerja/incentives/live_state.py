"""Where pay day stands right now: a run's (or every approved run's) batches and instructions by
status, what is waiting on an institution and for how long, what was paid and what failed, and
the entitlements held. Read by the run's console page and by GET /metrics (incentives/metrics.py).

Three grouped queries whatever the number of instructions: scraped every few seconds, it must never
load a run's rows. The two ages are the figures to alert on: a batch `sending` means its outcome is
not yet confirmed with the institution (sending.py asks after CONFIRM_AFTER), an instruction
`accepted` in a sent batch is waiting for its result (callback, query or statement).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Sum

from prakerja.common import clock
from prakerja.incentives.console_selectors import CountSum, holds_by_reason
from prakerja.incentives.models import (
    IN_FLIGHT,
    BatchStatus,
    EntitlementStatus,
    InstructionStatus,
    RunStatus,
    TransferBatch,
    TransferInstruction,
)


@dataclass(frozen=True)
class LiveState:
    batches: tuple[CountSum, ...]  # every batch status in life order; amount = control sums
    in_flight: tuple[CountSum, ...]  # instructions ready, sent, accepted (zeros included)
    outcome_unknown: CountSum  # batches `sending`: sent, the outcome not yet confirmed
    outcome_unknown_oldest_s: int | None  # since the oldest of them was sent; None: none
    awaiting_results: CountSum  # instructions `accepted` in sent batches
    awaiting_results_oldest_s: int | None  # since the oldest such batch was sent
    paid: CountSum
    failed: tuple[CountSum, ...]  # by reason code, most first
    failed_total: CountSum
    # Held entitlements of the whole program by hold reason, most first: a hold is not a run's
    # (NO_ACCOUNT never had an instruction) and outlives the run that found it.
    held: tuple[CountSum, ...]
    held_total: CountSum


def disbursement_live_state(
    run_id: int | None = None, *, now: datetime.datetime | None = None
) -> LiveState:
    """The live state of run `run_id`, or of every approved run (those still sending or awaiting
    results; done and cancelled runs are history) when None. `now` fixes the ages' clock."""
    now = now or clock.now()
    batch_rows = TransferBatch.objects.order_by()
    instruction_rows = TransferInstruction.objects.order_by()
    if run_id is None:
        batch_rows = batch_rows.filter(run__status=RunStatus.APPROVED)
        instruction_rows = instruction_rows.filter(batch__run__status=RunStatus.APPROVED)
    else:
        batch_rows = batch_rows.filter(run_id=run_id)
        instruction_rows = instruction_rows.filter(batch__run_id=run_id)

    # 1. Batches by status, with the oldest send of each status.
    batches: dict[str, tuple[int, int, datetime.datetime | None]] = {
        status: (n, amount or 0, oldest)
        for status, n, amount, oldest in batch_rows.values("status")
        .annotate(n=Count("pk"), amount=Sum("control_sum_idr"), oldest=Min("sent_at"))
        .values_list("status", "n", "amount", "oldest")
    }
    # 2. Instructions by status × reason × their batch's status (a handful of groups).
    groups = list(
        instruction_rows.values("status", "reason_code", "batch__status")
        .annotate(n=Count("pk"), amount=Sum("amount_idr"), oldest=Min("batch__sent_at"))
        .values_list("status", "reason_code", "batch__status", "n", "amount", "oldest")
    )
    # 3. Holds.
    held = tuple(holds_by_reason())

    sending = batches.get(BatchStatus.SENDING, (0, 0, None))
    awaiting = [
        (n, amount or 0, oldest)
        for status, _, batch_status, n, amount, oldest in groups
        if status == InstructionStatus.ACCEPTED and batch_status == BatchStatus.SENT
    ]
    failed: dict[str, CountSum] = {}
    for status, reason, _, n, amount, _ in groups:
        if status == InstructionStatus.FAILED:
            key = reason or "—"
            had = failed.get(key, CountSum(key, 0, 0))
            failed[key] = CountSum(key, had.count + n, had.amount_idr + (amount or 0))
    failed_rows = _sorted(failed.values())
    return LiveState(
        batches=tuple(
            CountSum(status, *batches.get(status, (0, 0, None))[:2])
            for status in BatchStatus.values
        ),
        in_flight=tuple(_total(groups, status) for status in IN_FLIGHT),
        outcome_unknown=CountSum(BatchStatus.SENDING, sending[0], sending[1]),
        outcome_unknown_oldest_s=_age(now, sending[2]),
        awaiting_results=CountSum(
            InstructionStatus.ACCEPTED,
            sum(n for n, _, _ in awaiting),
            sum(amount for _, amount, _ in awaiting),
        ),
        awaiting_results_oldest_s=_age(
            now, min((oldest for _, _, oldest in awaiting if oldest), default=None)
        ),
        paid=_total(groups, InstructionStatus.SUCCESS),
        failed=failed_rows,
        failed_total=_sum(InstructionStatus.FAILED, failed_rows),
        held=held,
        held_total=_sum(EntitlementStatus.HELD, held),
    )


def _total(groups: list[tuple[Any, ...]], status: str) -> CountSum:
    rows = [(n, amount or 0) for s, _, _, n, amount, _ in groups if s == status]
    return CountSum(status, sum(n for n, _ in rows), sum(amount for _, amount in rows))


def _sum(key: str, rows: tuple[CountSum, ...]) -> CountSum:
    return CountSum(key, sum(r.count for r in rows), sum(r.amount_idr for r in rows))


def _sorted(rows: Iterable[CountSum]) -> tuple[CountSum, ...]:
    return tuple(sorted(rows, key=lambda row: (-row.count, row.key)))


def _age(now: datetime.datetime, since: datetime.datetime | None) -> int | None:
    """Whole seconds since `since` (never negative: a clock a little behind the database's)."""
    return None if since is None else max(0, int((now - since).total_seconds()))
