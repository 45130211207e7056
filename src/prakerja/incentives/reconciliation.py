"""Reconciling an institution's statement of one day with what the system recorded (program.md §5):
by API (`POST /statements`) or by CSV upload in the console.

Each line is matched by instruction id: matched (same amount and status), amount mismatch, status
mismatch, missing here (on the statement, not here — or here but still awaiting its result), or
missing there (settled here that day, absent from the statement). A statement's success line for an
instruction still awaiting its result is a result in itself (its callback was lost): recorded
first, then matched. A matched success moves its amount from the institution's clearing account out
of the program (ledger key `settle:{instruction id}`, once however often the statement comes).
"""

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.incentives.models import (
    ReconciliationOutcome,
    Statement,
    StatementItem,
    TransferInstruction,
)
from prakerja.incentives.results import Outcome, transfer_outcomes_record
from prakerja.incentives.sending import batches_ask
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.partners.models import Partner

CHUNK = 1_000
CSV_HEADER = ["instruction_id", "amount_idr", "status", "partner_reference"]


@dataclass(frozen=True)
class Line:
    instruction_id: str
    amount_idr: int
    status: str  # success | failed
    partner_reference: str = ""


def statement_lines_from_csv(text: str) -> list[Line]:
    """Lines of a statement CSV (header instruction_id,amount_idr,status,partner_reference).
    Errors: VALIDATION_FAILED naming the first bad row."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != CSV_HEADER:
        raise ValidationFailed(
            details={"file": "CSV_HEADER_INVALID", "expected": ",".join(CSV_HEADER)}
        )
    lines = []
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            instruction_id, amount, status, reference = (cell.strip() for cell in row)
            if status not in ("success", "failed") or not instruction_id:
                raise ValueError(status)
            lines.append(Line(instruction_id, int(amount), status, reference))
        except ValueError:
            raise ValidationFailed(details={"file": "CSV_ROW_INVALID", "row": number}) from None
    return lines


def statement_reconcile(
    *,
    institution: Partner,
    statement_date: datetime.date,
    lines: Sequence[Line],
    source: str,
    actor: Actor,
) -> Statement:
    """Reconcile one statement; returns it with its counts (the unmatched lines as items)."""
    # Results the statement reveals (lost callbacks) first, in their own transactions. A success
    # is a result in itself; a failure is not, for a statement line carries no reason and the
    # reason decides what follows (the account rejected and the person told, or another attempt):
    # the institution is asked for those instructions' status, which says why.
    transfer_outcomes_record(
        institution_id=institution.pk,
        outcomes=[
            Outcome(x.instruction_id, "success", "", None, x.partner_reference)
            for x in lines
            if x.status == "success"
        ],
        actor=actor,
    )
    _failures_confirm(institution, [x.instruction_id for x in lines if x.status == "failed"])
    with transaction.atomic():
        statement = Statement.objects.create(
            institution=institution,
            statement_date=statement_date,
            source=source,
            received_by=actor.label,
            lines_count=len(lines),
        )
        seen: set[str] = set()
        items: list[StatementItem] = []
        to_settle: list[tuple[int, str, int, int]] = []
        for start in range(0, len(lines), CHUNK):
            part = lines[start : start + CHUNK]
            ours = {
                row[0]: row
                for row in TransferInstruction.objects.filter(
                    institution=institution, instruction_id__in=[x.instruction_id for x in part]
                ).values_list("instruction_id", "pk", "amount_idr", "status", "reconciled_at")
            }
            for line in part:
                seen.add(line.instruction_id)
                mine = ours.get(line.instruction_id)
                outcome = _compare(line, mine)
                if outcome == ReconciliationOutcome.MATCHED:
                    statement.matched += 1
                    if line.status == "success" and mine is not None and mine[4] is None:
                        to_settle.append((mine[1], mine[0], mine[2], institution.pk))
                    continue
                items.append(_item(statement, outcome, line, mine))
        missing_there = _missing_there(institution, statement_date, seen)
        items += [
            StatementItem(
                statement=statement,
                outcome=ReconciliationOutcome.MISSING_THERE,
                instruction_id=instruction_id,
                amount_here_idr=amount,
                status_here="success",
            )
            for instruction_id, amount in missing_there
        ]
        StatementItem.objects.bulk_create(items, batch_size=CHUNK)
        for item in items:
            if item.outcome == ReconciliationOutcome.MISSING_HERE:
                statement.missing_here += 1
            elif item.outcome == ReconciliationOutcome.MISSING_THERE:
                statement.missing_there += 1
            elif item.outcome == ReconciliationOutcome.AMOUNT_MISMATCH:
                statement.amount_mismatch += 1
        statement.save()
        _settle(to_settle, actor)
        audit_record(
            actor=actor,
            event_type="statement.reconciled",
            subject=statement,
            details={
                "institution": institution.code,
                "statement_date": statement_date.isoformat(),
                "matched": statement.matched,
                "missing_here": statement.missing_here,
                "missing_there": statement.missing_there,
                "amount_mismatch": statement.amount_mismatch,
                "unmatched": len(items),
            },
        )
    return statement


def _failures_confirm(institution: Partner, instruction_ids: list[str]) -> None:
    """Ask the institution about the batches of failed lines still in flight here; what it
    answers is recorded with its reasons. Unanswered, they stay in flight (the statement shows
    them missing here) and the periodic confirmation asks again."""
    batch_pks: set[int] = set()
    for start in range(0, len(instruction_ids), CHUNK):
        batch_pks.update(
            TransferInstruction.objects.filter(
                institution=institution,
                instruction_id__in=instruction_ids[start : start + CHUNK],
                status__in=("sent", "accepted"),
            ).values_list("batch_id", flat=True)
        )
    if batch_pks:
        batches_ask(batch_pks=batch_pks, why="failed on the statement")


def _compare(line: Line, mine: tuple[Any, ...] | None) -> str:
    if mine is None or mine[3] not in ("success", "failed"):
        return ReconciliationOutcome.MISSING_HERE
    if mine[2] != line.amount_idr:
        return ReconciliationOutcome.AMOUNT_MISMATCH
    if mine[3] != line.status:
        return ReconciliationOutcome.STATUS_MISMATCH
    return ReconciliationOutcome.MATCHED


def _item(
    statement: Statement, outcome: str, line: Line, mine: tuple[Any, ...] | None
) -> StatementItem:
    return StatementItem(
        statement=statement,
        outcome=outcome,
        instruction_id=line.instruction_id,
        amount_here_idr=mine[2] if mine else None,
        amount_there_idr=line.amount_idr,
        status_here=mine[3] if mine else "",
        status_there=line.status,
    )


def _missing_there(
    institution: Partner, statement_date: datetime.date, seen: set[str]
) -> list[tuple[str, int]]:
    """Successes settled here on that WIB day that the statement does not list."""
    start = datetime.datetime.combine(statement_date, datetime.time(0), tzinfo=WIB)
    settled = TransferInstruction.objects.filter(
        institution=institution,
        status="success",
        settled_at__gte=start,
        settled_at__lt=start + datetime.timedelta(days=1),
    ).values_list("instruction_id", "amount_idr")
    return [(i, amount) for i, amount in settled.iterator(chunk_size=CHUNK) if i not in seen]


def _settle(items: list[tuple[int, str, int, int]], actor: Actor) -> None:
    if not items:
        return
    paid_out = account_get_or_create(kind=AccountKind.PAID_OUT).pk
    clearing = accounts_ensure(
        kind=AccountKind.INSTITUTION_CLEARING, owner_ids={i[3] for i in items}
    )
    for start in range(0, len(items), CHUNK):
        part = items[start : start + CHUNK]
        transactions_post_bulk(
            kind="incentive_settle",
            postings=[
                Posting(
                    f"settle:{instruction_id}", ((clearing[owner], -amount), (paid_out, amount))
                )
                for _, instruction_id, amount, owner in part
            ],
            actor=actor,
            memo=f"{len(part)} incentive transfers settled by statement",
        )
    TransferInstruction.objects.filter(pk__in=[i[0] for i in items]).update(
        reconciled_at=clock.now()
    )
