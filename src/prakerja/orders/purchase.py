"""Purchases: an order with a voucher, the price moved from the participant's training balance to
the platform's pending payable (`order-purchase:{order}`), `voucher.issued` sent to the platform,
one audit event per order. `orders_purchase_bulk` decides and writes a chunk in a few statements
(batch work: the national simulation, Celery chunks); `order_purchase`, the participant's purchase
in the portal, is its one-item call. The refusal ladder is orders/rules.py `purchase_refusal`.

Rows are locked in one order everywhere — participants (by id), then orders, then trainings (by id),
then ledger balances (the ledger locks those in account-id order) — so that purchases, redemptions,
the daily jobs and the revocation job (which locks participants, then balances) never wait on each
other in a circle. The rows many purchases share come last, so they are held the shortest time.

A chunk is one transaction; a refused item does not refuse the chunk and changes nothing.
Re-running a chunk changes nothing: its purchases find their orders open (ORDER_ALREADY_OPEN) and
the ledger skips keys already posted. A participant id that does not exist is refused as NOT_FOUND.
"""

import datetime
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.catalog.holds import trainings_hold_active
from prakerja.catalog.models import Training
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, id_list, json_rows
from prakerja.common.refusals import Refused
from prakerja.ledger.models import Account, AccountKind, Balance
from prakerja.ledger.services import Posting, accounts_ensure, transactions_post_bulk
from prakerja.orders.chunks import check_size, raise_refusal
from prakerja.orders.models import OPEN_STATUSES, Order, OrderStatus
from prakerja.orders.pseudonyms import participant_refs
from prakerja.orders.rules import Buyer, OnSale, purchase_refusal, voucher_expiry
from prakerja.orders.selectors import iso_wib
from prakerja.orders.vouchers import voucher_code_format, voucher_code_new
from prakerja.partners.outbox import events_publish_many
from prakerja.waves.models import Participant, ProgramScheme

logger = logging.getLogger(__name__)

CODE_ATTEMPTS = 5  # fresh voucher codes tried when an insert collides with an existing code
RETRIES = 3  # a chunk is redone when a training left the catalog between its read and its lock

ORDERS = Order._meta.db_table
ORDER_SUBJECT = Order._meta.label_lower


class Purchased(NamedTuple):
    order_id: int
    participant_id: int
    training_id: int
    platform_id: int
    price_idr: int
    voucher_code: str  # as stored; voucher_code_format() shows it to people
    expires_at: datetime.datetime


@dataclass(frozen=True)
class BulkPurchase:
    orders: dict[int, Purchased] = field(default_factory=dict)  # item position -> its order
    refused: list[Refused] = field(default_factory=list)


# The ledger memo of a call's purchases, from its orders and the trainings read.
Memo = Callable[[list[Purchased], dict[int, OnSale]], str]


def _chunk_memo(orders: list[Purchased], trainings: dict[int, OnSale]) -> str:
    return f"Orders {orders[0].order_id} to {orders[-1].order_id} purchased"


def _one_memo(orders: list[Purchased], trainings: dict[int, OnSale]) -> str:
    (order,) = orders
    return f"Order {order.order_id}: {trainings[order.training_id].title}"[:200]


class _TrainingChanged(Exception):
    """A training of the chunk left the catalog after it was read: the chunk is redone."""


def order_purchase(*, participant: Participant, training: Training, actor: Actor) -> Order:
    """Buy one training for the participant: `orders_purchase_bulk` of one item, raising its
    refusal (PARTICIPANT_NOT_ACTIVE, PURCHASE_WINDOW_OVER, BALANCE_EXPIRED, TRAINING_NOT_AVAILABLE,
    ORDER_ALREADY_OPEN, INSUFFICIENT_BALANCE). A refusal changes nothing."""
    result = _purchase(((participant.pk, training.pk),), actor, _one_memo, durable=True)
    raise_refusal(result.refused)
    return Order.objects.select_related("training", "participant").get(pk=result.orders[0].order_id)


def orders_purchase_bulk(*, purchases: Sequence[tuple[int, int]], actor: Actor) -> BulkPurchase:
    """Buy a chunk of (participant id, training id) pairs, in order: each item bought or refused
    (orders/rules.py `purchase_refusal`) after the chunk's earlier items — ORDER_ALREADY_OPEN also
    for the same pair earlier in the chunk, INSUFFICIENT_BALANCE counting what the earlier items
    spent. One transaction (a savepoint inside the caller's; the participant's purchase, its
    one-item call, is durable): the accepted orders in one INSERT, their ledger transactions
    through `transactions_post_bulk`, first purchases, the trainings held, `voucher.issued` events
    and audit events each in one statement."""
    check_size(purchases)
    if not purchases:
        return BulkPurchase()
    return _purchase(purchases, actor, _chunk_memo, durable=False)


def _purchase(
    purchases: Sequence[tuple[int, int]], actor: Actor, memo: Memo, *, durable: bool
) -> BulkPurchase:
    for attempt in range(1, RETRIES + 1):
        try:
            with transaction.atomic(durable=durable):
                return _purchase_chunk(list(purchases), actor, memo)
        except _TrainingChanged:
            if attempt == RETRIES:
                raise RuntimeError("trainings kept leaving the catalog during the chunk") from None
            logger.info("a training of the chunk changed status meanwhile: redoing the chunk")
    raise AssertionError("unreachable")


def _buyers(participant_ids: list[int]) -> dict[int, Buyer]:
    """The participants locked (first, by id: the revocation job and every purchase do so), with
    their training balances."""
    rows = list(
        Participant.objects.select_for_update()
        .filter(pk__in=participant_ids)
        .order_by("pk")
        .values_list("pk", "status", "first_purchase_at", "purchase_deadline", "scheme_id")
    )
    schemes = ProgramScheme.objects.in_bulk({row[4] for row in rows})
    # Accounts, then their balances, each by its index (joined in one statement, PostgreSQL would
    # rather scan every balance).
    accounts = dict(
        Account.objects.filter(
            kind=AccountKind.TRAINING_BALANCE, owner_id__in=participant_ids
        ).values_list("pk", "owner_id")
    )
    balances = {
        accounts[account]: (account, amount)
        for account, amount in Balance.objects.filter(account_id__in=sorted(accounts)).values_list(
            "account_id", "amount"
        )
    }
    return {
        pk: Buyer(
            status=status,
            first_purchase_at=first,
            purchase_deadline=deadline,
            scheme=schemes[scheme_id],
            account_id=balances.get(pk, (None, 0))[0],
            balance=balances.get(pk, (None, 0))[1],
        )
        for pk, status, first, deadline, scheme_id in rows
    }


def _purchase_chunk(purchases: list[tuple[int, int]], actor: Actor, memo: Memo) -> BulkPurchase:
    now = clock.now()
    participant_ids = sorted({participant_id for participant_id, _ in purchases})
    buyers = _buyers(participant_ids)
    trainings = _trainings_read(sorted({training_id for _, training_id in purchases}))
    open_pairs = _open_pairs(participant_ids)

    accepted: list[tuple[int, int, int, int, int, datetime.datetime]] = []  # index, p, t, ...
    expiries: dict[int, datetime.datetime] = {}  # voucher validity in days -> expiry
    refused: list[Refused] = []
    for index, (participant_id, training_id) in enumerate(purchases):
        buyer = buyers.get(participant_id)
        training = trainings.get(training_id)
        error = purchase_refusal(
            buyer,
            participant_id,
            training_id,
            training,
            (participant_id, training_id) in open_pairs,
            now,
        )
        if error is not None:
            refused.append(Refused(index, error))
            continue
        assert buyer is not None and training is not None
        buyer.balance -= training.price_idr
        if buyer.first_purchase_at is None:
            buyer.first_purchase_at = now
        open_pairs.add((participant_id, training_id))
        days = buyer.scheme.voucher_valid_days
        if days not in expiries:
            expiries[days] = voucher_expiry(now, days)
        accepted.append(
            (
                index,
                participant_id,
                training_id,
                training.platform_id,
                training.price_idr,
                expiries[days],
            )
        )
    if not accepted:
        return BulkPurchase(refused=refused)

    inserted = _orders_insert(accepted, now)
    orders = {
        index: Purchased(inserted[index][0], pid, tid, platform_id, price, inserted[index][1], exp)
        for index, pid, tid, platform_id, price, exp in accepted
    }
    bought = list(orders.values())
    Participant.objects.filter(
        pk__in=sorted({order.participant_id for order in bought}),
        first_purchase_at__isnull=True,
    ).update(first_purchase_at=now)
    _announce(bought, trainings, now, actor)
    # The rows many purchases share come last: the trainings (locked in id order and re-checked:
    # a training suspended meanwhile is not sold), then the ledger.
    _trainings_hold({order.training_id for order in bought})
    pending = accounts_ensure(
        kind=AccountKind.PLATFORM_PENDING, owner_ids={order.platform_id for order in bought}
    )
    postings = []
    for order in bought:
        account = buyers[order.participant_id].account_id
        assert account is not None  # a participant without a balance account was refused
        postings.append(
            Posting(
                f"order-purchase:{order.order_id}",
                ((account, -order.price_idr), (pending[order.platform_id], order.price_idr)),
            )
        )
    transactions_post_bulk(
        kind="order_purchase", postings=postings, actor=actor, memo=memo(bought, trainings)
    )
    return BulkPurchase(orders=orders, refused=refused)


def _announce(
    bought: list[Purchased], trainings: dict[int, OnSale], now: datetime.datetime, actor: Actor
) -> None:
    """`voucher.issued` to each platform and `order.purchased` in the audit trail."""
    ref = participant_refs()
    # The expiry as the event shows it (WIB, to the second) and as the audit records it.
    shown = {
        moment: (iso_wib(moment), moment.isoformat()) for moment in {o.expires_at for o in bought}
    }
    events_publish_many(
        now=now,
        event_type="voucher.issued",
        events=[
            (
                order.platform_id,
                str(order.order_id),
                {
                    "order_id": order.order_id,
                    "voucher_code": voucher_code_format(order.voucher_code),
                    "training_external_id": trainings[order.training_id].external_id,
                    "price_idr": order.price_idr,
                    "participant_ref": ref(order.platform_id, order.participant_id),
                    "expires_at": shown[order.expires_at][0],
                },
            )
            for order in bought
        ],
    )
    audit_record_many(
        occurred_at=now,
        events=[
            AuditNew(
                actor,
                "order.purchased",
                ORDER_SUBJECT,
                str(order.order_id),
                {
                    "participant_id": order.participant_id,
                    "training_id": order.training_id,
                    "platform_id": order.platform_id,
                    "price_idr": order.price_idr,
                    "expires_at": shown[order.expires_at][1],
                },
            )
            for order in bought
        ],
    )


def _trainings_read(training_ids: list[int]) -> dict[int, OnSale]:
    """Not locked (the lock comes last, in _trainings_hold)."""
    return {
        row[0]: OnSale(*row)
        for row in Training.objects.filter(pk__in=training_ids).values_list(
            "pk", "status", "platform_id", "platform__status", "price_idr", "external_id", "title"
        )
    }


def _open_pairs(participant_ids: list[int]) -> set[tuple[int, int]]:
    """(participant, training) of the participants' open orders, read through the participant
    index one participant at a time: the orders table grows fast during batch work, and with its
    statistics behind PostgreSQL would rather scan it (or all open orders, through the partial
    unique index) than probe the index for a list of participants."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT o.participant_id, o.training_id, o.status "  # noqa: S608 - model constant
            "FROM json_array_elements_text(%s::json) AS v(value) CROSS JOIN LATERAL "
            f"(SELECT participant_id, training_id, status FROM {ORDERS} "
            "WHERE participant_id = v.value::bigint OFFSET 0) AS o"
        )
        params = [json.dumps(participant_ids)]
    else:
        ids, params = id_list(participant_ids)
        sql = (
            "SELECT participant_id, training_id, status FROM "  # noqa: S608 - model constant
            f"{ORDERS} WHERE participant_id IN ({ids})"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(p, t) for p, t, status in cursor.fetchall() if status in OPEN_STATUSES}


def _orders_insert(
    accepted: list[tuple[int, int, int, int, int, datetime.datetime]], now: datetime.datetime
) -> dict[int, tuple[int, str]]:
    """Insert the accepted orders in one statement, each with a fresh voucher code; returns item
    position -> (order id, voucher code). A collision of codes (with each other or with an existing
    one: the unique index) draws new codes for the chunk. No other constraint can refuse the
    insert: the participants are locked and their open orders known."""
    stamp = db_time(now)
    stamps = {expires_at: db_time(expires_at) for *_, expires_at in accepted}
    for attempt in range(1, CODE_ATTEMPTS + 1):
        codes = {index: voucher_code_new() for index, *_ in accepted}
        rows, param = json_rows(
            (
                ("participant_id", "bigint"),
                ("training_id", "bigint"),
                ("platform_id", "bigint"),
                ("price_idr", "bigint"),
                ("voucher_code", "text"),
                ("expires_at", "timestamptz"),
            ),
            [
                [pid, tid, platform_id, price, codes[index], stamps[expires_at]]
                for index, pid, tid, platform_id, price, expires_at in accepted
            ],
        )
        sql = (
            f"INSERT INTO {ORDERS} (participant_id, training_id, platform_id, price_idr, "  # noqa: S608 - names are model constants
            "voucher_code, status, issued_at, expires_at, platform_user_ref, percent, "
            "sessions_attended, certificate_number, certificate_url, flag_fast_completion, "
            "updated_at) "
            "SELECT r.participant_id, r.training_id, r.platform_id, r.price_idr, r.voucher_code, "
            f"%s, %s, r.expires_at, '', 0, 0, '', '', %s, %s FROM {rows} AS r "
            "RETURNING id, voucher_code"
        )
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [OrderStatus.ISSUED, stamp, False, stamp, *param])
                ids = {code: pk for pk, code in cursor.fetchall()}
        except IntegrityError:
            if attempt == CODE_ATTEMPTS:
                raise
            logger.warning("voucher codes collided; drawing others")
            continue
        return {index: (ids[code], code) for index, code in codes.items()}
    raise AssertionError("unreachable")


def _trainings_hold(training_ids: set[int]) -> None:
    """Hold the trainings sold (catalog/holds.py); if one is no longer active, the chunk is
    redone (its read then refuses those items)."""
    if trainings_hold_active(training_ids) != training_ids:
        raise _TrainingChanged()
