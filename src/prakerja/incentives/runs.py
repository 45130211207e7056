"""The daily disbursement run (program.md §5): a finance maker prepares it, a different finance
checker approves it, workers send it.

Preparing is set-based and in one transaction: entitlements of newly excluded participants are held
(exclusion lists are re-checked at every run), so are those of participants whose completion is now
in doubt (orders' fast-completion and identical-review flags), due entitlements without an account
are held, then the due, unpaid, unheld entitlements with a verified account are taken oldest first
up to the scheme's daily capacity, one instruction each, in batches of at most 1.000 per institution
with their control totals. Instruction ids are fixed here, before anything is sent: whatever
happens later (a crash, a lost answer), an instruction is only ever sent again under the same id.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import json_rows
from prakerja.incentives.errors import (
    MakerCannotApprove,
    RunAboveApprovalLimit,
    RunExists,
    RunNotPrepared,
)
from prakerja.incentives.models import (
    IN_FLIGHT,
    DisbursementRun,
    Entitlement,
    EntitlementStatus,
    HoldReason,
    PaymentAccount,
    RunStatus,
    TransferBatch,
    TransferInstruction,
)
from prakerja.orders.models import Order, Review
from prakerja.partners.models import Partner
from prakerja.registration.models import ExclusionEntry, Registrant
from prakerja.waves.models import Participant, ProgramScheme
from prakerja.waves.selectors import scheme_active

BATCH_SIZE = 1_000  # the institutions' limit per transfer batch (partner-api.md)
INSERT_CHUNK = 5_000

E = Entitlement._meta.db_table
I = TransferInstruction._meta.db_table  # noqa: E741
A = PaymentAccount._meta.db_table
P = Participant._meta.db_table
R = Registrant._meta.db_table
X = ExclusionEntry._meta.db_table
ORDERS = Order._meta.db_table
REVIEWS = Review._meta.db_table


@dataclass(frozen=True)
class _Candidate:
    entitlement_id: int
    amount_idr: int
    account_id: int
    institution_id: int
    attempt: int  # this instruction's number among the entitlement's instructions


def run_prepare(
    *, run_date: datetime.date, actor: Actor, capacity: int | None = None
) -> DisbursementRun:
    """Prepare the run of `run_date` (the maker). Errors: RUN_EXISTS (a run of that date that is
    not cancelled exists, also when two makers prepare it at once: one proceeds)."""
    scheme = scheme_active()
    with transaction.atomic(durable=True):
        # Runs are prepared one at a time: two runs of different dates must not take the same
        # entitlements (the in-flight constraint would refuse the second whole).
        ProgramScheme.objects.select_for_update().get(pk=scheme.pk)
        try:
            with transaction.atomic():
                run = DisbursementRun.objects.create(
                    run_date=run_date, prepared_by=actor.label, prepared_by_user_id=_user_id(actor)
                )
        except IntegrityError:
            raise RunExists(
                details={"run_date": run_date.isoformat()}, run_date=run_date.isoformat()
            ) from None
        now = clock.now()
        held = {
            HoldReason.EXCLUDED: _hold_excluded(now),
            **_hold_in_doubt(now),
            HoldReason.NO_ACCOUNT: _hold_without_account(run_date, now),
        }
        chosen = _candidates(run_date, capacity or scheme.daily_disbursement_capacity)
        batches = _batches_create(run, chosen)
        run.instructions_count = len(chosen)
        run.amount_idr = sum(c.amount_idr for c in chosen)
        run.save(update_fields=["instructions_count", "amount_idr"])
        audit_record(
            actor=actor,
            event_type="disbursement.prepared",
            subject=run,
            details={
                "run_date": run_date.isoformat(),
                "instructions": run.instructions_count,
                "amount_idr": run.amount_idr,
                "batches": batches,
                "held": {str(reason): count for reason, count in held.items()},
            },
        )
    return run


def _user_id(actor: Actor) -> int | None:
    return actor.id if actor.kind == "user" else None


def _hold_excluded(now: datetime.datetime) -> int:
    """Due entitlements of participants whose NIK is now on an exclusion list: held."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {E} SET status = %s, hold_reason = %s, updated_at = %s "  # noqa: S608
            f"WHERE status = %s AND participant_id IN (SELECT p.id FROM {P} p "
            f"JOIN {R} r ON r.id = p.registrant_id "
            f"WHERE EXISTS (SELECT 1 FROM {X} x WHERE x.nik_index = r.nik_index))",
            [EntitlementStatus.HELD, HoldReason.EXCLUDED, now, EntitlementStatus.DUE],
        )
        return cursor.rowcount


def _hold_in_doubt(now: datetime.datetime) -> dict[str, int]:
    """Due entitlements of participants whose completion is now in doubt: a reviewed, certified
    completion faster than the training (FAST_COMPLETION), else a review whose text another
    account also wrote (REVIEW_FLAGGED) — a ring member's text becomes identical only when a
    later member posts it, after the first one's grant. Held until the PMO has looked; two
    UPDATEs, in that order, so the first reason found is the one shown."""
    completed = (
        f"SELECT o.participant_id FROM {ORDERS} o WHERE o.status = 'completed' "  # noqa: S608
        "AND o.flag_fast_completion AND o.certificate_number <> '' "
        f"AND EXISTS (SELECT 1 FROM {REVIEWS} v WHERE v.order_id = o.id)"
    )
    identical = f"SELECT v.participant_id FROM {REVIEWS} v WHERE v.flag_identical_text"  # noqa: S608
    held: dict[str, int] = {}
    with connection.cursor() as cursor:
        for reason, flagged in (
            (HoldReason.FAST_COMPLETION, completed),
            (HoldReason.REVIEW_FLAGGED, identical),
        ):
            cursor.execute(
                f"UPDATE {E} SET status = %s, hold_reason = %s, updated_at = %s "  # noqa: S608
                f"WHERE status = %s AND participant_id IN ({flagged})",
                [EntitlementStatus.HELD, reason, now, EntitlementStatus.DUE],
            )
            held[reason] = cursor.rowcount
    return held


def _hold_without_account(run_date: datetime.date, now: datetime.datetime) -> int:
    """Due entitlements whose participant has no account being checked or verified: held until
    one is linked and verified."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {E} SET status = %s, hold_reason = %s, updated_at = %s "  # noqa: S608
            f"WHERE status = %s AND due_on <= %s AND NOT EXISTS (SELECT 1 FROM {A} a "
            f"WHERE a.participant_id = {E}.participant_id AND a.status IN ('checking', 'verified'))",
            [EntitlementStatus.HELD, HoldReason.NO_ACCOUNT, now, EntitlementStatus.DUE, run_date],
        )
        return cursor.rowcount


def _candidates(run_date: datetime.date, capacity: int) -> list[_Candidate]:
    flight = ", ".join(f"'{status}'" for status in IN_FLIGHT)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id, e.amount_idr, a.id, a.institution_id, "  # noqa: S608
            f"(SELECT COUNT(*) FROM {I} i WHERE i.entitlement_id = e.id) + 1 "
            f"FROM {E} e JOIN {A} a ON a.participant_id = e.participant_id AND a.status = 'verified' "
            f"WHERE e.status = %s AND e.due_on <= %s AND NOT EXISTS (SELECT 1 FROM {I} i "
            f"WHERE i.entitlement_id = e.id AND i.status IN ({flight})) "
            "ORDER BY e.due_on, e.id LIMIT %s",
            [EntitlementStatus.DUE, run_date, capacity],
        )
        return [_Candidate(*row) for row in cursor.fetchall()]


def _batches_create(run: DisbursementRun, chosen: list[_Candidate]) -> int:
    by_institution: dict[int, list[_Candidate]] = {}
    for candidate in chosen:
        by_institution.setdefault(candidate.institution_id, []).append(candidate)
    codes = dict(Partner.objects.filter(pk__in=by_institution).values_list("pk", "code"))
    rows: list[list[Any]] = []
    count = 0
    for institution_id, items in sorted(by_institution.items()):
        for start in range(0, len(items), BATCH_SIZE):
            part = items[start : start + BATCH_SIZE]
            count += 1
            batch = TransferBatch.objects.create(
                run=run,
                institution_id=institution_id,
                batch_id=f"PKJ-R{run.pk}-{codes[institution_id]}-{count:04d}",
                control_count=len(part),
                control_sum_idr=sum(c.amount_idr for c in part),
            )
            rows += [
                [
                    f"PKJ-E{c.entitlement_id}-{c.attempt}",
                    batch.pk,
                    c.entitlement_id,
                    c.account_id,
                    c.institution_id,
                    c.amount_idr,
                ]
                for c in part
            ]
    for start in range(0, len(rows), INSERT_CHUNK):
        _instructions_insert(rows[start : start + INSERT_CHUNK])
    return count


def _instructions_insert(rows: list[list[Any]]) -> None:
    table, param = json_rows(
        (
            ("instruction_id", "text"),
            ("batch_id", "bigint"),
            ("entitlement_id", "bigint"),
            ("account_id", "bigint"),
            ("institution_id", "bigint"),
            ("amount_idr", "bigint"),
        ),
        rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {I} (instruction_id, batch_id, entitlement_id, account_id, "  # noqa: S608
            "institution_id, amount_idr, status, reason_code, partner_reference) "
            f"SELECT instruction_id, batch_id, entitlement_id, account_id, institution_id, "
            f"amount_idr, 'ready', '', '' FROM {table} AS r",
            param,
        )


def run_approve(*, run: DisbursementRun, actor: Actor) -> DisbursementRun:
    """Approve a prepared run (the checker) and start sending it. Errors: MAKER_CANNOT_APPROVE
    (the checker prepared it), RUN_ABOVE_APPROVAL_LIMIT (settings.DISBURSEMENT_APPROVAL_LIMIT_IDR),
    RUN_NOT_PREPARED (already approved, done or cancelled)."""
    with transaction.atomic(durable=True):
        locked = DisbursementRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.PREPARED:
            raise RunNotPrepared(details={"status": locked.status}, status=locked.status)
        if locked.prepared_by == actor.label or (
            locked.prepared_by_user_id is not None and locked.prepared_by_user_id == _user_id(actor)
        ):
            raise MakerCannotApprove(details={"prepared_by": locked.prepared_by})
        limit = settings.DISBURSEMENT_APPROVAL_LIMIT_IDR
        if limit and locked.amount_idr > limit:
            raise RunAboveApprovalLimit(
                details={"amount_idr": locked.amount_idr, "limit_idr": limit}, limit=limit
            )
        locked.status = RunStatus.APPROVED
        locked.approved_by = actor.label
        locked.approved_by_user_id = _user_id(actor)
        locked.approved_at = clock.now()
        locked.save(update_fields=["status", "approved_by", "approved_by_user_id", "approved_at"])
        audit_record(
            actor=actor,
            event_type="disbursement.approved",
            subject=locked,
            details={"instructions": locked.instructions_count, "amount_idr": locked.amount_idr},
        )
        from prakerja.incentives.sending import run_dispatch

        transaction.on_commit(lambda: run_dispatch(run_id=locked.pk))
    return locked


def run_cancel(*, run: DisbursementRun, actor: Actor) -> DisbursementRun:
    """Cancel a prepared run: its instructions were never sent; they go (failed, CANCELLED), so the
    entitlements are free for another run."""
    with transaction.atomic(durable=True):
        locked = DisbursementRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.PREPARED:
            raise RunNotPrepared(details={"status": locked.status}, status=locked.status)
        TransferInstruction.objects.filter(batch__run=locked).update(
            status="failed", reason_code="CANCELLED", result_at=clock.now()
        )
        locked.status = RunStatus.CANCELLED
        locked.finished_at = clock.now()
        locked.save(update_fields=["status", "finished_at"])
        audit_record(actor=actor, event_type="disbursement.cancelled", subject=locked)
    return locked
