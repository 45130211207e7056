"""Monthly settlement with each platform (issue 6, item 6; partner-api.md `GET /settlements/{yyyy-mm}`).

A platform is owed the price of every voucher redeemed on it. Redemption moved that price from the
platform's pending payable to its payable (orders.services); a month's statement adds up the orders
redeemed in that calendar month (WIB), and marking it paid moves the sum from the payable out of the
program (PAID_OUT), once. A month is prepared only after it has ended, so its lines can no longer
change: redemption times are never back-dated.
"""

import calendar
import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import Conflict, ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import account_get_or_create, transfer
from prakerja.orders.models import Order, Settlement, SettlementStatus
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import Partner

# The months a statement can be for, one pattern for the API's document, the console and the
# services: 2020-01 (before the program's first redemption, April 2020) to 2099-12. Years far
# outside (0001, 9999) cannot even be turned into the times a month spans.
PERIOD_PATTERN = r"^(20[2-9][0-9])-(0[1-9]|1[0-2])$"
_PERIOD = re.compile(PERIOD_PATTERN)


class SettlementPeriodOpen(Conflict):
    code = "SETTLEMENT_PERIOD_OPEN"
    message_id = "Bulan {period} belum berakhir; tagihannya disiapkan setelah bulan itu selesai."
    message_en = "The month {period} has not ended yet; its statement is prepared after it ends."


class SettlementAlreadyPaid(Conflict):
    code = "SETTLEMENT_ALREADY_PAID"
    message_id = "Tagihan ini sudah ditandai lunas."
    message_en = "This statement has already been marked paid."


@dataclass(frozen=True)
class Period:
    """A calendar month in WIB: `2020-05` runs from 1 May 00:00 to 1 June 00:00 WIB."""

    code: str
    starts: datetime.datetime
    ends: datetime.datetime

    @classmethod
    def parse(cls, code: str) -> "Period":
        found = _PERIOD.match(code)
        if found is None:
            raise ValidationFailed(
                details={
                    "period": "must be a month as yyyy-mm from 2020-01 to 2099-12, e.g. 2020-05"
                }
            )
        year, month = int(found[1]), int(found[2])
        days = calendar.monthrange(year, month)[1]
        starts = datetime.datetime(year, month, 1, tzinfo=WIB)
        return cls(code, starts, starts + datetime.timedelta(days=days))

    def ended(self, now: datetime.datetime) -> bool:
        return now >= self.ends


def settlement_orders(*, platform: Partner, period: Period) -> "QuerySet[Order]":
    """The platform's orders redeemed in the month, in redemption order (the statement's lines)."""
    return Order.objects.filter(
        platform=platform, redeemed_at__gte=period.starts, redeemed_at__lt=period.ends
    ).order_by("redeemed_at", "pk")


def settlement_totals(*, platform: Partner, period: Period) -> tuple[int, int]:
    """(orders, amount in rupiah) redeemed on the platform in the month."""
    totals = settlement_orders(platform=platform, period=period).aggregate(
        orders=Count("pk"), amount=Sum("price_idr")
    )
    return totals["orders"], totals["amount"] or 0


def settlement_prepare(
    *, platform: Partner, period: str, actor: Actor, now: datetime.datetime | None = None
) -> tuple[Settlement, bool]:
    """The platform's statement for an ended month; returns it and whether it is new (preparing a
    prepared month again returns the same statement and writes nothing)."""
    month = Period.parse(period)
    if not month.ended(now or clock.now()):
        raise SettlementPeriodOpen(details={"period": period}, period=period)
    existing = Settlement.objects.filter(platform=platform, period=period).first()
    if existing is not None:
        return existing, False
    orders, amount = settlement_totals(platform=platform, period=month)
    try:
        with transaction.atomic(durable=True):
            statement = Settlement.objects.create(
                platform=platform,
                period=period,
                order_count=orders,
                amount_idr=amount,
                prepared_by=actor.label,
            )
            audit_record(
                actor=actor,
                event_type="settlement.prepared",
                subject=statement,
                details={
                    "platform": platform.code,
                    "period": period,
                    "orders": orders,
                    "amount_idr": amount,
                },
            )
    except IntegrityError:  # prepared a moment ago by another call
        return Settlement.objects.get(platform=platform, period=period), False
    return statement, True


def _platforms_redeemed_in(month: Period) -> "QuerySet[Partner]":
    platform_ids = (
        Order.objects.filter(redeemed_at__gte=month.starts, redeemed_at__lt=month.ends)
        .values_list("platform_id", flat=True)
        .distinct()
    )
    return Partner.objects.filter(pk__in=list(platform_ids)).order_by("code")


def settlements_prepare_month(
    *, period: str, actor: Actor, now: datetime.datetime | None = None
) -> list[tuple[Settlement, bool]]:
    """Statements of every platform with a redemption in the ended month, each with whether it is
    new (the monthly job and the console)."""
    month = Period.parse(period)
    return [
        settlement_prepare(platform=platform, period=period, actor=actor, now=now)
        for platform in _platforms_redeemed_in(month)
    ]


def settlement_mark_paid(
    *, settlement: Settlement, payment_reference: str, actor: Actor
) -> Settlement:
    """Finance records that the statement was paid: the amount leaves the platform's payable for
    PAID_OUT in the ledger (key `settlement-paid:{id}`), once."""
    reference = payment_reference.strip()
    if not reference:
        raise ValidationFailed(details={"payment_reference": "required: the transfer's reference"})
    with transaction.atomic(durable=True):
        locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
        if locked.status == SettlementStatus.PAID:
            raise SettlementAlreadyPaid(details={"settlement_id": locked.pk})
        if locked.amount_idr > 0:
            payable = account_get_or_create(
                kind=AccountKind.PLATFORM_PAYABLE, owner_id=locked.platform_id
            )
            transfer(
                idempotency_key=f"settlement-paid:{locked.pk}",
                kind="settlement_paid",
                from_account_id=payable.pk,
                to_account_id=account_get_or_create(kind=AccountKind.PAID_OUT).pk,
                amount=locked.amount_idr,
                actor=actor,
                memo=f"settlement {locked.period} platform {locked.platform_id}",
            )
        locked.status = SettlementStatus.PAID
        locked.paid_at = clock.now()
        locked.paid_by = actor.label
        locked.payment_reference = reference[:100]
        locked.save(update_fields=["status", "paid_at", "paid_by", "payment_reference"])
        audit_record(
            actor=actor,
            event_type="settlement.paid",
            subject=locked,
            details={
                "amount_idr": locked.amount_idr,
                "payment_reference": locked.payment_reference,
            },
        )
    return locked


def settlement_statement(*, platform: Partner, period: str) -> dict[str, Any]:
    """The platform's view of a month (GET /settlements/{yyyy-mm}): `open` while the month runs
    (totals so far), then `prepared` or `paid` with the statement's totals; the lines either way."""
    month = Period.parse(period)
    statement = Settlement.objects.filter(platform=platform, period=period).first()
    if statement is None:
        orders, amount = settlement_totals(platform=platform, period=month)
        status, paid_at, reference = "open", None, ""
    else:
        orders, amount = statement.order_count, statement.amount_idr
        status, paid_at, reference = (
            statement.status,
            statement.paid_at,
            statement.payment_reference,
        )
    lines = [
        {
            "order_id": order_id,
            # Grouped, as every other answer and event spells a code (ABCD-EFGH-JKMN-P).
            "voucher_code": voucher_code_format(code),
            "training_external_id": training_external_id,
            "price_idr": price,
            # never None: the lines are the orders redeemed in the month
            "redeemed_at": redeemed_at.astimezone(WIB).isoformat() if redeemed_at else None,
        }
        for order_id, code, training_external_id, price, redeemed_at in settlement_orders(
            platform=platform, period=month
        ).values_list("pk", "voucher_code", "training__external_id", "price_idr", "redeemed_at")
    ]
    return {
        "period": period,
        "status": status,
        "orders": orders,
        "amount_idr": amount,
        "paid_at": paid_at.astimezone(WIB).isoformat() if paid_at else None,
        "payment_reference": reference,
        "lines": lines,
    }


def settlements_prepare_due(*, now: datetime.datetime | None = None) -> int:
    """The monthly job (run daily: idempotent): the statements of the month before this one (WIB).
    Returns how many were new."""
    today = (now or clock.now()).astimezone(WIB).date()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    prepared = settlements_prepare_month(
        period=last_month, actor=Actor.system("orders.settlements"), now=now
    )
    return sum(new for _, new in prepared)
