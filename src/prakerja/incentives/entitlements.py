"""Entitlements: what a participant has earned and when it falls due (program.md §5).

A participant is entitled once three things hold: a completed training with its certificate, that
training's review, and a verified payment account. Then the scheme's monthly incentives are granted
at once (4 × Rp600.000 in 2020), due a month apart from that day; each submitted survey adds a
survey incentive (incentives/surveys.py). Granting moves each amount from the program budget to the
participant's incentive payable in the ledger, so what the program owes is always in the ledger.

Holds: an entitlement that cannot be paid is held with the reason the participant sees (an account
problem, a phone change, an exclusion list) and released when the cause is fixed.
"""

import calendar
import datetime
from collections.abc import Iterable

from django.db.models import Exists, OuterRef
from django.utils import timezone

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.incentives.models import (
    ACCOUNT_REASONS,
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
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


def months_after(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or that month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def today_wib() -> datetime.date:
    return timezone.localdate(timezone=WIB)


def participant_has_reviewed_completion(participant_id: int) -> bool:
    """A completed training with its certificate and its review (the first two conditions)."""
    return (
        Order.objects.filter(participant_id=participant_id, status=OrderStatus.COMPLETED)
        .exclude(certificate_number="")
        .filter(Exists(Review.objects.filter(order=OuterRef("pk"))))
        .exists()
    )


def participant_is_entitled(participant_id: int) -> bool:
    """A reviewed, completed training with a certificate, and a verified account."""
    verified = PaymentAccount.objects.filter(
        participant_id=participant_id, status=PaymentAccountStatus.VERIFIED
    )
    return participant_has_reviewed_completion(participant_id) and verified.exists()


def entitlements_grant(*, participant_id: int, actor: Actor) -> list[Entitlement]:
    """Grant the scheme's monthly incentives if the participant is entitled and has none yet
    (idempotent: the unique (participant, kind, sequence) stops a second grant). Runs in the
    caller's transaction, which has locked the participant or one of its rows."""
    participant = Participant.objects.select_related("scheme").get(pk=participant_id)
    if participant.status != ParticipantStatus.ACTIVE:
        return []
    if Entitlement.objects.filter(
        participant_id=participant_id, kind=EntitlementKind.INCENTIVE
    ).exists():
        return []
    if not participant_is_entitled(participant_id):
        return []
    scheme, first = participant.scheme, today_wib()
    granted = Entitlement.objects.bulk_create(
        [
            Entitlement(
                participant_id=participant_id,
                kind=EntitlementKind.INCENTIVE,
                sequence=month + 1,
                amount_idr=scheme.incentive_monthly_idr,
                due_on=months_after(first, month),
            )
            for month in range(scheme.incentive_months)
        ]
    )
    granted = list(
        Entitlement.objects.filter(
            participant_id=participant_id, kind=EntitlementKind.INCENTIVE
        ).order_by("sequence")
    )
    entitlements_accrue(granted, actor=actor)
    audit_record(
        actor=actor,
        event_type="entitlements.granted",
        subject=participant,
        details={
            "incentives": len(granted),
            "amount_idr": sum(e.amount_idr for e in granted),
            "first_due_on": first.isoformat(),
        },
    )
    return granted


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
    ).update(status=EntitlementStatus.HELD, hold_reason=reason, updated_at=timezone.now())


def entitlements_release(*, participant_ids: Iterable[int], reasons: Iterable[str]) -> int:
    """Release the participants' entitlements held for one of `reasons`: due again, with a fresh
    count of failed attempts."""
    return Entitlement.objects.filter(
        participant_id__in=list(participant_ids),
        status=EntitlementStatus.HELD,
        hold_reason__in=list(reasons),
    ).update(
        status=EntitlementStatus.DUE, hold_reason="", failed_attempts=0, updated_at=timezone.now()
    )


def entitlements_after_account_verified(*, participant_id: int) -> None:
    """A verified account fixes every account problem: release those holds, and grant the
    incentives if this was the last condition missing."""
    entitlements_release(participant_ids=[participant_id], reasons=ACCOUNT_REASONS)
    entitlements_grant(participant_id=participant_id, actor=Actor.system("entitlements"))


def entitlements_after_review(*, participant_id: int, actor: Actor) -> None:
    """A review may be the last condition missing (called in the review's transaction)."""
    entitlements_grant(participant_id=participant_id, actor=actor)
