"""Recording transfer outcomes, whoever reports them: the institution's answer to a batch, its
callbacks (one or a batch at a time), a status query, its statement.

Only an instruction still in flight (sent or accepted) takes an outcome; a repeated or late report
for a settled instruction changes nothing. A success marks the instruction and its entitlement paid
and moves the amount from the participant's incentive payable to the institution's clearing
account (ledger key `transfer:{instruction id}`); the partial unique index on successful
instructions makes a second success of one entitlement impossible. A failure the participant must
fix (their account) holds the entitlement with that reason and marks the account rejected; a
passing failure (TEMPORARY_FAILURE, LIMIT_REACHED) leaves it due for a later run until the
scheme's number of attempts is spent.
"""

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    EntitlementStatus,
    HoldReason,
    PaymentAccount,
    RunStatus,
    TransferInstruction,
)
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import Posting, accounts_ensure, transactions_post_bulk

# Failures only the participant can fix: their account is rejected with the reason shown.
ACCOUNT_FAILURES = frozenset(
    {"NIK_MISMATCH", "NOT_UPGRADED", "ACCOUNT_INACTIVE", "ACCOUNT_NOT_FOUND", "PHONE_CHANGED"}
)
CHUNK = 1_000
logger = logging.getLogger(__name__)

I = TransferInstruction._meta.db_table  # noqa: E741
E = Entitlement._meta.db_table
ACC = PaymentAccount._meta.db_table


@dataclass(frozen=True)
class Outcome:
    instruction_id: str
    status: str  # success | failed
    reason_code: str = ""
    settled_at: datetime.datetime | None = None
    partner_reference: str = ""


@dataclass
class Recorded:
    paid: int = 0
    failed: int = 0
    already_settled: int = 0  # repeated or late reports: nothing changed
    unknown: list[str] = field(default_factory=list)  # not this institution's instructions
    unconfirmed: list[str] = field(default_factory=list)  # failures without a reason: not taken

    def add(self, other: "Recorded") -> None:
        self.paid += other.paid
        self.failed += other.failed
        self.already_settled += other.already_settled
        self.unknown += other.unknown
        self.unconfirmed += other.unconfirmed


def transfer_outcomes_record(
    *, institution_id: int, outcomes: Sequence[Outcome], actor: Actor
) -> Recorded:
    """Record the outcomes of the institution's instructions, a chunk per transaction."""
    total = Recorded()
    latest: dict[str, Outcome] = {}
    for outcome in outcomes:
        if outcome.status == "failed" and not outcome.reason_code:
            # The reason decides what follows (the account rejected and the person told, or
            # another attempt): a failure without one stays in flight until the institution's
            # status answer says why.
            total.unconfirmed.append(outcome.instruction_id)
        elif outcome.status in ("success", "failed"):
            latest[outcome.instruction_id] = outcome
    if total.unconfirmed:
        logger.warning(
            "institution %s: %d failures without a reason not recorded (asked again later): %s",
            institution_id,
            len(total.unconfirmed),
            ", ".join(total.unconfirmed[:10]),
        )
    items = list(latest.values())
    for start in range(0, len(items), CHUNK):
        with transaction.atomic():
            total.add(_record_chunk(institution_id, items[start : start + CHUNK], actor))
    return total


def _record_chunk(institution_id: int, outcomes: list[Outcome], actor: Actor) -> Recorded:
    # Locks are taken in one global order — instructions, then entitlements, then the ledger's
    # balances (account id order), then runs — and only on rows that change: `of=("self",)` keeps
    # the join from locking the entitlement and batch rows too, which crossed the callbacks of one
    # batch and the sender's batch update (deadlocks on incentives_transferbatch).
    rows = {
        row[1]: row
        for row in TransferInstruction.objects.select_for_update(of=("self",))
        .filter(
            institution_id=institution_id, instruction_id__in=[o.instruction_id for o in outcomes]
        )
        .order_by("pk")
        .values_list(
            "pk",
            "instruction_id",
            "status",
            "entitlement_id",
            "entitlement__participant_id",
            "amount_idr",
            "account_id",
            "batch__run_id",
        )
    }
    recorded = Recorded()
    now = clock.now()
    successes: list[tuple[Outcome, tuple[Any, ...]]] = []
    failures: list[tuple[Outcome, tuple[Any, ...]]] = []
    for outcome in outcomes:
        row = rows.get(outcome.instruction_id)
        if row is None:
            recorded.unknown.append(outcome.instruction_id)
        elif row[2] not in ("sent", "accepted"):
            recorded.already_settled += 1
        else:
            (successes if outcome.status == "success" else failures).append((outcome, row))
    _entitlements_lock(successes, failures)
    if successes:
        _successes(successes, institution_id, now, actor)
    if failures:
        _failures(failures, now)
    recorded.paid, recorded.failed = len(successes), len(failures)
    runs_finish_if_done({row[7] for _, row in successes + failures})
    return recorded


def _entitlements_lock(
    successes: list[tuple[Outcome, tuple[Any, ...]]],
    failures: list[tuple[Outcome, tuple[Any, ...]]],
) -> None:
    """Lock, in primary-key order, every entitlement the chunk may change: those of its
    instructions and, for an account failure, the participant's other due ones (held too). Two
    chunks then wait for each other in one order instead of crossing in their UPDATEs."""
    own = [row[3] for _, row in successes + failures]
    participants = [row[4] for o, row in failures if o.reason_code in ACCOUNT_FAILURES]
    if not own or connection.vendor != "postgresql":
        return  # SQLite: one writer at a time, nothing to order
    query = Entitlement.objects.filter(pk__in=own)
    if participants:
        query = Entitlement.objects.filter(
            Q(pk__in=own) | Q(participant_id__in=participants, status=EntitlementStatus.DUE)
        )
    list(query.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))


def _instructions_settle(
    items: list[tuple[Outcome, tuple[Any, ...]]], now: datetime.datetime
) -> None:
    table, param = json_rows(
        (
            ("id", "bigint"),
            ("status", "text"),
            ("reason", "text"),
            ("settled", "timestamptz"),
            ("ref", "text"),
        ),
        [
            [
                row[0],
                outcome.status,
                outcome.reason_code or "",
                db_time(outcome.settled_at or now),
                (outcome.partner_reference or "")[:100],
            ]
            for outcome, row in items
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {I} SET status = r.status, reason_code = r.reason, "  # noqa: S608
            f"settled_at = r.settled, partner_reference = r.ref, result_at = %s "
            f"FROM {table} AS r WHERE {I}.id = r.id",
            [db_time(now), *param],
        )


def _successes(
    items: list[tuple[Outcome, tuple[Any, ...]]],
    institution_id: int,
    now: datetime.datetime,
    actor: Actor,
) -> None:
    _instructions_settle(items, now)
    Entitlement.objects.filter(pk__in=[row[3] for _, row in items]).update(
        status=EntitlementStatus.PAID, hold_reason="", paid_at=now, updated_at=now
    )
    payables = accounts_ensure(
        kind=AccountKind.INCENTIVE_PAYABLE, owner_ids={row[4] for _, row in items}
    )
    clearing = accounts_ensure(kind=AccountKind.INSTITUTION_CLEARING, owner_ids=[institution_id])[
        institution_id
    ]
    transactions_post_bulk(
        kind="incentive_transfer",
        postings=[
            Posting(f"transfer:{row[1]}", ((payables[row[4]], -row[5]), (clearing, row[5])))
            for _, row in items
        ],
        actor=actor,
        memo=f"{len(items)} incentive transfers paid",
    )


def _failures(items: list[tuple[Outcome, tuple[Any, ...]]], now: datetime.datetime) -> None:
    _instructions_settle(items, now)
    account_failures = [(o, row) for o, row in items if o.reason_code in ACCOUNT_FAILURES]
    passing = [(o, row) for o, row in items if o.reason_code not in ACCOUNT_FAILURES]
    if account_failures:
        holds, param = json_rows(
            (("id", "bigint"), ("reason", "text")),
            [[row[3], o.reason_code] for o, row in account_failures],
        )
        rejected, rparam = json_rows(
            (("id", "bigint"), ("reason", "text")),
            [[row[6], o.reason_code] for o, row in account_failures],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {E} SET status = 'held', hold_reason = r.reason, updated_at = %s "  # noqa: S608
                f"FROM {holds} AS r WHERE {E}.id = r.id AND {E}.status = 'due'",
                [db_time(now), *param],
            )
            cursor.execute(
                f"UPDATE {ACC} SET status = 'rejected', reason_code = r.reason, ended_at = %s "  # noqa: S608
                f"FROM {rejected} AS r WHERE {ACC}.id = r.id AND {ACC}.status = 'verified'",
                [db_time(now), *rparam],
            )
            # The participant's other due entitlements would fail the same way: held too.
            cursor.execute(
                f"UPDATE {E} SET status = 'held', hold_reason = r.reason, updated_at = %s "  # noqa: S608
                f"FROM (SELECT DISTINCT e.participant_id AS pid, h.reason AS reason FROM {E} e "
                f"JOIN {holds} AS h ON h.id = e.id) AS r "
                f"WHERE {E}.participant_id = r.pid AND {E}.status = 'due'",
                [db_time(now), *param],
            )
    if passing:
        ids = [row[3] for _, row in passing]
        Entitlement.objects.filter(pk__in=ids).update(
            failed_attempts=F("failed_attempts") + 1, updated_at=now
        )
        spent = Entitlement.objects.filter(
            pk__in=ids,
            status=EntitlementStatus.DUE,
            failed_attempts__gte=F("participant__scheme__transfer_max_attempts"),
        )
        spent.update(status=EntitlementStatus.HELD, hold_reason=HoldReason.ATTEMPTS_EXHAUSTED)


def runs_finish_if_done(run_ids: set[int]) -> None:
    """A run whose instructions all have an outcome is done. The run's row is locked first, so
    that of two transactions recording a run's last results at once, the second sees the first's
    (each alone would still see the other's instructions in flight)."""
    for run_id in sorted(run_ids):
        locked = (
            DisbursementRun.objects.select_for_update()
            .filter(pk=run_id, status=RunStatus.APPROVED)
            .exists()
        )
        if not locked:
            continue
        in_flight = TransferInstruction.objects.filter(
            batch__run_id=run_id, status__in=("ready", "sent", "accepted")
        ).exists()
        if not in_flight:
            DisbursementRun.objects.filter(pk=run_id, status=RunStatus.APPROVED).update(
                status=RunStatus.DONE, finished_at=clock.now()
            )
