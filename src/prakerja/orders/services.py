"""Orders: the purchase of a training, its voucher's redemption on the platform that sold it, the
platform's progress and completion reports, and the daily jobs that expire unredeemed vouchers and
lapse what is left of a scheme's balances (program.md §4, §7; partner-api.md, "Digital platforms").

Money moves only through the ledger, in the same transaction as the order's change:

    purchase    TRAINING_BALANCE(participant) → PLATFORM_PENDING(platform)   order-purchase:{order}
    redemption  PLATFORM_PENDING(platform)    → PLATFORM_PAYABLE(platform)   order-redeem:{order}
    expiry      PLATFORM_PENDING(platform)    → TRAINING_BALANCE(participant) order-expire:{order}
                (→ TREASURY_RETURN instead once the participant's balance has lapsed)
    lapse       TRAINING_BALANCE(participant) → TREASURY_RETURN   balance-lapse:{scheme}:{participant}

An order's status changes only by TRANSITIONS. Rows are locked in one order everywhere — the
participant, then orders, then ledger balances (the ledger locks those in account-id order), the
training's row last — so that purchases, redemptions, the expiry job, the lapse job and the
revocation job (which locks participants, then balances) never wait on each other in a circle.
"""

import base64
import datetime
import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.audit.services import audit_record
from prakerja.catalog.holds import trainings_hold_active
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import Account, AccountKind, Balance, Transaction
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
    transfer,
)
from prakerja.orders.errors import (
    BalanceExpired,
    OrderAlreadyCompleted,
    OrderAlreadyOpen,
    OrderNotFound,
    OrderNotRedeemed,
    OrderTransitionRefused,
    ParticipantNotActive,
    ProgressBackwards,
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
from prakerja.orders.vouchers import voucher_code_format, voucher_code_new, voucher_code_parse
from prakerja.partners.errors import PartnerKindNotAllowed
from prakerja.partners.models import Partner, PartnerKind, PartnerStatus
from prakerja.partners.outbox import event_publish, events_publish_many
from prakerja.waves.models import Participant, ParticipantStatus, ProgramScheme

logger = logging.getLogger(__name__)

CHUNK = 1_000  # orders or participants per transaction of the daily jobs
CODE_ATTEMPTS = 5  # fresh voucher codes tried when an insert collides with an existing code
PLATFORM_USER_REF_MAX = 100
CERTIFICATE_NUMBER_MAX = 100
CERTIFICATE_URL_MAX = 500
SESSIONS_MAX = 10_000
PARTICIPANT_REF_LENGTH = 20  # base32 symbols of the HMAC: 100 bits

# --- the one table of status changes ------------------------------------------------------------

TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.ISSUED: frozenset({OrderStatus.REDEEMED, OrderStatus.EXPIRED}),
    OrderStatus.REDEEMED: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
    # Reserved for a later capability (refunds, cancellation by the PMO): no service leads here
    # yet, and nothing leaves them.
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# The expiry job changes many orders in one UPDATE: it may only take them from this status.
assert OrderStatus.EXPIRED in TRANSITIONS[OrderStatus.ISSUED]


def _move(order: Order, target: str, *, now: datetime.datetime) -> str:
    """Change a locked order's status by the table; returns the status it had. The caller saves the
    order and records the audit event in the same transaction."""
    before = order.status
    if target not in TRANSITIONS[before]:
        raise OrderTransitionRefused(
            details={"order_id": order.pk, "from": before, "to": target},
            current=before,
            target=target,
        )
    order.status = target
    order.updated_at = now
    return before


# --- what platforms know of participants --------------------------------------------------------


def _participant_ref_key() -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"prakerja:orders:participant-ref", hashlib.sha256
    ).digest()


def participant_ref_of(*, platform_id: int, participant_id: int) -> str:
    digest = hmac.new(
        _participant_ref_key(), f"{platform_id}:{participant_id}".encode(), hashlib.sha256
    ).digest()
    return "pk_" + base64.b32encode(digest).decode().lower()[:PARTICIPANT_REF_LENGTH]


def participant_ref(*, platform: Partner, participant: Participant) -> str:
    """The pseudonym a platform knows a participant by: the same for every order of that
    participant on that platform, different on every other platform, and never derived from the NIK
    (HMAC-SHA256 under a key derived from SECRET_KEY: rotating SECRET_KEY changes every pseudonym)."""
    return participant_ref_of(platform_id=platform.pk, participant_id=participant.pk)


def _platform_only(platform: Partner) -> None:
    if platform.kind != PartnerKind.PLATFORM:
        raise PartnerKindNotAllowed(
            details={"kind": platform.kind, "required": PartnerKind.PLATFORM},
            kind=PartnerKind.PLATFORM,
        )


# --- purchase -------------------------------------------------------------------------------------


def voucher_expiry(issued_at: datetime.datetime, valid_days: int) -> datetime.datetime:
    """The end (23:59:59 WIB) of the voucher's last day, `valid_days` days after the day of
    purchase (as waves count the first-purchase deadline)."""
    last_day = issued_at.astimezone(WIB).date() + datetime.timedelta(days=valid_days)
    return datetime.datetime.combine(last_day, datetime.time(23, 59, 59), tzinfo=WIB)


def balance_lapsed(scheme: ProgramScheme, moment: datetime.datetime) -> bool:
    """The scheme's balances may be spent through its expiry date (WIB) and lapse the day after."""
    return timezone.localdate(moment, timezone=WIB) > scheme.balance_expiry_date


def order_purchase(*, participant: Participant, training: Training, actor: Actor) -> Order:
    """Buy one training for the participant: an order with a voucher, the price moved from the
    training balance to the platform's pending payable, `voucher.issued` sent to the platform.

    Refused with PARTICIPANT_NOT_ACTIVE (revoked), PURCHASE_WINDOW_OVER (no first purchase by the
    deadline), BALANCE_EXPIRED (after the scheme's balance expiry date), TRAINING_NOT_AVAILABLE
    (not active in the catalog, or its platform suspended), ORDER_ALREADY_OPEN (an issued or
    redeemed order of the same training) and INSUFFICIENT_BALANCE (from the ledger). A refusal
    changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        # The revocation job locks participants too: a purchase and a revocation never overlap.
        locked = (
            Participant.objects.select_for_update(of=("self",))
            .select_related("scheme")
            .get(pk=participant.pk)
        )
        scheme = locked.scheme
        if locked.status != ParticipantStatus.ACTIVE:
            raise ParticipantNotActive(details={"status": locked.status})
        if locked.first_purchase_at is None and now > locked.purchase_deadline:
            raise PurchaseWindowOver(
                details={"purchase_deadline": iso_wib(locked.purchase_deadline)}
            )
        if balance_lapsed(scheme, now):
            expired_on = scheme.balance_expiry_date.isoformat()
            raise BalanceExpired(details={"balance_expiry_date": expired_on}, expired_on=expired_on)
        current = Training.objects.select_related("platform").filter(pk=training.pk).first()
        if (
            current is None
            or current.status != TrainingStatus.ACTIVE
            or current.platform.status != PartnerStatus.ACTIVE
        ):
            raise TrainingNotAvailable(details={"training_id": training.pk})

        order = _order_insert(participant=locked, training=current, scheme=scheme, now=now)
        if locked.first_purchase_at is None:
            locked.first_purchase_at = now
            locked.save(update_fields=["first_purchase_at"])
        ref = participant_ref(platform=current.platform, participant=locked)
        event_publish(
            partner_id=order.platform_id,
            event_type="voucher.issued",
            subject=str(order.pk),
            data={
                "order_id": order.pk,
                "voucher_code": voucher_code_format(order.voucher_code),
                "training_external_id": current.external_id,
                "price_idr": order.price_idr,
                "participant_ref": ref,
                "expires_at": iso_wib(order.expires_at),
            },
        )
        audit_record(
            actor=actor,
            event_type="order.purchased",
            subject=order,
            details={
                "participant_id": locked.pk,
                "training_id": current.pk,
                "platform_id": order.platform_id,
                "price_idr": order.price_idr,
                "expires_at": order.expires_at.isoformat(),
            },
        )
        # The rows many purchases share come last, so they are held the shortest time: the
        # training's (re-checked under a shared lock: a training suspended meanwhile is not sold;
        # its buyers are counted by orders/popularity.py) and, in the ledger, the platform's
        # pending payable.
        if not trainings_hold_active([current.pk]):
            raise TrainingNotAvailable(details={"training_id": current.pk})
        balance = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=locked.pk)
        pending = account_get_or_create(
            kind=AccountKind.PLATFORM_PENDING, owner_id=order.platform_id
        )
        transfer(
            idempotency_key=f"order-purchase:{order.pk}",
            kind="order_purchase",
            from_account_id=balance.pk,
            to_account_id=pending.pk,
            amount=order.price_idr,
            actor=actor,
            memo=f"Order {order.pk}: {current.title}"[:200],
        )
    return order


def _order_insert(
    *, participant: Participant, training: Training, scheme: ProgramScheme, now: datetime.datetime
) -> Order:
    """The order row with a fresh voucher code. The partial unique constraint
    `order_one_open_per_training` refuses a second open order of the same training
    (ORDER_ALREADY_OPEN); a collision of voucher codes draws a new code."""
    for attempt in range(1, CODE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return Order.objects.create(
                    participant=participant,
                    training=training,
                    platform_id=training.platform_id,
                    price_idr=training.price_idr,
                    voucher_code=voucher_code_new(),
                    status=OrderStatus.ISSUED,
                    issued_at=now,
                    expires_at=voucher_expiry(now, scheme.voucher_valid_days),
                    updated_at=now,
                )
        except IntegrityError:
            if Order.objects.filter(
                participant=participant, training=training, status__in=OPEN_STATUSES
            ).exists():
                raise OrderAlreadyOpen(details={"training_id": training.pk}) from None
            if attempt == CODE_ATTEMPTS:
                raise
            logger.warning("voucher code collided with an existing one; drawing another")
    raise AssertionError("unreachable")


# --- vouchers: what the selling platform does -----------------------------------------------------


def voucher_status(*, platform: Partner, voucher_code: str) -> Order:
    """The platform's voucher of that code. Another platform's voucher is VOUCHER_NOT_FOUND here (a
    partner sees only its own data); a malformed code too, decided without reading the database."""
    _platform_only(platform)
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
    """The platform that sold the voucher redeems it, once: the price becomes payable to it.

    Refused with VOUCHER_NOT_FOUND (also a malformed code), VOUCHER_OTHER_PLATFORM (sold by another
    platform), VOUCHER_ALREADY_REDEEMED (redeemed or completed), VOUCHER_EXPIRED (expired, or issued
    and past its date: the daily job records the expiry and returns the price) and
    VOUCHER_CANCELLED (cancelled or refunded). A refusal changes nothing."""
    _platform_only(platform)
    code = voucher_code_parse(voucher_code)
    ref = _text(platform_user_ref, "platform_user_ref", PLATFORM_USER_REF_MAX)
    now = timezone.now()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("training")
            .filter(voucher_code=code)
            .first()
        )
        if order is None:
            raise VoucherNotFound()
        if order.platform_id != platform.pk:
            raise VoucherOtherPlatform()
        if order.status in (OrderStatus.REDEEMED, OrderStatus.COMPLETED):
            raise VoucherAlreadyRedeemed(details={"order_id": order.pk})
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            raise VoucherCancelled(details={"status": order.status})
        if order.status == OrderStatus.EXPIRED or order.expires_at < now:
            raise VoucherExpired(details={"expires_at": iso_wib(order.expires_at)})
        before = _move(order, OrderStatus.REDEEMED, now=now)
        order.redeemed_at = now
        order.platform_user_ref = ref
        order.save(update_fields=["status", "updated_at", "redeemed_at", "platform_user_ref"])
        audit_record(
            actor=actor,
            event_type="order.redeemed",
            subject=order,
            details={"from": before, "price_idr": order.price_idr, "platform_user_ref": ref},
        )
        pending = account_get_or_create(kind=AccountKind.PLATFORM_PENDING, owner_id=platform.pk)
        payable = account_get_or_create(kind=AccountKind.PLATFORM_PAYABLE, owner_id=platform.pk)
        transfer(
            idempotency_key=f"order-redeem:{order.pk}",
            kind="order_redeem",
            from_account_id=pending.pk,
            to_account_id=payable.pk,
            amount=order.price_idr,
            actor=actor,
            memo=f"Order {order.pk} redeemed",
        )
    return order


# --- orders: the platform's reports ---------------------------------------------------------------


def _platform_order_locked(platform: Partner, order_id: int) -> Order:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("training")
        .filter(pk=order_id, platform=platform)
        .first()
    )
    if order is None:
        raise OrderNotFound(details={"order_id": order_id})
    return order


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(details={field: "REQUIRED"})
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed(details={field: "TOO_LONG"})
    return value


def _whole(value: Any, field: str, high: int, problems: dict[str, str]) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        problems[field] = "INTEGER_REQUIRED"
    elif not 0 <= value <= high:
        problems[field] = "OUT_OF_RANGE"


def _moment(value: Any, field: str, problems: dict[str, str]) -> None:
    """A reported time must say its offset; its range (orders/rules.py) is checked against the
    order, once it is read."""
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        problems[field] = "OFFSET_REQUIRED"


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
    values again are accepted and change nothing. Other refusals: ORDER_NOT_FOUND (also another
    platform's order), ORDER_NOT_REDEEMED, ORDER_ALREADY_COMPLETED, VALIDATION_FAILED for a
    percent outside 0–100, a negative count or a time without an offset, and TIME_OUT_OF_RANGE
    (orders/rules.py) for a report time before the redemption second or more than five minutes
    ahead."""
    _platform_only(platform)
    now = timezone.now()
    problems: dict[str, str] = {}
    _whole(percent, "percent", 100, problems)
    _whole(sessions_attended, "sessions_attended", SESSIONS_MAX, problems)
    _moment(reported_at, "reported_at", problems)
    if problems:
        raise ValidationFailed(details=problems)
    with transaction.atomic():
        order = _platform_order_locked(platform, order_id)
        if order.status == OrderStatus.COMPLETED:
            raise OrderAlreadyCompleted(details={"order_id": order.pk})
        if order.status != OrderStatus.REDEEMED:
            raise OrderNotRedeemed(details={"order_id": order.pk, "status": order.status})
        assert order.redeemed_at is not None
        refusal = reported_time_refusal(
            "reported_at", reported_at, now=now, redeemed_at=order.redeemed_at
        )
        if refusal is not None:
            raise refusal
        if percent < order.percent or sessions_attended < order.sessions_attended:
            raise ProgressBackwards(
                details={
                    "percent": order.percent,
                    "sessions_attended": order.sessions_attended,
                },
                percent=order.percent,
                sessions=order.sessions_attended,
            )
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


_URL = URLValidator(schemes=["http", "https"])


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
    """The platform reports a redeemed order completed, with the final score and the certificate.
    A completion sooner after redemption than the training's duration is accepted and flagged
    (flag_fast_completion) for the PMO.

    Refused with ORDER_NOT_FOUND, ORDER_NOT_REDEEMED (not redeemed yet, or expired), ORDER_ALREADY_
    COMPLETED (a second completion, even an identical one, under another X-EXTERNAL-ID),
    VALIDATION_FAILED naming the field (completed_at OFFSET_REQUIRED, final_score OUT_OF_RANGE,
    certificate_url URL_INVALID), then TIME_OUT_OF_RANGE (orders/rules.py): completed_at before the
    redemption second or more than five minutes ahead."""
    _platform_only(platform)
    now = timezone.now()
    with transaction.atomic():
        order = _platform_order_locked(platform, order_id)
        if order.status == OrderStatus.COMPLETED:
            raise OrderAlreadyCompleted(details={"order_id": order.pk})
        if order.status != OrderStatus.REDEEMED:
            raise OrderNotRedeemed(details={"order_id": order.pk, "status": order.status})
        assert order.redeemed_at is not None
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
            raise ValidationFailed(details=problems)
        refusal = reported_time_refusal(
            "completed_at", completed_at, now=now, redeemed_at=order.redeemed_at
        )
        if refusal is not None:
            raise refusal

        took = completed_at - order.redeemed_at
        fast = took < datetime.timedelta(hours=order.training.duration_hours)
        before = _move(order, OrderStatus.COMPLETED, now=now)
        order.completed_at = completed_at
        order.percent = 100
        order.final_score = final_score
        order.certificate_number = number
        order.certificate_url = url
        order.flag_fast_completion = fast
        order.save(
            update_fields=[
                "status",
                "updated_at",
                "completed_at",
                "percent",
                "final_score",
                "certificate_number",
                "certificate_url",
                "flag_fast_completion",
            ]
        )
        audit_record(
            actor=actor,
            event_type="order.completed",
            subject=order,
            details={
                "from": before,
                "completed_at": completed_at.isoformat(),
                "final_score": final_score,
                "certificate_number": number,
                "hours_after_redemption": round(took.total_seconds() / 3600, 2),
                "duration_hours": order.training.duration_hours,
                "flag_fast_completion": fast,
            },
        )
    return order


# --- daily jobs -----------------------------------------------------------------------------------


def _expire_due(now: datetime.datetime) -> QuerySet[Order]:
    # Only issued orders can expire (TRANSITIONS): the partial index order_issued_expiry.
    return Order.objects.filter(status=OrderStatus.ISSUED, expires_at__lt=now)


def vouchers_expire_due(*, now: datetime.datetime | None = None) -> int:
    """Expire every voucher still unredeemed after its date and return its price: to the
    participant's training balance, or to the treasury once that balance has lapsed (after the
    scheme's balance expiry date nothing can be bought with it, and the lapse job has already
    emptied it). `voucher.expired` goes to each platform. Chunks of CHUNK orders, each one
    transaction of a few set-based statements; a second run finds nothing and refunds nothing
    (ledger keys `order-expire:{order}`). Returns how many vouchers expired."""
    now = now or timezone.now()
    actor = Actor.system("vouchers-expire")
    expired = 0
    after = 0
    while True:
        ids = list(
            _expire_due(now)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            return expired
        expired += _expire_chunk(ids, now=now, actor=actor)
        after = ids[-1]


def _expire_chunk(ids: list[int], *, now: datetime.datetime, actor: Actor) -> int:
    with transaction.atomic():
        # Locked and filtered again: a voucher redeemed meanwhile is not expired.
        rows = list(
            _expire_due(now)
            .select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list(
                "pk",
                "participant_id",
                "platform_id",
                "price_idr",
                "voucher_code",
                "training__external_id",
                "participant__scheme__balance_expiry_date",
            )
        )
        if not rows:
            return 0
        participant_ids = sorted({row[1] for row in rows})
        # The lapse job locks participants before their balances: so does this, so that a refund
        # and a lapse of one balance never cross.
        list(
            Participant.objects.select_for_update()
            .filter(pk__in=participant_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        today = timezone.localdate(now, timezone=WIB)
        balances = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=participant_ids)
        pending = accounts_ensure(
            kind=AccountKind.PLATFORM_PENDING, owner_ids=[row[2] for row in rows]
        )
        treasury = account_get_or_create(kind=AccountKind.TREASURY_RETURN).pk
        postings = []
        returned_to: dict[int, str] = {}
        for pk, participant_id, platform_id, price, _, _, expiry_date in rows:
            lapsed = today > expiry_date
            destination = treasury if lapsed else balances[participant_id]
            returned_to[pk] = "treasury_return" if lapsed else "training_balance"
            postings.append(
                Posting(
                    f"order-expire:{pk}", ((pending[platform_id], -price), (destination, price))
                )
            )
        transactions_post_bulk(
            kind="order_expire",
            postings=postings,
            actor=actor,
            memo="Voucher expired unredeemed: price returned",
        )
        locked = [row[0] for row in rows]
        Order.objects.filter(pk__in=locked).update(
            status=OrderStatus.EXPIRED, ended_at=now, updated_at=now
        )
        events_publish_many(
            event_type="voucher.expired",
            events=[
                (
                    platform_id,
                    str(pk),
                    {
                        "order_id": pk,
                        "voucher_code": voucher_code_format(code),
                        "training_external_id": external_id,
                        "price_idr": price,
                        "participant_ref": participant_ref_of(
                            platform_id=platform_id, participant_id=participant_id
                        ),
                        "expired_at": iso_wib(now),
                    },
                )
                for pk, participant_id, platform_id, price, code, external_id, _ in rows
            ],
        )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    occurred_at=now,
                    actor_kind=actor.kind,
                    actor_id=actor.id,
                    actor_label=actor.label,
                    event_type="order.expired",
                    subject_type=Order._meta.label_lower,
                    subject_id=str(pk),
                    details={
                        "from": OrderStatus.ISSUED,
                        "price_idr": price,
                        "returned_to": returned_to[pk],
                    },
                )
                for pk, _, _, price, _, _, _ in rows
            ]
        )
    return len(rows)


def lapse_key(scheme_code: str, participant_id: int) -> str:
    return f"balance-lapse:{scheme_code}:{participant_id}"


def balances_lapse_due(*, today: datetime.date | None = None) -> int:
    """After a scheme's balance expiry date, move what is left of each of its participants' training
    balances to the treasury. Vouchers still open keep their price (it left the balance at
    purchase; if one expires later, its price goes to the treasury). Chunks of CHUNK participants;
    a second run finds no balance left and lapses nothing (ledger keys `balance-lapse:{scheme}:
    {participant}`). Returns how many balances lapsed."""
    today = today or timezone.localdate(timezone=WIB)
    actor = Actor.system("balances-lapse")
    lapsed = 0
    for scheme in ProgramScheme.objects.filter(balance_expiry_date__lt=today).order_by("pk"):
        after = 0
        while True:
            owners = list(
                Balance.objects.filter(
                    account__kind=AccountKind.TRAINING_BALANCE,
                    amount__gt=0,
                    account__owner_id__gt=after,
                    account__owner_id__in=Participant.objects.filter(scheme=scheme).values("pk"),
                )
                .order_by("account__owner_id")
                .values_list("account__owner_id", flat=True)[:CHUNK]
            )
            ids = [owner for owner in owners if owner is not None]  # owned accounts: never None
            if not ids:
                break
            lapsed += _lapse_chunk(scheme, ids, actor=actor)
            after = ids[-1]
    return lapsed


def _lapse_chunk(scheme: ProgramScheme, participant_ids: list[int], *, actor: Actor) -> int:
    now = timezone.now()
    with transaction.atomic():
        # Participants first (as purchases, the expiry job and revocation lock them), then their
        # balances are read again: a purchase or a refund committed meanwhile is counted.
        locked = list(
            Participant.objects.select_for_update()
            .filter(pk__in=participant_ids, scheme=scheme)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        accounts = dict(
            Account.objects.filter(
                kind=AccountKind.TRAINING_BALANCE, owner_id__in=locked
            ).values_list("owner_id", "pk")
        )
        amounts = dict(
            Balance.objects.filter(account_id__in=accounts.values(), amount__gt=0).values_list(
                "account_id", "amount"
            )
        )
        keys = {pk: lapse_key(scheme.code, pk) for pk in locked if accounts.get(pk) in amounts}
        done = set(
            Transaction.objects.filter(idempotency_key__in=keys.values()).values_list(
                "idempotency_key", flat=True
            )
        )
        for pk in sorted(pk for pk, key in keys.items() if key in done):
            # Money reached a balance after it lapsed: not by this app's services (an expiry
            # after the date returns the price to the treasury). Left for an operator to see.
            logger.warning(
                "training balance of participant %s holds Rp%s after its lapse",
                pk,
                amounts[accounts[pk]],
            )
        due = {pk: amounts[accounts[pk]] for pk, key in keys.items() if key not in done}
        treasury = account_get_or_create(kind=AccountKind.TREASURY_RETURN).pk
        if due:
            transactions_post_bulk(
                kind="balance_lapse",
                postings=[
                    Posting(keys[pk], ((accounts[pk], -amount), (treasury, amount)))
                    for pk, amount in sorted(due.items())
                ],
                actor=actor,
                memo=f"Scheme {scheme.code}: balance lapsed on its expiry date",
            )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    occurred_at=now,
                    actor_kind=actor.kind,
                    actor_id=actor.id,
                    actor_label=actor.label,
                    event_type="participant.balance_lapsed",
                    subject_type=Participant._meta.label_lower,
                    subject_id=str(pk),
                    details={
                        "scheme": scheme.code,
                        "balance_expiry_date": scheme.balance_expiry_date.isoformat(),
                        "lapsed_idr": amount,
                    },
                )
                for pk, amount in sorted(due.items())
            ]
        )
    return len(due)
