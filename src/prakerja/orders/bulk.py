"""Bulk entry points of the order path, for batch work (the national simulation, Celery chunks):
purchases, redemptions and completions a chunk at a time, set-based — a few statements per chunk
instead of a dozen per item.

They apply exactly the rules of the per-item services in orders/services.py, in the same order,
with the same refusal codes and details, the same ledger idempotency keys (`order-purchase:{order}`,
`order-redeem:{order}`), the same events and one audit event per order, as a per-item call would
write them. Unlike a per-item call, a refused item does not refuse the chunk: each entry point
returns what it did per item (by the item's position in the chunk) and the refusals, each with
the error the per-item service raises for it. A refused item changes nothing.

Each chunk is one transaction. Rows are locked in the order the per-item services lock them —
participants (by id), then orders (by id), then trainings (by id), then ledger balances (the ledger
locks those in account-id order) — so chunks, single calls and the daily jobs never wait on each
other in a circle. Re-running a chunk changes nothing: its purchases find their orders open
(ORDER_ALREADY_OPEN), its redemptions find them redeemed, its completions completed, and the ledger
skips keys already posted.

What differs from a per-item call, on purpose: one `actor` for the whole chunk; the ledger memo is
one per chunk (`transactions_post_bulk` takes one); the audit events of a chunk carry the chunk's
time. A participant id that does not exist is refused as NOT_FOUND (the per-item service is given a
participant object and cannot meet one).

Events go through `partners.outbox.events_publish_many`, and audit events are written here as
`audit_record` writes them, each by one INSERT from a JSON row set (common.bulk_sql) rather than
through the ORM's `bulk_create`, which on PostgreSQL sends one array per column that psycopg builds
value by value (about 100 ms for 1.000 events: more than the rest of a purchase chunk). See
docs/benchmarks.md, "orders", for where the time of a chunk goes.
"""

import base64
import datetime
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.holds import trainings_hold_active
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.common.errors import (
    ApplicationError,
    InsufficientBalance,
    NotFound,
    ValidationFailed,
)
from prakerja.ledger.models import Account, AccountKind, Balance
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.orders.errors import (
    BalanceExpired,
    OrderAlreadyCompleted,
    OrderAlreadyOpen,
    OrderNotFound,
    OrderNotRedeemed,
    OrderTransitionRefused,
    ParticipantNotActive,
    PurchaseWindowOver,
    TrainingNotAvailable,
    VoucherAlreadyRedeemed,
    VoucherCancelled,
    VoucherExpired,
    VoucherNotFound,
    VoucherOtherPlatform,
)
from prakerja.orders.models import OPEN_STATUSES, Order, OrderStatus
from prakerja.orders.rules import reported_time_refusal
from prakerja.orders.selectors import iso_wib
from prakerja.orders.services import (
    _URL,
    CERTIFICATE_NUMBER_MAX,
    CERTIFICATE_URL_MAX,
    CODE_ATTEMPTS,
    PARTICIPANT_REF_LENGTH,
    PLATFORM_USER_REF_MAX,
    TRANSITIONS,
    _moment,
    _participant_ref_key,
    _platform_only,
    _text,
    _whole,
    balance_lapsed,
    voucher_expiry,
)
from prakerja.orders.vouchers import voucher_code_format, voucher_code_new, voucher_code_parse
from prakerja.partners.models import Partner, PartnerStatus
from prakerja.partners.outbox import events_publish_many
from prakerja.waves.models import Participant, ParticipantStatus, ProgramScheme

logger = logging.getLogger(__name__)

CHUNK_MAX = 1_000  # items per call: one transaction holds the rows of a chunk locked
RETRIES = 3  # a chunk is redone when a training left the catalog between its read and its lock

ORDERS = Order._meta.db_table
AUDIT = AuditEvent._meta.db_table

# The bulk updates below move many orders in one statement, from one status to one other: the
# transition table must allow those moves.
assert OrderStatus.REDEEMED in TRANSITIONS[OrderStatus.ISSUED]
assert OrderStatus.COMPLETED in TRANSITIONS[OrderStatus.REDEEMED]


@dataclass(frozen=True)
class Refused:
    """An item of a chunk that was refused, with the error the per-item service raises for it."""

    index: int  # the item's position in the chunk
    error: ApplicationError

    @property
    def code(self) -> str:
        return self.error.code


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


@dataclass(frozen=True)
class BulkOutcome:
    done: dict[int, int] = field(default_factory=dict)  # item position -> order id
    refused: list[Refused] = field(default_factory=list)


class _TrainingChanged(Exception):
    """A training of the chunk left the catalog after it was read: the chunk is redone."""


def _check_size(items: Sequence[Any]) -> None:
    if len(items) > CHUNK_MAX:
        raise ValidationFailed(
            details={"items": f"at most {CHUNK_MAX} per chunk, not {len(items)}"}
        )


# --- purchases -------------------------------------------------------------------------------------


def orders_purchase_bulk(*, purchases: Sequence[tuple[int, int]], actor: Actor) -> BulkPurchase:
    """`order_purchase` for a chunk of (participant id, training id) pairs, in order: each item is
    bought or refused exactly as `order_purchase` would buy or refuse it after the chunk's earlier
    items — PARTICIPANT_NOT_ACTIVE, PURCHASE_WINDOW_OVER, BALANCE_EXPIRED, TRAINING_NOT_AVAILABLE,
    ORDER_ALREADY_OPEN (also the same pair earlier in the chunk) and INSUFFICIENT_BALANCE (counting
    what the chunk's earlier items spent). One transaction: the accepted orders in one INSERT, their
    ledger transactions through `transactions_post_bulk`, first purchases, the trainings held,
    `voucher.issued` events and audit events each in one statement."""
    _check_size(purchases)
    if not purchases:
        return BulkPurchase()
    for attempt in range(1, RETRIES + 1):
        try:
            with transaction.atomic():
                return _purchase_chunk(list(purchases), actor)
        except _TrainingChanged:
            if attempt == RETRIES:
                raise RuntimeError("trainings kept leaving the catalog during the chunk") from None
            logger.info("a training of the chunk changed status meanwhile: redoing the chunk")
    raise AssertionError("unreachable")


@dataclass
class _Buyer:
    status: str
    first_purchase_at: datetime.datetime | None
    purchase_deadline: datetime.datetime
    scheme: ProgramScheme
    account_id: int | None
    balance: int


def _purchase_chunk(purchases: list[tuple[int, int]], actor: Actor) -> BulkPurchase:
    now = timezone.now()
    participant_ids = sorted({participant_id for participant_id, _ in purchases})
    training_ids = sorted({training_id for _, training_id in purchases})
    # The revocation job and every purchase lock participants first: so does a chunk, by id.
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
    buyers = {
        pk: _Buyer(
            status=status,
            first_purchase_at=first,
            purchase_deadline=deadline,
            scheme=schemes[scheme_id],
            account_id=balances.get(pk, (None, 0))[0],
            balance=balances.get(pk, (None, 0))[1],
        )
        for pk, status, first, deadline, scheme_id in rows
    }
    trainings = _trainings_read(training_ids)
    open_pairs = _open_pairs(participant_ids)

    accepted: list[tuple[int, int, int, int, int, datetime.datetime]] = []  # index, p, t, ...
    expiries: dict[int, datetime.datetime] = {}  # voucher validity in days -> expiry
    refused: list[Refused] = []
    for index, (participant_id, training_id) in enumerate(purchases):
        buyer = buyers.get(participant_id)
        error = _purchase_refusal(
            buyer, participant_id, training_id, trainings.get(training_id), open_pairs, now
        )
        if error is not None:
            refused.append(Refused(index, error))
            continue
        assert buyer is not None
        _, _, platform_id, _, price, _ = trainings[training_id]
        buyer.balance -= price
        if buyer.first_purchase_at is None:
            buyer.first_purchase_at = now
        open_pairs.add((participant_id, training_id))
        days = buyer.scheme.voucher_valid_days
        if days not in expiries:
            expiries[days] = voucher_expiry(now, days)
        expires_at = expiries[days]
        accepted.append((index, participant_id, training_id, platform_id, price, expires_at))
    if not accepted:
        return BulkPurchase(refused=refused)

    inserted = _orders_insert(accepted, now)
    orders = {
        index: Purchased(inserted[index][0], pid, tid, platform_id, price, inserted[index][1], exp)
        for index, pid, tid, platform_id, price, exp in accepted
    }
    ids = [order.order_id for order in orders.values()]

    Participant.objects.filter(
        pk__in=sorted({order.participant_id for order in orders.values()}),
        first_purchase_at__isnull=True,
    ).update(first_purchase_at=now)
    ref = _participant_refs()
    # The expiry as the event shows it (WIB, to the second) and as the audit records it.
    shown = {moment: (iso_wib(moment), moment.isoformat()) for moment in expiries.values()}
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
                    "training_external_id": trainings[order.training_id][5],
                    "price_idr": order.price_idr,
                    "participant_ref": ref(order.platform_id, order.participant_id),
                    "expires_at": shown[order.expires_at][0],
                },
            )
            for order in orders.values()
        ],
    )
    _audit_many(
        actor,
        now,
        "order.purchased",
        [
            (
                order.order_id,
                {
                    "participant_id": order.participant_id,
                    "training_id": order.training_id,
                    "platform_id": order.platform_id,
                    "price_idr": order.price_idr,
                    "expires_at": shown[order.expires_at][1],
                },
            )
            for order in orders.values()
        ],
    )
    # The rows many purchases share come last, as in order_purchase: the trainings (locked in id
    # order and re-checked: a training suspended meanwhile is not sold), then the ledger.
    _trainings_hold({order.training_id for order in orders.values()})
    pending = accounts_ensure(
        kind=AccountKind.PLATFORM_PENDING,
        owner_ids={order.platform_id for order in orders.values()},
    )
    postings = []
    for order in orders.values():
        account = buyers[order.participant_id].account_id
        assert account is not None  # a participant without a balance account was refused
        postings.append(
            Posting(
                f"order-purchase:{order.order_id}",
                ((account, -order.price_idr), (pending[order.platform_id], order.price_idr)),
            )
        )
    transactions_post_bulk(
        kind="order_purchase",
        postings=postings,
        actor=actor,
        memo=f"Orders {ids[0]} to {ids[-1]} purchased",
    )
    return BulkPurchase(orders=orders, refused=refused)


def _trainings_read(training_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Id -> (id, status, platform id, platform status, price, external id), not locked (as
    order_purchase reads its training): the lock comes last, in _trainings_hold."""
    return {
        row[0]: row
        for row in Training.objects.filter(pk__in=training_ids).values_list(
            "pk", "status", "platform_id", "platform__status", "price_idr", "external_id"
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
    else:
        sql = (
            "SELECT participant_id, training_id, status FROM "  # noqa: S608 - model constant
            f"{ORDERS} WHERE participant_id IN (SELECT value FROM json_each(%s))"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(participant_ids)])
        return {(p, t) for p, t, status in cursor.fetchall() if status in OPEN_STATUSES}


def _purchase_refusal(
    buyer: _Buyer | None,
    participant_id: int,
    training_id: int,
    training: tuple[Any, ...] | None,
    open_pairs: set[tuple[int, int]],
    now: datetime.datetime,
) -> ApplicationError | None:
    """The error order_purchase raises for this item, in its order of checks, or None."""
    if buyer is None:
        return NotFound(details={"participant_id": participant_id})
    if buyer.status != ParticipantStatus.ACTIVE:
        return ParticipantNotActive(details={"status": buyer.status})
    if buyer.first_purchase_at is None and now > buyer.purchase_deadline:
        return PurchaseWindowOver(details={"purchase_deadline": iso_wib(buyer.purchase_deadline)})
    if balance_lapsed(buyer.scheme, now):
        expired_on = buyer.scheme.balance_expiry_date.isoformat()
        return BalanceExpired(details={"balance_expiry_date": expired_on}, expired_on=expired_on)
    if (
        training is None
        or training[1] != TrainingStatus.ACTIVE
        or training[3] != PartnerStatus.ACTIVE
    ):
        return TrainingNotAvailable(details={"training_id": training_id})
    if (participant_id, training_id) in open_pairs:
        return OrderAlreadyOpen(details={"training_id": training_id})
    price = training[4]
    if buyer.balance < price:
        return InsufficientBalance(
            details={
                "account_id": buyer.account_id,
                "balance_idr": buyer.balance,
                "change_idr": -price,
                "refused_accounts": 1,
            }
        )
    return None


def _orders_insert(
    accepted: list[tuple[int, int, int, int, int, datetime.datetime]], now: datetime.datetime
) -> dict[int, tuple[int, str]]:
    """Insert the accepted orders in one statement, each with a fresh voucher code; returns item
    position -> (order id, voucher code). A collision of codes (with each other or with an existing
    one: the unique index) draws new codes for the chunk, as order_purchase does for one. No other
    constraint can refuse the insert: the participants are locked and their open orders known."""
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
            logger.warning("voucher codes collided in a chunk; drawing others")
            continue
        return {index: (ids[code], code) for index, code in codes.items()}
    raise AssertionError("unreachable")


def _trainings_hold(training_ids: set[int]) -> None:
    """Hold the trainings sold (catalog/holds.py); if one is no longer active, the chunk is
    redone (its read then refuses those items)."""
    if trainings_hold_active(training_ids) != training_ids:
        raise _TrainingChanged()


# --- redemptions -----------------------------------------------------------------------------------


def vouchers_redeem_bulk(
    *, platform: Partner, items: Sequence[tuple[str, str]], actor: Actor
) -> BulkOutcome:
    """`voucher_redeem` for a chunk of (voucher code, platform user ref) of one platform: each item
    redeemed or refused as `voucher_redeem` would after the chunk's earlier items —
    VOUCHER_NOT_FOUND (also a malformed code), VALIDATION_FAILED (platform_user_ref),
    VOUCHER_OTHER_PLATFORM, VOUCHER_ALREADY_REDEEMED (also the same voucher earlier in the chunk),
    VOUCHER_CANCELLED, VOUCHER_EXPIRED. One transaction: the orders in one UPDATE, the prices
    from the platform's pending payable to its payable under the keys `order-redeem:{order}`."""
    _platform_only(platform)
    _check_size(items)
    now = timezone.now()
    refused: list[Refused] = []
    wanted: dict[int, tuple[str, str]] = {}  # index -> (code, ref) that passed the input checks
    for index, (voucher_code, platform_user_ref) in enumerate(items):
        try:
            code = voucher_code_parse(voucher_code)
            ref = _text(platform_user_ref, "platform_user_ref", PLATFORM_USER_REF_MAX)
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
            .filter(voucher_code__in=_among(sorted({code for code, _ in wanted.values()}), "text"))
            .order_by("pk")
            .values_list("pk", "voucher_code", "platform_id", "status", "expires_at", "price_idr")
        }
        status = {row[0]: row[3] for row in found.values()}
        done: dict[int, int] = {}
        accepted: list[tuple[int, str, int]] = []  # order id, ref, price
        for index, (code, ref) in wanted.items():
            row = found.get(code)
            refusal = _redeem_refusal(row, platform, status, now)
            if refusal is not None:
                refused.append(Refused(index, refusal))
                continue
            assert row is not None
            status[row[0]] = OrderStatus.REDEEMED
            done[index] = row[0]
            accepted.append((row[0], ref, row[5]))
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
            _all_changed(cursor.rowcount, len(accepted))
        _audit_many(
            actor,
            now,
            "order.redeemed",
            [
                (pk, {"from": OrderStatus.ISSUED, "price_idr": price, "platform_user_ref": ref})
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
            memo=f"Orders redeemed on {platform.code}",
        )
    return BulkOutcome(done=done, refused=refused)


def _redeem_refusal(
    row: tuple[Any, ...] | None, platform: Partner, status: dict[int, str], now: datetime.datetime
) -> ApplicationError | None:
    """The error voucher_redeem raises for this voucher, in its order of checks, or None."""
    if row is None:
        return VoucherNotFound()
    pk, _, platform_id, _, expires_at, _ = row
    current = status[pk]
    if platform_id != platform.pk:
        return VoucherOtherPlatform()
    if current in (OrderStatus.REDEEMED, OrderStatus.COMPLETED):
        return VoucherAlreadyRedeemed(details={"order_id": pk})
    if current in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return VoucherCancelled(details={"status": current})
    if current == OrderStatus.EXPIRED or expires_at < now:
        return VoucherExpired(details={"expires_at": iso_wib(expires_at)})
    return _transition_refusal(pk, current, OrderStatus.REDEEMED)


def _transition_refusal(pk: int, current: str, target: str) -> ApplicationError | None:
    """The guard of services._move (the table), for an order changed by a bulk UPDATE."""
    if target in TRANSITIONS[current]:
        return None
    return OrderTransitionRefused(
        details={"order_id": pk, "from": current, "to": target}, current=current, target=target
    )


# --- completions -----------------------------------------------------------------------------------

Completion = tuple[
    int, datetime.datetime, int, str, str
]  # order id, completed_at, score, number, URL


def orders_complete_bulk(
    *, platform: Partner, items: Sequence[Completion], actor: Actor
) -> BulkOutcome:
    """`order_complete` for a chunk of (order id, completed_at, final score, certificate number,
    certificate URL) of one platform: each item completed or refused as `order_complete` would
    after the chunk's earlier items — ORDER_NOT_FOUND (also another platform's order),
    ORDER_ALREADY_COMPLETED (also the same order earlier in the chunk), ORDER_NOT_REDEEMED,
    VALIDATION_FAILED naming the fields, TIME_OUT_OF_RANGE (orders/rules.py). A completion sooner
    after redemption than the training's duration is accepted and flagged. One transaction: the
    orders in one UPDATE, one audit event each."""
    _platform_only(platform)
    _check_size(items)
    if not items:
        return BulkOutcome()
    now = timezone.now()
    with transaction.atomic():
        found = {
            row[0]: row
            # By primary key alone (with the platform in the condition the planner may scan all
            # of the platform's orders); another platform's order is refused below.
            for row in Order.objects.select_for_update(of=("self",))
            .filter(pk__in=_among(sorted({item[0] for item in items}), "bigint"))
            .order_by("pk")
            .values_list("pk", "status", "redeemed_at", "training__duration_hours", "platform_id")
            if row[4] == platform.pk
        }
        status = {pk: row[1] for pk, row in found.items()}
        done: dict[int, int] = {}
        refused: list[Refused] = []
        accepted: list[tuple[int, datetime.datetime, int, str, str, bool, dict[str, Any]]] = []
        for index, (order_id, completed_at, final_score, number, url) in enumerate(items):
            outcome = _completion(
                found.get(order_id), order_id, status, completed_at, final_score, number, url, now
            )
            if isinstance(outcome, ApplicationError):
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
                [pk, db_time(completed_at), score, number, url, fast]
                for pk, completed_at, score, number, url, fast, _ in accepted
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
            _all_changed(cursor.rowcount, len(accepted))
        _audit_many(actor, now, "order.completed", [(item[0], item[6]) for item in accepted])
    return BulkOutcome(done=done, refused=refused)


def _completion(
    row: tuple[Any, ...] | None,
    order_id: int,
    status: dict[int, str],
    completed_at: Any,
    final_score: Any,
    certificate_number: Any,
    certificate_url: Any,
    now: datetime.datetime,
) -> ApplicationError | tuple[int, datetime.datetime, int, str, str, bool, dict[str, Any]]:
    """The error order_complete raises for this item, in its order of checks, or the completion
    to write: (order id, completed_at, score, number, URL, fast, the audit details)."""
    if row is None:
        return OrderNotFound(details={"order_id": order_id})
    pk, _, redeemed_at, duration_hours, _ = row
    current = status[pk]
    if current == OrderStatus.COMPLETED:
        return OrderAlreadyCompleted(details={"order_id": pk})
    if current != OrderStatus.REDEEMED:
        return OrderNotRedeemed(details={"order_id": pk, "status": current})
    assert redeemed_at is not None
    problems: dict[str, str] = {}
    _moment(completed_at, "completed_at", problems)
    _whole(final_score, "final_score", 100, problems)
    number = url = ""
    try:
        number = _text(certificate_number, "certificate_number", CERTIFICATE_NUMBER_MAX)
    except ValidationFailed as error:
        problems.update(error.details)
    try:
        url = _text(certificate_url, "certificate_url", CERTIFICATE_URL_MAX)
        _URL(url)
    except ValidationFailed as error:
        problems.update(error.details)
    except DjangoValidationError:
        problems["certificate_url"] = "URL_INVALID"
    if problems:
        return ValidationFailed(details=problems)
    out_of_range = reported_time_refusal(
        "completed_at", completed_at, now=now, redeemed_at=redeemed_at
    )
    if out_of_range is not None:
        return out_of_range
    refusal = _transition_refusal(pk, current, OrderStatus.COMPLETED)
    if refusal is not None:
        return refusal
    took = completed_at - redeemed_at
    fast = took < datetime.timedelta(hours=duration_hours)
    details = {
        "from": current,
        "completed_at": completed_at.isoformat(),
        "final_score": final_score,
        "certificate_number": number,
        "hours_after_redemption": round(took.total_seconds() / 3600, 2),
        "duration_hours": duration_hours,
        "flag_fast_completion": fast,
    }
    return pk, completed_at, final_score, number, url, fast, details


# --- shared ----------------------------------------------------------------------------------------


def _participant_refs() -> Callable[[int, int], str]:
    """services.participant_ref_of, with the HMAC key derived once for the chunk instead of once
    per order (the comparison tests hold the two to the same pseudonyms)."""
    key = _participant_ref_key()

    def ref(platform_id: int, participant_id: int) -> str:
        message = f"{platform_id}:{participant_id}".encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        return "pk_" + base64.b32encode(digest).decode().lower()[:PARTICIPANT_REF_LENGTH]

    return ref


def _all_changed(changed: int, expected: int) -> None:
    """The bulk UPDATEs change orders locked and checked in this transaction, by primary key (no
    status condition in the statement: with the statistics of a status out of date PostgreSQL
    would read every order of that status instead of looking up the chunk's)."""
    if changed != expected:
        raise RuntimeError(f"bulk update changed {changed} orders, not {expected}")


def _audit_many(
    actor: Actor, now: datetime.datetime, event_type: str, events: list[tuple[int, dict[str, Any]]]
) -> None:
    """One audit event per order, as audit_record writes it, all in one INSERT."""
    rows, param = json_rows(
        (("subject_id", "text"), ("details", "jsonb")),
        [[str(pk), details] for pk, details in events],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AUDIT} (occurred_at, actor_kind, actor_id, actor_label, event_type, "  # noqa: S608
            "subject_type, subject_id, details) "
            f"SELECT %s, %s, %s, %s, %s, %s, r.subject_id, r.details FROM {rows} AS r",
            [
                db_time(now),
                actor.kind,
                actor.id,
                actor.label,
                event_type,
                Order._meta.label_lower,
                *param,
            ],
        )


def _among(values: list[Any], pg_type: str) -> RawSQL:
    """A list for `field__in=`, sent as one JSON text. PostgreSQL cannot see its length (it assumes
    100 values) and so looks the values up by index, where a literal list of 1.000 values may
    make it scan the table (its cost model prices 1.000 index probes above a scan of 100.000
    rows)."""
    if connection.vendor == "postgresql":
        sql = f"SELECT value::{pg_type} FROM json_array_elements_text(%s::json) AS v(value)"  # noqa: S608
        return RawSQL(sql, [json.dumps(values)])  # noqa: S611
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])
