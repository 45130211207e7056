"""Vouchers on the platform that sold them: its view of a voucher, and redemption — once, by that
platform: the price moves from its pending payable to its payable (`order-redeem:{order}`).
`vouchers_redeem_bulk` decides and writes a chunk of one platform's redemptions in a few
statements; `voucher_redeem`, the partner API's call, is its one-item call. The refusal ladder is
orders/rules.py `redeem_refusal`; a refusal changes nothing."""

from collections.abc import Callable, Sequence

from django.db import connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import among, db_time, json_rows
from prakerja.common.errors import ApplicationError
from prakerja.common.refusals import Refused
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import Posting, account_get_or_create, transactions_post_bulk
from prakerja.orders.chunks import (
    BulkOutcome,
    all_changed,
    check_size,
    platform_only,
    raise_refusal,
)
from prakerja.orders.errors import VoucherNotFound
from prakerja.orders.models import Order, OrderStatus
from prakerja.orders.rules import PLATFORM_USER_REF_MAX, redeem_refusal, text_checked
from prakerja.orders.vouchers import voucher_code_parse
from prakerja.partners.models import Partner

ORDERS = Order._meta.db_table
ORDER_SUBJECT = Order._meta.label_lower

# The ledger memo of a call's redemptions, from the platform and the order ids.
Memo = Callable[[Partner, list[int]], str]


def _chunk_memo(platform: Partner, order_ids: list[int]) -> str:
    return f"Orders redeemed on {platform.code}"


def _one_memo(platform: Partner, order_ids: list[int]) -> str:
    return f"Order {order_ids[0]} redeemed"


def voucher_status(*, platform: Partner, voucher_code: str) -> Order:
    """The platform's voucher of that code. Another platform's voucher is VOUCHER_NOT_FOUND here (a
    partner sees only its own data); a malformed code too, decided without reading the database."""
    platform_only(platform)
    code = voucher_code_parse(voucher_code)
    order = (
        Order.objects.select_related("training")
        .filter(voucher_code=code, platform=platform)
        .first()
    )
    if order is None:
        raise VoucherNotFound()
    return order


def voucher_redeem(
    *, platform: Partner, voucher_code: str, platform_user_ref: str, actor: Actor
) -> Order:
    """The platform that sold the voucher redeems it: `vouchers_redeem_bulk` of one item, raising
    its refusal (VOUCHER_NOT_FOUND, also for a malformed code, VALIDATION_FAILED,
    VOUCHER_OTHER_PLATFORM, VOUCHER_ALREADY_REDEEMED, VOUCHER_CANCELLED, VOUCHER_EXPIRED)."""
    platform_only(platform)
    result = _redeem(platform, ((voucher_code, platform_user_ref),), actor, _one_memo)
    raise_refusal(result.refused)
    return Order.objects.select_related("training").get(pk=result.done[0])


def vouchers_redeem_bulk(
    *, platform: Partner, items: Sequence[tuple[str, str]], actor: Actor
) -> BulkOutcome:
    """Redeem a chunk of (voucher code, platform user ref) of one platform: each item redeemed or
    refused after the chunk's earlier items — VOUCHER_NOT_FOUND (also a malformed code),
    VALIDATION_FAILED (platform_user_ref), then orders/rules.py `redeem_refusal`
    (VOUCHER_ALREADY_REDEEMED also for the same voucher earlier in the chunk). One transaction: the
    orders in one UPDATE, the prices from the platform's pending payable to its payable."""
    platform_only(platform)
    check_size(items)
    return _redeem(platform, items, actor, _chunk_memo)


def _redeem(
    platform: Partner, items: Sequence[tuple[str, str]], actor: Actor, memo: Memo
) -> BulkOutcome:
    now = clock.now()
    refused: list[Refused] = []
    wanted: dict[int, tuple[str, str]] = {}  # index -> (code, ref) that passed the input checks
    for index, (voucher_code, platform_user_ref) in enumerate(items):
        try:
            code = voucher_code_parse(voucher_code)
            ref = text_checked(platform_user_ref, "platform_user_ref", PLATFORM_USER_REF_MAX)
        except ApplicationError as error:
            refused.append(Refused(index, error))
            continue
        wanted[index] = (code, ref)
    if not wanted:
        return BulkOutcome(refused=refused)
    with transaction.atomic():
        found = {
            row[1]: row
            for row in Order.objects.select_for_update()
            .filter(voucher_code__in=among(sorted({code for code, _ in wanted.values()}), "text"))
            .order_by("pk")
            .values_list("pk", "voucher_code", "platform_id", "status", "expires_at", "price_idr")
        }
        status = {row[0]: row[3] for row in found.values()}
        done: dict[int, int] = {}
        accepted: list[tuple[int, str, int]] = []  # order id, ref, price
        for index, (code, ref) in wanted.items():
            row = found.get(code)
            if row is None:
                refused.append(Refused(index, VoucherNotFound()))
                continue
            pk, _, platform_id, _, expires_at, price = row
            refusal = redeem_refusal(
                order_id=pk,
                status=status[pk],
                platform_id=platform_id,
                expires_at=expires_at,
                redeemer_id=platform.pk,
                now=now,
            )
            if refusal is not None:
                refused.append(Refused(index, refusal))
                continue
            status[pk] = OrderStatus.REDEEMED
            done[index] = pk
            accepted.append((pk, ref, price))
        refused.sort(key=lambda item: item.index)
        if not accepted:
            return BulkOutcome(refused=refused)

        rows, param = json_rows(
            (("id", "bigint"), ("ref", "text")), [[pk, ref] for pk, ref, _ in accepted]
        )
        stamp = db_time(now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ORDERS} SET status = %s, updated_at = %s, redeemed_at = %s, "  # noqa: S608
                f"platform_user_ref = r.ref FROM {rows} AS r "
                f"WHERE {ORDERS}.id = r.id",
                [OrderStatus.REDEEMED, stamp, stamp, *param],
            )
            all_changed(cursor.rowcount, len(accepted))
        audit_record_many(
            occurred_at=now,
            events=[
                AuditNew(
                    actor,
                    "order.redeemed",
                    ORDER_SUBJECT,
                    str(pk),
                    {"from": OrderStatus.ISSUED, "price_idr": price, "platform_user_ref": ref},
                )
                for pk, ref, price in accepted
            ],
        )
        pending = account_get_or_create(kind=AccountKind.PLATFORM_PENDING, owner_id=platform.pk)
        payable = account_get_or_create(kind=AccountKind.PLATFORM_PAYABLE, owner_id=platform.pk)
        transactions_post_bulk(
            kind="order_redeem",
            postings=[
                Posting(f"order-redeem:{pk}", ((pending.pk, -price), (payable.pk, price)))
                for pk, _, price in accepted
            ],
            actor=actor,
            memo=memo(platform, [pk for pk, _, _ in accepted]),
        )
    return BulkOutcome(done=done, refused=refused)
