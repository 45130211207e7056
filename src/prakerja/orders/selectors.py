"""Reads of orders: what a participant sees of their trainings, what a platform sees of its orders
(GET /orders), and the status a voucher is reported with."""

import base64
import binascii
import datetime
import json
from dataclasses import dataclass

from django.db.models import Q

from prakerja.common import clock
from prakerja.common.errors import ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.partners.models import Partner

PAGE_SIZE = 100


def iso_wib(moment: datetime.datetime | None) -> str | None:
    """A time as the partner API writes it: ISO 8601 in WIB, to the second
    (``2020-04-22T17:36:00+07:00``)."""
    if moment is None:
        return None
    return moment.astimezone(WIB).replace(microsecond=0).isoformat()


def order_status_shown(order: Order, *, now: datetime.datetime | None = None) -> str:
    """The status a voucher is reported with: an issued voucher past its date is ``expired`` even
    before the daily job has recorded it (it can no longer be redeemed)."""
    now = now or clock.now()
    if order.status == OrderStatus.ISSUED and order.expires_at < now:
        return OrderStatus.EXPIRED
    return order.status


def participant_orders(participant_id: int) -> list[Order]:
    """A participant's orders, newest first, with their trainings and platforms."""
    return list(
        Order.objects.filter(participant_id=participant_id)
        .select_related("training", "training__institution", "platform", "review")
        .order_by("-issued_at", "-pk")
    )


def participant_open_training_ids(participant_id: int) -> set[int]:
    """The trainings the participant cannot buy again now: an order of each is still open."""
    return set(
        Order.objects.filter(
            participant_id=participant_id,
            status__in=[OrderStatus.ISSUED, OrderStatus.REDEEMED],
        ).values_list("training_id", flat=True)
    )


# --- GET /orders: a platform's orders by time of change ------------------------------------------


@dataclass(frozen=True)
class OrdersPage:
    items: list[Order]
    next_cursor: str | None


def cursor_encode(order: Order) -> str:
    """Opaque to the platform: where the next page starts, (updated_at, id) of the last item."""
    text = json.dumps([order.updated_at.astimezone(datetime.UTC).isoformat(), order.pk])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, order_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.datetime.fromisoformat(stamp)
        if moment.tzinfo is None or type(order_id) is not int or not 0 <= order_id < 2**63:
            raise ValueError(cursor)
        moment = moment.astimezone(datetime.UTC)
    except (ValueError, TypeError, binascii.Error, UnicodeError, OverflowError):
        raise ValidationFailed(details={"cursor": "CURSOR_INVALID"}) from None
    return moment, order_id


def platform_orders_page(
    *, platform: Partner, updated_since: datetime.datetime | None = None, cursor: str = ""
) -> OrdersPage:
    """The platform's own orders changed at or after `updated_since`, in the order of their last
    change (then id), a page of PAGE_SIZE after `cursor`. One indexed query."""
    orders = Order.objects.filter(platform=platform)
    if updated_since is not None:
        orders = orders.filter(updated_at__gte=updated_since)
    if cursor:
        moment, order_id = cursor_decode(cursor)
        orders = orders.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=order_id))
    rows = list(orders.select_related("training").order_by("updated_at", "pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    items = rows[:PAGE_SIZE]
    return OrdersPage(items=items, next_cursor=cursor_encode(items[-1]) if more else None)


def order_review(order: Order) -> Review | None:
    """The order's review, if the participant wrote one (read with participant_orders, no query)."""
    try:
        return order.review
    except Review.DoesNotExist:
        return None
