"""The dashboards' figures counted live from the records (the exact counts the daily facts must
equal), each at the facts' grain: a dict from the fact's key to its count (and rupiah). The pages
read the facts (figures.py) through the same shapes; tests compare the two after a simulated
program. These are grouped queries over every record: right for checks, too slow for a page."""

import datetime
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Substr, TruncDate

from prakerja.common.timeutil import WIB
from prakerja.dashboards.facts import (
    TRANSFER_KEY_PREFIX,
    TRANSFER_KIND,
    survey_question_codes,
)
from prakerja.incentives.models import (
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
    SurveyResponse,
    TransferInstruction,
)
from prakerja.ledger.models import Leg
from prakerja.orders.models import Order, OrderStatus
from prakerja.registration.selectors import funnel_by_day_and_province
from prakerja.waves.models import Participant, ParticipantStatus

FunnelKey = tuple[datetime.date, str, str]  # day, province, stage
WaveKey = tuple[datetime.date, int, str, str]  # day, wave number, province, measure
MoneyKey = tuple[datetime.date, str]  # day, measure
DisbursementKey = tuple[datetime.date, int, str, str]  # run date, institution, status, reason
SurveyKey = tuple[datetime.date, int, str, str]  # day, survey number, question, answer
CountAmount = tuple[int, int]


def _in_range(day: datetime.date, start: datetime.date | None, end: datetime.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def funnel_live(
    *, start: datetime.date | None = None, end: datetime.date | None = None, province: str = ""
) -> dict[FunnelKey, int]:
    return {
        (row.day, row.province_code, row.stage): row.count
        for row in funnel_by_day_and_province(start=start, end=end)
        if not province or row.province_code == province
    }


def _first(model: Any, **conditions: Any) -> Subquery:
    field = "completed_at" if model is Order else "paid_at"
    return Subquery(
        model.objects.filter(participant_id=OuterRef("pk"), **conditions)
        .exclude(**{f"{field}__isnull": True})
        .order_by(field)
        .values(field)[:1]
    )


def waves_live(
    *, start: datetime.date | None = None, end: datetime.date | None = None, province: str = ""
) -> dict[WaveKey, int]:
    base: QuerySet[Participant] = Participant.objects.all()
    if province:
        base = base.filter(registrant__province_code=province)
    milestones: dict[str, tuple[QuerySet[Participant], str]] = {
        "participants": (base, "selected_at"),
        "buyers": (base.filter(first_purchase_at__isnull=False), "first_purchase_at"),
        "revoked": (
            base.filter(status=ParticipantStatus.REVOKED, revoked_at__isnull=False),
            "revoked_at",
        ),
        "completers": (
            base.annotate(first=_first(Order, status=OrderStatus.COMPLETED)).filter(
                first__isnull=False
            ),
            "first",
        ),
        "incentive_recipients": (
            base.annotate(
                first=_first(
                    Entitlement, kind=EntitlementKind.INCENTIVE, status=EntitlementStatus.PAID
                )
            ).filter(first__isnull=False),
            "first",
        ),
    }
    figures: dict[WaveKey, int] = {}
    for measure, (query, field) in milestones.items():
        rows = (
            query.annotate(day=TruncDate(field, tzinfo=WIB))
            .order_by()
            .values("day", "wave__number", "registrant__province_code")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            if _in_range(row["day"], start, end):
                key = (row["day"], row["wave__number"], row["registrant__province_code"], measure)
                figures[key] = row["n"]
    return figures


def money_live(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> dict[MoneyKey, CountAmount]:
    entitlement_kind = Subquery(
        TransferInstruction.objects.filter(
            instruction_id=Substr(
                OuterRef("transaction__idempotency_key"), len(TRANSFER_KEY_PREFIX) + 1
            )
        ).values("entitlement__kind")[:1]
    )
    rows = (
        Leg.objects.filter(amount__gt=0)
        .annotate(
            day=TruncDate("transaction__created_at", tzinfo=WIB), entitlement_kind=entitlement_kind
        )
        .order_by()
        .values("day", "transaction__kind", "entitlement_kind")
        .annotate(n=Count("transaction", distinct=True), amount=Sum("amount"))
    )
    figures: dict[MoneyKey, CountAmount] = {}
    for row in rows:
        if not _in_range(row["day"], start, end):
            continue
        measure = row["transaction__kind"]
        if measure == TRANSFER_KIND:
            measure = f"{measure}:{row['entitlement_kind'] or 'unknown'}"
        count, amount = figures.get((row["day"], measure), (0, 0))
        figures[(row["day"], measure)] = (count + row["n"], amount + row["amount"])
    return figures


def disbursement_live(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> dict[DisbursementKey, CountAmount]:
    query = TransferInstruction.objects.all()
    if start is not None:
        query = query.filter(batch__run__run_date__gte=start)
    if end is not None:
        query = query.filter(batch__run__run_date__lte=end)
    rows = (
        query.order_by()
        .values("batch__run__run_date", "institution_id", "status", "reason_code")
        .annotate(n=Count("pk"), amount=Sum("amount_idr"))
    )
    return {
        (
            row["batch__run__run_date"],
            row["institution_id"],
            row["status"],
            row["reason_code"],
        ): (row["n"], row["amount"])
        for row in rows
    }


def surveys_live(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> dict[SurveyKey, int]:
    figures: dict[SurveyKey, int] = {}
    for code in survey_question_codes():
        rows = (
            SurveyResponse.objects.annotate(
                day=TruncDate("submitted_at", tzinfo=WIB), answer=KT(f"answers__{code}")
            )
            .filter(~Q(answer=None))
            .order_by()
            .values("day", "sequence", "answer")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            if _in_range(row["day"], start, end):
                figures[(row["day"], row["sequence"], code, row["answer"])] = row["n"]
    return figures
