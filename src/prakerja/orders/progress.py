"""The platform's progress reports on a redeemed order. There is no set-based twin: the checks it
shares with completion (which orders a platform may report on, the inputs, reported times) are
orders/rules.py's."""

import datetime

from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.orders.chunks import platform_only
from prakerja.orders.models import Order
from prakerja.orders.rules import (
    progress_backwards,
    progress_inputs_refusal,
    report_refusal,
    reported_time_refusal,
)
from prakerja.partners.models import Partner


def order_progress_report(
    *,
    platform: Partner,
    order_id: int,
    percent: int,
    sessions_attended: int,
    reported_at: datetime.datetime,
    actor: Actor,
) -> Order:
    """The platform reports a redeemed order's progress. Progress never goes backwards: a lower
    percent or fewer sessions than recorded is PROGRESS_BACKWARDS and changes nothing; the same
    values again are accepted and change nothing. Other refusals: VALIDATION_FAILED for a percent
    outside 0–100, a negative count or a time without an offset, ORDER_NOT_FOUND (also another
    platform's order), ORDER_ALREADY_COMPLETED, ORDER_NOT_REDEEMED, and TIME_OUT_OF_RANGE for a
    report time before the redemption second or more than five minutes ahead."""
    platform_only(platform)
    now = clock.now()
    invalid = progress_inputs_refusal(percent, sessions_attended, reported_at)
    if invalid is not None:
        raise invalid
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("training")
            .filter(pk=order_id, platform=platform)
            .first()
        )
        refusal = report_refusal(order_id, order.status if order is not None else None)
        if refusal is not None:
            raise refusal
        assert order is not None and order.redeemed_at is not None
        out_of_range = reported_time_refusal(
            "reported_at", reported_at, now=now, redeemed_at=order.redeemed_at
        )
        if out_of_range is not None:
            raise out_of_range
        backwards = progress_backwards(
            percent,
            sessions_attended,
            recorded_percent=order.percent,
            recorded_sessions=order.sessions_attended,
        )
        if backwards is not None:
            raise backwards
        if percent == order.percent and sessions_attended == order.sessions_attended:
            return order
        before = (order.percent, order.sessions_attended)
        order.percent = percent
        order.sessions_attended = sessions_attended
        order.progress_reported_at = reported_at
        order.updated_at = now
        order.save(
            update_fields=["percent", "sessions_attended", "progress_reported_at", "updated_at"]
        )
        audit_record(
            actor=actor,
            event_type="order.progress_reported",
            subject=order,
            details={
                "percent": [before[0], percent],
                "sessions_attended": [before[1], sessions_attended],
                "reported_at": reported_at.isoformat(),
            },
        )
    return order
