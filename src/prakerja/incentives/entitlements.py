"""Entitlements: what a participant has earned and when it falls due (program.md §5).

A participant is entitled once three things hold: a completed training with its certificate, that
training's review, and a verified payment account. Then the scheme's monthly incentives are granted
at once (4 × Rp600.000 in 2020), due a month apart from that day; each submitted survey adds a
survey incentive (incentives/surveys.py). Granting moves each amount from the program budget to the
participant's incentive payable in the ledger, so what the program owes is always in the ledger.

Holds: an entitlement that cannot be paid is held with the reason the participant sees (an account
problem, a phone change, an exclusion list) and released when the cause is fixed. A completion in
doubt (completed faster than the training, or reviewed with another account's text: orders'
flags) is granted and accrued but held (FAST_COMPLETION, REVIEW_FLAGGED) until the PMO has looked:
the program pays nothing on it meanwhile, and a new account does not release it.
"""

import calendar
import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import among, db_time, json_rows
from prakerja.incentives.models import (
    ACCOUNT_REASONS,
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
    HoldReason,
    PaymentAccount,
    PaymentAccountStatus,
)
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.waves.models import Participant, ParticipantStatus

GRANT_CHUNK = 1_000  # participants per statement set (and per transaction of the bulk grant)

_ENTITLEMENTS = Entitlement._meta.db_table
GRANTED_SUBJECT = Participant._meta.label_lower


def months_after(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or that month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def today_wib() -> datetime.date:
    return clock.today()


def participant_has_reviewed_completion(participant_id: int) -> bool:
    """A completed training with its certificate and its review (the first two conditions)."""
    return (
        Order.objects.filter(participant_id=participant_id, status=OrderStatus.COMPLETED)
        .exclude(certificate_number="")
        .filter(Exists(Review.objects.filter(order=OuterRef("pk"))))
        .exists()
    )


def entitlements_grant(*, participant_id: int, actor: Actor) -> list[Entitlement]:
    """Grant the scheme's monthly incentives if the participant is entitled and has none yet
    (idempotent: the unique (participant, kind, sequence) stops a second grant). Runs in the
    caller's transaction, which has locked the participant or one of its rows. The one-participant
    case of `entitlements_grant_bulk`, so the two cannot drift apart."""
    with transaction.atomic():
        if not _grant_chunk([participant_id], actor):
            return []
    return list(
        Entitlement.objects.filter(
            participant_id=participant_id, kind=EntitlementKind.INCENTIVE
        ).order_by("sequence")
    )


def entitlements_grant_bulk(*, participant_ids: Sequence[int], actor: Actor) -> int:
    """`entitlements_grant` for many participants, set-based per chunk of GRANT_CHUNK (one
    transaction each, or a savepoint inside the caller's): the same conditions, rows, ledger keys
    (`entitlement:{id}`) and one `entitlements.granted` audit event per participant. Returns how
    many participants were granted; a second call grants nothing."""
    wanted = sorted(set(participant_ids))
    granted = 0
    for start in range(0, len(wanted), GRANT_CHUNK):
        with transaction.atomic():
            granted += len(_grant_chunk(wanted[start : start + GRANT_CHUNK], actor))
    return granted


def _grant_chunk(participant_ids: list[int], actor: Actor) -> set[int]:
    """Grant to the entitled among the chunk in a constant number of statements; returns the
    participants granted here. The INSERT skips rows the unique constraint already holds, so a
    grant racing another one for the same participant (a review and an account check at once)
    leaves one grant and neither fails."""
    entitled = _entitled(participant_ids)
    if not entitled:
        return set()
    first, now = today_wib(), clock.now()
    rows = [
        [
            participant_id,
            month + 1,
            amount,
            months_after(first, month).isoformat(),
            EntitlementStatus.HELD if hold else EntitlementStatus.DUE,
            hold,
        ]
        for participant_id, months, amount, hold in entitled
        for month in range(months)
    ]
    table, param = json_rows(
        (
            ("participant_id", "bigint"),
            ("sequence", "integer"),
            ("amount_idr", "bigint"),
            ("due_on", "date"),
            ("status", "text"),
            ("hold_reason", "text"),
        ),
        rows,
    )
    stamp = db_time(now)
    with connection.cursor() as cursor:
        # `WHERE true`: SQLite reads an ON CONFLICT after INSERT … SELECT … FROM as a join's ON
        # unless the SELECT has a WHERE clause.
        cursor.execute(
            f"INSERT INTO {_ENTITLEMENTS} (participant_id, kind, sequence, amount_idr, due_on, "  # noqa: S608
            "status, hold_reason, failed_attempts, created_at, paid_at, updated_at) "
            "SELECT r.participant_id, %s, r.sequence, r.amount_idr, r.due_on, r.status, "
            f"r.hold_reason, 0, %s, NULL, %s FROM {table} AS r WHERE true "
            "ON CONFLICT (participant_id, kind, sequence) DO NOTHING "
            "RETURNING id, participant_id, sequence, amount_idr",
            [EntitlementKind.INCENTIVE, stamp, stamp, *param],
        )
        inserted = sorted(cursor.fetchall(), key=lambda row: (row[1], row[2]))
    if not inserted:
        return set()
    entitlements_accrue(
        [
            Entitlement(pk=pk, participant_id=owner, amount_idr=amount)
            for pk, owner, _, amount in inserted
        ],
        actor=actor,
    )
    granted: dict[int, list[int]] = {}
    for _, owner, _, amount in inserted:
        granted.setdefault(owner, []).append(amount)
    holds = {participant_id: hold for participant_id, _, _, hold in entitled}
    events: list[AuditNew] = []
    for participant_id, amounts in sorted(granted.items()):
        details: dict[str, Any] = {
            "incentives": len(amounts),
            "amount_idr": sum(amounts),
            "first_due_on": first.isoformat(),
        }
        if holds[participant_id]:
            details["hold_reason"] = holds[participant_id]
        events.append(
            AuditNew(actor, "entitlements.granted", GRANTED_SUBJECT, str(participant_id), details)
        )
    audit_record_many(occurred_at=now, events=events)
    return set(granted)


def _entitled(participant_ids: list[int]) -> list[tuple[int, int, int, str]]:
    """(participant, incentive months, monthly amount, hold reason or "") of the chunk's
    participants who are active, have no incentive yet, a reviewed completion with its
    certificate and a verified account: one statement. The hold is a completion in doubt
    (FAST_COMPLETION before REVIEW_FLAGGED): granted and accrued, but not paid until the PMO has
    looked."""
    reviewed = _reviewed_completions()
    rows = (
        Participant.objects.filter(pk__in=among(participant_ids), status=ParticipantStatus.ACTIVE)
        .filter(Exists(reviewed))
        .filter(
            Exists(
                PaymentAccount.objects.filter(
                    participant_id=OuterRef("pk"), status=PaymentAccountStatus.VERIFIED
                )
            )
        )
        .exclude(
            Exists(
                Entitlement.objects.filter(
                    participant_id=OuterRef("pk"), kind=EntitlementKind.INCENTIVE
                )
            )
        )
        .annotate(
            fast=Exists(reviewed.filter(flag_fast_completion=True)),
            identical=Exists(
                Review.objects.filter(participant_id=OuterRef("pk"), flag_identical_text=True)
            ),
        )
        .order_by("pk")
        .values_list(
            "pk", "scheme__incentive_months", "scheme__incentive_monthly_idr", "fast", "identical"
        )
    )
    return [
        (pk, months, amount, _doubt(fast, identical))
        for pk, months, amount, fast, identical in rows
    ]


def _reviewed_completions() -> QuerySet[Order]:
    """The participant's (OuterRef "pk") completed orders with a certificate and a review."""
    return (
        Order.objects.filter(participant_id=OuterRef("pk"), status=OrderStatus.COMPLETED)
        .exclude(certificate_number="")
        .filter(Exists(Review.objects.filter(order=OuterRef("pk"))))
    )


def _doubt(fast: bool, identical: bool) -> str:
    if fast:
        return HoldReason.FAST_COMPLETION
    if identical:
        return HoldReason.REVIEW_FLAGGED
    return ""


def entitlements_accrue(entitlements: Iterable[Entitlement], *, actor: Actor) -> None:
    """Budget → the participant's incentive payable, one ledger transaction per entitlement
    (key `entitlement:{id}`: accrued once however often this runs)."""
    entitlements = list(entitlements)
    if not entitlements:
        return
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    payables = accounts_ensure(
        kind=AccountKind.INCENTIVE_PAYABLE, owner_ids={e.participant_id for e in entitlements}
    )
    transactions_post_bulk(
        kind="incentive_accrue",
        postings=[
            Posting(
                f"entitlement:{e.pk}",
                ((budget, -e.amount_idr), (payables[e.participant_id], e.amount_idr)),
            )
            for e in entitlements
        ],
        actor=actor,
        memo=f"{len(entitlements)} entitlements accrued",
    )


def entitlements_hold(*, participant_ids: Iterable[int], reason: str) -> int:
    """Hold the participants' unpaid, due entitlements with `reason` (set-based)."""
    return Entitlement.objects.filter(
        participant_id__in=list(participant_ids), status=EntitlementStatus.DUE
    ).update(status=EntitlementStatus.HELD, hold_reason=reason, updated_at=clock.now())


def entitlements_release(*, participant_ids: Iterable[int], reasons: Iterable[str]) -> int:
    """Release the participants' entitlements held for one of `reasons`: due again, with a fresh
    count of failed attempts."""
    return Entitlement.objects.filter(
        participant_id__in=list(participant_ids),
        status=EntitlementStatus.HELD,
        hold_reason__in=list(reasons),
    ).update(
        status=EntitlementStatus.DUE, hold_reason="", failed_attempts=0, updated_at=clock.now()
    )


def entitlements_after_account_verified(*, participant_id: int) -> None:
    """The one-participant case of `entitlements_after_accounts_verified`."""
    entitlements_after_accounts_verified(participant_ids=[participant_id])


def entitlements_after_accounts_verified(*, participant_ids: Sequence[int]) -> int:
    """Verified accounts fix every account problem of their participants: the account holds
    released, then the incentives granted to those for whom this was the last condition.
    Returns how many were granted."""
    if not participant_ids:
        return 0
    entitlements_release(participant_ids=participant_ids, reasons=ACCOUNT_REASONS)
    return entitlements_grant_bulk(
        participant_ids=participant_ids, actor=Actor.system("entitlements")
    )


def entitlements_after_review(*, participant_id: int, actor: Actor) -> None:
    """A review may be the last condition missing (called in the review's transaction)."""
    entitlements_grant(participant_id=participant_id, actor=actor)
