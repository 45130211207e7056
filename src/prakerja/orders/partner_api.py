"""The partner API's voucher and order calls (partner-api.md, "Digital platforms"): a platform looks
up and redeems the vouchers it sold, reports progress and completion, and lists its orders for its
reconciliation. Platforms only (403 PARTNER_KIND_NOT_ALLOWED for financial institutions); every POST
is idempotent by X-EXTERNAL-ID. Times are answered in WIB (ISO 8601 with +07:00).

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

import datetime
import re
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema
from pydantic import AfterValidator, BeforeValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.orders import services
from prakerja.orders.models import Order
from prakerja.orders.rules import reported_time_refusal
from prakerja.orders.selectors import (
    cursor_decode,
    cursor_encode,
    iso_wib,
    order_status_shown,
    platform_orders_page,
)
from prakerja.orders.vouchers import ALPHABET, CHECK_ALPHABET, voucher_code_format
from prakerja.partners.api import answer_once, caller, errors
from prakerja.partners.fields import WEB_ADDRESS_RULE, Line, Moment, WebAddress, Whole
from prakerja.partners.models import PartnerKind

vouchers_router: Router = Router(tags=["vouchers"])
orders_router: Router = Router(tags=["orders"])

BIGINT_MAX = 2**63 - 1
VOUCHER_CODE_MAX = 40  # 13 symbols, with the hyphens and spaces people type around them

STATUSES = Literal["issued", "redeemed", "completed", "expired", "refunded", "cancelled"]
STATUS_DESCRIPTION = (
    "`issued` (not yet redeemed), `redeemed`, `completed`, `expired` (unredeemed after "
    "`expires_at`: the price went back to the participant), `refunded` or `cancelled`."
)
VOUCHER_CODE_DESCRIPTION = (
    "The voucher code as the participant shows it (`ABCD-EFGH-JKMN-P`: 12 symbols of Crockford's "
    "base32 and a check symbol). Upper or lower case, with or without hyphens and spaces; O is read "
    "as 0, I and L as 1. A code that cannot be one (wrong length or symbol, wrong check symbol) is "
    "`404 VOUCHER_NOT_FOUND`, as an unknown one."
)
# Every answer and event spells a code one way: grouped by four, upper case (vouchers.py).
_SYMBOL = "[" + ALPHABET + "]"
_CHECK = "[" + CHECK_ALPHABET + "]"  # "*~$=" are literal in a character class
VOUCHER_CODE_SHOWN = rf"^{_SYMBOL}{{4}}-{_SYMBOL}{{4}}-{_SYMBOL}{{4}}-{_CHECK}$"
ORDER_ID_DESCRIPTION = "The order's id, as `POST /vouchers/redeem` answered it."
TIME_DESCRIPTION = (
    "RFC 3339 with an offset (`2020-04-22T17:36:00+07:00`, `2020-04-22T10:36:00Z`); whole seconds "
    "are enough: it is compared with the system's times to the second."
)


def _voucher_code() -> Any:
    return Field(
        min_length=1,
        max_length=VOUCHER_CODE_MAX,
        description=VOUCHER_CODE_DESCRIPTION,
        examples=["7K3M-Q9TX-2RWH-5"],
    )


def _voucher_code_out() -> Any:
    return Field(
        pattern=VOUCHER_CODE_SHOWN,
        description="Grouped as shown to the participant (`ABCD-EFGH-JKMN-P`), in every answer.",
        examples=["7K3M-Q9TX-2RWH-5"],
    )


class VoucherIn(Schema):
    voucher_code: Line = _voucher_code()


class RedeemIn(Schema):
    voucher_code: Line = _voucher_code()
    platform_user_ref: Line = Field(
        min_length=1,
        max_length=services.PLATFORM_USER_REF_MAX,
        description="Your id of the user who redeems the voucher (kept for reconciliation).",
    )


class VoucherStatusOut(Schema):
    voucher_code: str = _voucher_code_out()
    status: STATUSES = Field(
        description=STATUS_DESCRIPTION
        + " An issued voucher past `expires_at` is already reported `expired`."
    )
    training_external_id: str
    price_idr: int = Field(description="The price paid, integer rupiah.")
    participant_ref: str = Field(
        description="The participant's pseudonym on your platform: the same for all their "
        "vouchers with you, never the NIK.",
        examples=["pk_mfrggzdfmztwq2lknnwg"],
    )
    expires_at: datetime.datetime = Field(description="Redeem it before this time (WIB).")


class RedeemOut(Schema):
    order_id: int = Field(description="Use it for progress and completion.")
    training_external_id: str
    price_idr: int
    participant_ref: str


class ProgressIn(Schema):
    percent: Whole = Field(ge=0, le=100, description="Progress, 0 to 100.")
    sessions_attended: Whole = Field(ge=0, le=services.SESSIONS_MAX)
    reported_at: Moment = Field(
        description="When you measured it. "
        + TIME_DESCRIPTION
        + " Not before the redemption's second, not more than five minutes ahead of the server "
        "clock: `409 TIME_OUT_OF_RANGE` otherwise."
    )


class ProgressOut(Schema):
    order_id: int
    percent: int


class CompletionIn(Schema):
    completed_at: Moment = Field(
        description=TIME_DESCRIPTION
        + " Not before the redemption's second, not more than five minutes ahead of the server "
        "clock: `409 TIME_OUT_OF_RANGE` otherwise."
    )
    final_score: Whole = Field(ge=0, le=100, description="The final task or test score.")
    certificate_number: Line = Field(min_length=1, max_length=services.CERTIFICATE_NUMBER_MAX)
    certificate_url: WebAddress = Field(
        min_length=1,
        max_length=services.CERTIFICATE_URL_MAX,
        description="Where the participant gets the certificate. " + WEB_ADDRESS_RULE,
    )


class CompletionOut(Schema):
    order_id: int
    status: Literal["completed"]


class OrderItemOut(Schema):
    order_id: int
    voucher_code: str = _voucher_code_out()
    training_external_id: str
    status: STATUSES = Field(description=STATUS_DESCRIPTION)
    percent: int
    sessions_attended: int
    completed_at: datetime.datetime | None
    certificate_number: str
    price_idr: int
    updated_at: datetime.datetime = Field(description="The order's last change (WIB).")


# The page cursor: the last item's (updated_at, id) as microseconds since 1970 (UTC) and the id.
# Every string of this form is a cursor the list can start from (the largest values are in the
# year 2286 and below 2**63), so the pattern is the whole rule and no cursor is refused.
CURSOR_PATTERN = r"^(?:[0-9]{1,16}\.[0-9]{1,18})?$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _cursor_text(value: str) -> str:
    if not _CURSOR.fullmatch(value):
        raise PydanticCustomError("cursor_invalid", "not a next_cursor of this list")
    return value


Cursor = Annotated[
    str,
    Strict(),
    AfterValidator(_cursor_text),
    WithJsonSchema({"type": "string", "pattern": CURSOR_PATTERN}),
]


def _cursor_of_page(next_cursor: str | None) -> str | None:
    """The API's spelling of the selector's cursor (the same two values)."""
    if next_cursor is None:
        return None
    moment, order_id = cursor_decode(next_cursor)
    return f"{(moment - _EPOCH) // datetime.timedelta(microseconds=1)}.{order_id}"


def _cursor_for_selector(cursor: str) -> str:
    if not cursor:
        return ""
    micros, order_id = cursor.split(".")
    moment = _EPOCH + datetime.timedelta(microseconds=int(micros))
    return cursor_encode(Order(pk=int(order_id), updated_at=moment))


class OrdersPageOut(Schema):
    items: list[OrderItemOut]
    next_cursor: str | None = Field(
        pattern=CURSOR_PATTERN,
        description="Pass it as `cursor` for the next page; null on the last page.",
    )


class OrdersQuery(Schema):
    updated_since: Moment | None = Field(
        None,
        description="Only orders changed at or after this time. "
        + TIME_DESCRIPTION
        + " Not more than five minutes ahead of the server clock (`409 TIME_OUT_OF_RANGE`).",
    )
    cursor: Cursor = Field(
        "", description="`next_cursor` of the previous page (empty for the first page)."
    )


def _digits(value: Any) -> Any:
    """A path holds text: an id is written in ASCII digits (not `+5`, ` 5`, `5.0` or `1_000`,
    which pydantic would read as numbers but the schema's integer is not)."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise PydanticCustomError("int_parsing", "an id is written in digits")
    return value


OrderId = Annotated[int, BeforeValidator(_digits)]


ORDER_ID = Path(..., ge=1, le=BIGINT_MAX, description=ORDER_ID_DESCRIPTION)


def _actor(request: HttpRequest) -> Actor:
    platform = caller(request)
    return Actor.partner(platform.pk, platform.code)


def _ref(order: Order) -> str:
    return services.participant_ref_of(
        platform_id=order.platform_id, participant_id=order.participant_id
    )


# --- vouchers ---------------------------------------------------------------------------------------

NOT_FOUND = (
    "`VOUCHER_NOT_FOUND`: no voucher has this code (also a malformed code: wrong length, a symbol "
    'outside the alphabet or a wrong check symbol; `details` is then `{"voucher_code": '
    '"MALFORMED"}`).'
)
STATUS_ERRORS, STATUS_DOCS = errors(
    {404: NOT_FOUND + " Another platform's voucher is also `404` here."}
)
STATUS_DOCS["responses"][200] = {"description": "Your voucher."}
REDEEM_ERRORS, REDEEM_DOCS = errors(
    {
        404: NOT_FOUND,
        403: "`VOUCHER_OTHER_PLATFORM`: the voucher was bought for another platform's training.",
        409: "`VOUCHER_ALREADY_REDEEMED` (also when it is completed).",
        410: "`VOUCHER_EXPIRED` (also an issued voucher past `expires_at`); `VOUCHER_CANCELLED` "
        "(cancelled or refunded).",
    }
)
REDEEM_DOCS["responses"][200] = {"description": "Redeemed: the price is now payable to you."}


@vouchers_router.post(
    "/status",
    response={200: VoucherStatusOut, **STATUS_ERRORS},
    openapi_extra=STATUS_DOCS,
    summary="Look up a voucher",
    operation_id="voucher_status",
)
def voucher_status(request: HttpRequest, payload: VoucherIn) -> HttpResponse:
    """The status of a voucher you sold, before you redeem it or at any time after."""
    platform = caller(request, kind=PartnerKind.PLATFORM)

    def work() -> tuple[int, dict[str, Any]]:
        order = services.voucher_status(platform=platform, voucher_code=payload.voucher_code)
        return 200, {
            "voucher_code": voucher_code_format(order.voucher_code),
            "status": order_status_shown(order),
            "training_external_id": order.training.external_id,
            "price_idr": order.price_idr,
            "participant_ref": _ref(order),
            "expires_at": iso_wib(order.expires_at),
        }

    return answer_once(request, work)


@vouchers_router.post(
    "/redeem",
    response={200: RedeemOut, **REDEEM_ERRORS},
    openapi_extra=REDEEM_DOCS,
    summary="Redeem a voucher",
    operation_id="voucher_redeem",
)
def voucher_redeem(request: HttpRequest, payload: RedeemIn) -> HttpResponse:
    """Redeem a voucher of one of your trainings, once: the participant starts the training with
    you, and the price becomes payable to you. Only the platform that sold the voucher can redeem
    it, and only until `expires_at`."""
    platform = caller(request, kind=PartnerKind.PLATFORM)

    def work() -> tuple[int, dict[str, Any]]:
        order = services.voucher_redeem(
            platform=platform,
            voucher_code=payload.voucher_code,
            platform_user_ref=payload.platform_user_ref,
            actor=_actor(request),
        )
        return 200, {
            "order_id": order.pk,
            "training_external_id": order.training.external_id,
            "price_idr": order.price_idr,
            "participant_ref": _ref(order),
        }

    return answer_once(request, work)


# --- orders -------------------------------------------------------------------------------------------

ORDER_NOT_FOUND = "`ORDER_NOT_FOUND`: not an order of yours."
TIME_REFUSAL = (
    "`TIME_OUT_OF_RANGE`: `details` names the time (`{field}`) with `BEFORE_REDEMPTION` (before "
    "the second of the redemption, given as `redeemed_at`) or `IN_THE_FUTURE` (more than five "
    "minutes ahead of the server clock, given as `server_time`)."
)
PROGRESS_ERRORS, PROGRESS_DOCS = errors(
    {
        404: ORDER_NOT_FOUND,
        409: "`ORDER_NOT_REDEEMED`; `ORDER_ALREADY_COMPLETED`; `PROGRESS_BACKWARDS`: a lower "
        "percent or fewer sessions than recorded (`details` holds the recorded values; the same "
        "values again are accepted); " + TIME_REFUSAL.format(field="reported_at"),
    }
)
PROGRESS_DOCS["responses"][200] = {"description": "Recorded (or the same as recorded)."}
COMPLETION_ERRORS, COMPLETION_DOCS = errors(
    {
        404: ORDER_NOT_FOUND,
        409: "`ORDER_NOT_REDEEMED` (not redeemed yet, or expired); `ORDER_ALREADY_COMPLETED`; "
        + TIME_REFUSAL.format(field="completed_at"),
    }
)
COMPLETION_DOCS["responses"][200] = {"description": "Completed."}
LIST_ERRORS, LIST_DOCS = errors()
# A GET claims no idempotency key; its only conflict is a time ahead of the clock.
LIST_DOCS["responses"][409] = {
    "description": "`TIME_OUT_OF_RANGE`: `details.updated_since` is `IN_THE_FUTURE` (more than "
    "five minutes ahead of the server clock, given as `server_time`)."
}
LIST_DOCS["responses"][200] = {"description": "A page of your orders."}


@orders_router.post(
    "/{order_id}/progress",
    response={200: ProgressOut, **PROGRESS_ERRORS},
    openapi_extra=PROGRESS_DOCS,
    summary="Report progress",
    operation_id="order_progress",
)
def order_progress(
    request: HttpRequest, payload: ProgressIn, order_id: OrderId = ORDER_ID
) -> HttpResponse:
    """Attendance and progress of a redeemed order. Progress never goes backwards."""
    platform = caller(request, kind=PartnerKind.PLATFORM)

    def work() -> tuple[int, dict[str, Any]]:
        order = services.order_progress_report(
            platform=platform,
            order_id=order_id,
            percent=payload.percent,
            sessions_attended=payload.sessions_attended,
            reported_at=payload.reported_at,
            actor=_actor(request),
        )
        return 200, {"order_id": order.pk, "percent": order.percent}

    return answer_once(request, work)


@orders_router.post(
    "/{order_id}/completion",
    response={200: CompletionOut, **COMPLETION_ERRORS},
    openapi_extra=COMPLETION_DOCS,
    summary="Report completion",
    operation_id="order_completion",
)
def order_completion(
    request: HttpRequest, payload: CompletionIn, order_id: OrderId = ORDER_ID
) -> HttpResponse:
    """Completion of a redeemed order with the final score and the certificate. A completion sooner
    after redemption than the training's `duration_hours` is accepted and flagged for review."""
    platform = caller(request, kind=PartnerKind.PLATFORM)

    def work() -> tuple[int, dict[str, Any]]:
        order = services.order_complete(
            platform=platform,
            order_id=order_id,
            completed_at=payload.completed_at,
            final_score=payload.final_score,
            certificate_number=payload.certificate_number,
            certificate_url=payload.certificate_url,
            actor=_actor(request),
        )
        return 200, {"order_id": order.pk, "status": order.status}

    return answer_once(request, work)


@orders_router.get(
    "",
    response={200: OrdersPageOut, **LIST_ERRORS},
    openapi_extra=LIST_DOCS,
    summary="List your orders",
    operation_id="orders_list",
)
def orders_list(request: HttpRequest, params: Query[OrdersQuery]) -> dict[str, Any]:
    """Your orders, for your reconciliation, in the order of their last change (then id), 100 a
    page. Poll with `updated_since` a few minutes before the latest `updated_at` you saw: a change
    committed a moment late can carry an earlier time."""
    platform = caller(request, kind=PartnerKind.PLATFORM)
    if params.updated_since is not None:
        refusal = reported_time_refusal("updated_since", params.updated_since, now=clock.now())
        if refusal is not None:
            raise refusal
    page = platform_orders_page(
        platform=platform,
        updated_since=params.updated_since,
        cursor=_cursor_for_selector(params.cursor),
    )
    return {
        "items": [
            {
                "order_id": order.pk,
                "voucher_code": voucher_code_format(order.voucher_code),
                "training_external_id": order.training.external_id,
                "status": order.status,
                "percent": order.percent,
                "sessions_attended": order.sessions_attended,
                "completed_at": iso_wib(order.completed_at),
                "certificate_number": order.certificate_number,
                "price_idr": order.price_idr,
                "updated_at": iso_wib(order.updated_at),
            }
            for order in page.items
        ],
        "next_cursor": _cursor_of_page(page.next_cursor),
    }
