"""The rules of the order path, written once as pure functions over plain values: the order's
transition table, when a voucher expires and a balance lapses, the refusal ladders of a purchase, a
redemption and a platform's report (progress and completion), and the rule of reported times. The
set-based entry points (orders/purchase.py, redemption.py, completion.py), whose one-item calls are
the per-request services, and the progress report (orders/progress.py) decide by these alone.

The times a platform reports (partner-api.md, "Conventions"): `completed_at`, `reported_at` and
`updated_since` are compared with the system's own times at one-second precision, and a time before
the voucher's redemption second (completion and progress) or more than five minutes ahead of the
server clock is refused; the orders list applies the same rule.

Why whole seconds: the system stores its times to the microsecond, a platform writes RFC 3339 to the
second (partner-api.md's own examples do). Compared to the microsecond, a completion reported in the
same second as the redemption, in whole seconds, came "before" it (10:00:05 < 10:00:05.48).

Why 409 and not 422: a time's relation to the server clock or to the redemption is not something a
JSON schema can state, and every 422 of the partner API is a refusal its schema describes (a client
that validates against the schema knows which bodies are well formed; a body can be well formed and
still not fit the order's state, which is what 409 says)."""

import datetime
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from prakerja.catalog.models import TrainingStatus
from prakerja.common.errors import (
    ApplicationError,
    Conflict,
    InsufficientBalance,
    NotFound,
    ValidationFailed,
)
from prakerja.common.timeutil import WIB
from prakerja.orders.errors import (
    BalanceExpired,
    OrderAlreadyCompleted,
    OrderAlreadyOpen,
    OrderNotFound,
    OrderNotRedeemed,
    ParticipantNotActive,
    ProgressBackwards,
    PurchaseWindowOver,
    TrainingNotAvailable,
    VoucherAlreadyRedeemed,
    VoucherCancelled,
    VoucherExpired,
    VoucherOtherPlatform,
)
from prakerja.orders.models import OrderStatus
from prakerja.orders.selectors import iso_wib
from prakerja.partners.models import PartnerStatus
from prakerja.waves.models import ParticipantStatus, ProgramScheme

# The same five minutes as X-TIMESTAMP's allowed skew (partners/auth.py), for the same clocks.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)

BEFORE_REDEMPTION = "BEFORE_REDEMPTION"
IN_THE_FUTURE = "IN_THE_FUTURE"


class TimeOutOfRange(Conflict):
    """A reported time that is well formed but cannot be true of the order: before its redemption
    second or more than five minutes ahead of the server clock. `details` names the field with
    BEFORE_REDEMPTION or IN_THE_FUTURE and gives the time it was compared with (`redeemed_at` or
    `server_time`, in WIB to the second)."""

    code = "TIME_OUT_OF_RANGE"
    message_id = (
        "Waktu yang dilaporkan tidak mungkin: sebelum voucher ditukar atau lebih dari 5 menit "
        "setelah jam server. Lihat `details`."
    )
    message_en = (
        "The reported time cannot be right: before the voucher was redeemed or more than 5 minutes "
        "ahead of the server clock. See `details`."
    )


def whole_second(moment: datetime.datetime) -> datetime.datetime:
    """The second a time falls in, in UTC (offsets are whole minutes, so the second is the same in
    every zone)."""
    return moment.astimezone(datetime.UTC).replace(microsecond=0)


def reported_time_problem(
    moment: datetime.datetime,
    *,
    now: datetime.datetime,
    redeemed_at: datetime.datetime | None = None,
) -> str | None:
    """BEFORE_REDEMPTION, IN_THE_FUTURE, or None for a time the system accepts. `moment` and the
    others are aware times; `redeemed_at` is None where no redemption bounds the time (the orders
    list's `updated_since`)."""
    second = whole_second(moment)
    if redeemed_at is not None and second < whole_second(redeemed_at):
        return BEFORE_REDEMPTION
    if second > whole_second(now) + FUTURE_TOLERANCE:
        return IN_THE_FUTURE
    return None


def _shown(moment: datetime.datetime) -> str:
    return whole_second(moment).astimezone(WIB).isoformat()


def reported_time_refusal(
    field: str,
    moment: datetime.datetime,
    *,
    now: datetime.datetime,
    redeemed_at: datetime.datetime | None = None,
) -> TimeOutOfRange | None:
    """The refusal of a reported time (TIME_OUT_OF_RANGE naming `field`), or None when it is
    accepted. The details give the second it was compared with, as the partner API writes times."""
    problem = reported_time_problem(moment, now=now, redeemed_at=redeemed_at)
    if problem is None:
        return None
    if problem == BEFORE_REDEMPTION:
        assert redeemed_at is not None
        return TimeOutOfRange(details={field: problem, "redeemed_at": _shown(redeemed_at)})
    return TimeOutOfRange(details={field: problem, "server_time": _shown(now)})


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
# Every status change of an order is one set-based UPDATE from the one status the refusal ladders
# below leave (issued for a redemption and an expiry, redeemed for a completion): the table must
# allow those moves, so it is checked here, once, rather than row by row.
assert OrderStatus.REDEEMED in TRANSITIONS[OrderStatus.ISSUED]
assert OrderStatus.EXPIRED in TRANSITIONS[OrderStatus.ISSUED]
assert OrderStatus.COMPLETED in TRANSITIONS[OrderStatus.REDEEMED]

PLATFORM_USER_REF_MAX = 100
CERTIFICATE_NUMBER_MAX = 100
CERTIFICATE_URL_MAX = 500
SESSIONS_MAX = 10_000


# --- dates ----------------------------------------------------------------------------------------


def voucher_expiry(issued_at: datetime.datetime, valid_days: int) -> datetime.datetime:
    """The end (23:59:59 WIB) of the voucher's last day, `valid_days` days after the day of
    purchase (as waves count the first-purchase deadline)."""
    last_day = issued_at.astimezone(WIB).date() + datetime.timedelta(days=valid_days)
    return datetime.datetime.combine(last_day, datetime.time(23, 59, 59), tzinfo=WIB)


def balance_lapsed(scheme: ProgramScheme, moment: datetime.datetime) -> bool:
    """The scheme's balances may be spent through its expiry date (WIB) and lapse the day after."""
    return timezone.localdate(moment, timezone=WIB) > scheme.balance_expiry_date


# --- purchase -------------------------------------------------------------------------------------


@dataclass
class Buyer:
    """A locked participant as a purchase sees it; `balance` and `first_purchase_at` follow the
    purchases accepted before the one being decided."""

    status: str
    first_purchase_at: datetime.datetime | None
    purchase_deadline: datetime.datetime
    scheme: ProgramScheme
    account_id: int | None
    balance: int


class OnSale(NamedTuple):
    """A training as a purchase reads it (not locked: the hold comes last)."""

    pk: int
    status: str
    platform_id: int
    platform_status: str
    price_idr: int
    external_id: str
    title: str


def purchase_refusal(
    buyer: Buyer | None,
    participant_id: int,
    training_id: int,
    training: OnSale | None,
    already_open: bool,
    now: datetime.datetime,
) -> ApplicationError | None:
    """Why this purchase is refused, the first reason in this order, or None: NOT_FOUND (no such
    participant), PARTICIPANT_NOT_ACTIVE, PURCHASE_WINDOW_OVER (no first purchase by the
    deadline), BALANCE_EXPIRED, TRAINING_NOT_AVAILABLE (not active, or its platform not active),
    ORDER_ALREADY_OPEN (an issued or redeemed order of the training), INSUFFICIENT_BALANCE (the
    ledger's details: the balance does not cover the price)."""
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
        or training.status != TrainingStatus.ACTIVE
        or training.platform_status != PartnerStatus.ACTIVE
    ):
        return TrainingNotAvailable(details={"training_id": training_id})
    if already_open:
        return OrderAlreadyOpen(details={"training_id": training_id})
    if buyer.balance < training.price_idr:
        return InsufficientBalance(
            details={
                "account_id": buyer.account_id,
                "balance_idr": buyer.balance,
                "change_idr": -training.price_idr,
                "refused_accounts": 1,
            }
        )
    return None


# --- redemption -----------------------------------------------------------------------------------


def redeem_refusal(
    *,
    order_id: int,
    status: str,
    platform_id: int,
    expires_at: datetime.datetime,
    redeemer_id: int,
    now: datetime.datetime,
) -> ApplicationError | None:
    """Why the platform `redeemer_id` may not redeem this voucher, the first reason in this order,
    or None: VOUCHER_OTHER_PLATFORM, VOUCHER_ALREADY_REDEEMED (redeemed or completed),
    VOUCHER_CANCELLED (cancelled or refunded), VOUCHER_EXPIRED (expired, or issued and past its
    date: the daily job records the expiry and returns the price). None leaves an issued order."""
    if platform_id != redeemer_id:
        return VoucherOtherPlatform()
    if status in (OrderStatus.REDEEMED, OrderStatus.COMPLETED):
        return VoucherAlreadyRedeemed(details={"order_id": order_id})
    if status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return VoucherCancelled(details={"status": status})
    if status == OrderStatus.EXPIRED or expires_at < now:
        return VoucherExpired(details={"expires_at": iso_wib(expires_at)})
    return None


# --- a platform's reports: progress and completion ------------------------------------------------


def text_checked(value: Any, field: str, limit: int) -> str:
    """A required line of text, stripped; VALIDATION_FAILED naming the field REQUIRED or
    TOO_LONG."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(details={field: "REQUIRED"})
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed(details={field: "TOO_LONG"})
    return value


def whole_problem(value: Any, field: str, high: int, problems: dict[str, str]) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        problems[field] = "INTEGER_REQUIRED"
    elif not 0 <= value <= high:
        problems[field] = "OUT_OF_RANGE"


def moment_problem(value: Any, field: str, problems: dict[str, str]) -> None:
    """A reported time must say its offset; its range is checked against the order, once it is
    read (reported_time_refusal)."""
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        problems[field] = "OFFSET_REQUIRED"


def report_refusal(order_id: int, status: str | None) -> ApplicationError | None:
    """Whether a platform may report on this order (None: it is redeemed): ORDER_NOT_FOUND (none,
    or another platform's), ORDER_ALREADY_COMPLETED, ORDER_NOT_REDEEMED (not yet, or expired)."""
    if status is None:
        return OrderNotFound(details={"order_id": order_id})
    if status == OrderStatus.COMPLETED:
        return OrderAlreadyCompleted(details={"order_id": order_id})
    if status != OrderStatus.REDEEMED:
        return OrderNotRedeemed(details={"order_id": order_id, "status": status})
    return None


def progress_inputs_refusal(
    percent: Any, sessions_attended: Any, reported_at: Any
) -> ValidationFailed | None:
    problems: dict[str, str] = {}
    whole_problem(percent, "percent", 100, problems)
    whole_problem(sessions_attended, "sessions_attended", SESSIONS_MAX, problems)
    moment_problem(reported_at, "reported_at", problems)
    return ValidationFailed(details=problems) if problems else None


def progress_backwards(
    percent: int, sessions: int, *, recorded_percent: int, recorded_sessions: int
) -> ProgressBackwards | None:
    """Progress never goes backwards: fewer percent or sessions than recorded is refused."""
    if percent < recorded_percent or sessions < recorded_sessions:
        return ProgressBackwards(
            details={"percent": recorded_percent, "sessions_attended": recorded_sessions},
            percent=recorded_percent,
            sessions=recorded_sessions,
        )
    return None


_URL = URLValidator(schemes=["http", "https"])


class Completed(NamedTuple):
    """A completion accepted: the values written and the audit event's details."""

    order_id: int
    completed_at: datetime.datetime
    final_score: int
    certificate_number: str
    certificate_url: str
    fast: bool
    details: dict[str, Any]


def completion_decided(
    *,
    order_id: int,
    status: str | None,
    redeemed_at: datetime.datetime | None,
    duration_hours: int,
    completed_at: Any,
    final_score: Any,
    certificate_number: Any,
    certificate_url: Any,
    now: datetime.datetime,
) -> ApplicationError | Completed:
    """The refusal of a completion, the first in this order, or the completion: report_refusal,
    then VALIDATION_FAILED naming every field at fault (completed_at OFFSET_REQUIRED, final_score
    OUT_OF_RANGE, certificate_url URL_INVALID, …), then TIME_OUT_OF_RANGE (completed_at before the
    redemption second or more than five minutes ahead). A completion sooner after redemption than
    the training's duration is accepted and flagged (flag_fast_completion) for the PMO."""
    refusal = report_refusal(order_id, status)
    if refusal is not None:
        return refusal
    assert redeemed_at is not None
    problems: dict[str, str] = {}
    moment_problem(completed_at, "completed_at", problems)
    whole_problem(final_score, "final_score", 100, problems)
    number = url = ""
    try:
        number = text_checked(certificate_number, "certificate_number", CERTIFICATE_NUMBER_MAX)
    except ValidationFailed as error:
        problems.update(error.details)
    try:
        url = text_checked(certificate_url, "certificate_url", CERTIFICATE_URL_MAX)
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
    took = completed_at - redeemed_at
    fast = took < datetime.timedelta(hours=duration_hours)
    details = {
        "from": status,
        "completed_at": completed_at.isoformat(),
        "final_score": final_score,
        "certificate_number": number,
        "hours_after_redemption": round(took.total_seconds() / 3600, 2),
        "duration_hours": duration_hours,
        "flag_fast_completion": fast,
    }
    return Completed(order_id, completed_at, final_score, number, url, fast, details)
