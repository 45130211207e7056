"""Completion: the platform reports a redeemed order completed, with the final score and the
certificate. `orders_complete_bulk` decides and writes a chunk of one platform's completions in a
few statements; `order_complete`, the partner API's call, is its one-item call. What is refused
and what is flagged is orders/rules.py `completion_decided`; a refusal changes nothing."""

import datetime
from collections.abc import Sequence

from django.db import connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import among, db_time, json_rows
from prakerja.common.refusals import Refused
from prakerja.orders.chunks import (
    BulkOutcome,
    all_changed,
    check_size,
    platform_only,
    raise_refusal,
)
from prakerja.orders.models import Order, OrderStatus
from prakerja.orders.rules import Completed, completion_decided
from prakerja.partners.models import Partner

ORDERS = Order._meta.db_table
ORDER_SUBJECT = Order._meta.label_lower

Completion = tuple[
    int, datetime.datetime, int, str, str
]  # order id, completed_at, score, number, URL


def order_complete(
    *,
    platform: Partner,
    order_id: int,
    completed_at: datetime.datetime,
    final_score: int,
    certificate_number: str,
    certificate_url: str,
    actor: Actor,
) -> Order:
    """`orders_complete_bulk` of one item, raising its refusal: ORDER_NOT_FOUND, ORDER_NOT_REDEEMED
    (not redeemed yet, or expired), ORDER_ALREADY_COMPLETED (a second completion, even an identical
    one, under another X-EXTERNAL-ID), VALIDATION_FAILED naming the fields, TIME_OUT_OF_RANGE. A
    completion sooner after redemption than the training's duration is accepted and flagged."""
    platform_only(platform)
    item = (order_id, completed_at, final_score, certificate_number, certificate_url)
    result = _complete(platform, (item,), actor)
    raise_refusal(result.refused)
    return Order.objects.select_related("training").get(pk=result.done[0])


def orders_complete_bulk(
    *, platform: Partner, items: Sequence[Completion], actor: Actor
) -> BulkOutcome:
    """Complete a chunk of (order id, completed_at, final score, certificate number, certificate
    URL) of one platform: each item completed or refused after the chunk's earlier items
    (ORDER_ALREADY_COMPLETED also for the same order earlier in the chunk; another platform's
    order is ORDER_NOT_FOUND). One transaction: the orders in one UPDATE, one audit event each."""
    platform_only(platform)
    check_size(items)
    if not items:
        return BulkOutcome()
    return _complete(platform, items, actor)


def _complete(platform: Partner, items: Sequence[Completion], actor: Actor) -> BulkOutcome:
    now = clock.now()
    with transaction.atomic():
        found = {
            row[0]: row
            # By primary key alone (with the platform in the condition the planner may scan all
            # of the platform's orders); another platform's order is refused below.
            for row in Order.objects.select_for_update(of=("self",))
            .filter(pk__in=among(sorted({item[0] for item in items}), "bigint"))
            .order_by("pk")
            .values_list("pk", "status", "redeemed_at", "training__duration_hours", "platform_id")
            if row[4] == platform.pk
        }
        status = {pk: row[1] for pk, row in found.items()}
        done: dict[int, int] = {}
        refused: list[Refused] = []
        accepted: list[Completed] = []
        for index, (order_id, completed_at, final_score, number, url) in enumerate(items):
            row = found.get(order_id)
            outcome = completion_decided(
                order_id=order_id,
                status=status.get(order_id),
                redeemed_at=row[2] if row else None,
                duration_hours=row[3] if row else 0,
                completed_at=completed_at,
                final_score=final_score,
                certificate_number=number,
                certificate_url=url,
                now=now,
            )
            if not isinstance(outcome, Completed):
                refused.append(Refused(index, outcome))
                continue
            status[order_id] = OrderStatus.COMPLETED
            done[index] = order_id
            accepted.append(outcome)
        if not accepted:
            return BulkOutcome(refused=refused)

        rows, param = json_rows(
            (
                ("id", "bigint"),
                ("completed_at", "timestamptz"),
                ("final_score", "integer"),
                ("number", "text"),
                ("url", "text"),
                ("fast", "boolean"),
            ),
            [
                [
                    c.order_id,
                    db_time(c.completed_at),
                    c.final_score,
                    c.certificate_number,
                    c.certificate_url,
                    c.fast,
                ]
                for c in accepted
            ],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ORDERS} SET status = %s, updated_at = %s, "  # noqa: S608
                "completed_at = r.completed_at, percent = 100, final_score = r.final_score, "
                "certificate_number = r.number, certificate_url = r.url, "
                f"flag_fast_completion = r.fast FROM {rows} AS r "
                f"WHERE {ORDERS}.id = r.id",
                [OrderStatus.COMPLETED, db_time(now), *param],
            )
            all_changed(cursor.rowcount, len(accepted))
        audit_record_many(
            occurred_at=now,
            events=[
                AuditNew(actor, "order.completed", ORDER_SUBJECT, str(c.order_id), c.details)
                for c in accepted
            ],
        )
    return BulkOutcome(done=done, refused=refused)
