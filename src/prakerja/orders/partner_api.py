"""The partner API's voucher and order calls (partner-api.md, "Digital platforms"): a platform looks
up and redeems the vouchers it sold, reports progress and completion, and lists its orders for its
reconciliation. Platforms only (403 PARTNER_KIND_NOT_ALLOWED for financial institutions); every POST
is idempotent by X-EXTERNAL-ID. Times are answered in WIB (ISO 8601 with +07:00).

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from prakerja.catalog.partner_api import Text
from prakerja.common.actors import Actor
from prakerja.orders import services
from prakerja.orders.models import Order
from prakerja.orders.selectors import iso_wib, order_status_shown, platform_orders_page
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.api import answer_once, caller, errors
from prakerja.partners.models import PartnerKind

vouchers_router: Router = Router(tags=["vouchers"])
orders_router: Router = Router(tags=["orders"])

BIGINT_MAX = 2**63 - 1
VOUCHER_CODE_MAX = 40  # 13 symbols, with the hyphens and spaces people type around them


def _utc(value: datetime.datetime) -> datetime.datetime:
    """A time far enough at the edge of the calendar that it has no UTC equivalent (year 1 ahead of
    UTC, year 9999 behind it) is out of range, not a server error."""
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise PydanticCustomError("out_of_range", "the time is outside the calendar") from None


Moment = Annotated[AwareDatetime, AfterValidator(_utc)]

STATUS_DESCRIPTION = (
    "`issued` (not yet redeemed), `redeemed`, `completed`, `expired` (unredeemed after "
    "`expires_at`: the price went back to the participant), `refunded` or `cancelled`."
)
VOUCHER_CODE_DESCRIPTION = (
    "The voucher code as the participant shows it (`ABCD-EFGH-JKMN-P`: 12 symbols of Crockford's "
    "base32 and a check symbol). Upper or lower case, with or without hyphens and spaces; O is read "
    "as 0, I and L as 1."
)
ORDER_ID_DESCRIPTION = "The order's id, as `POST /vouchers/redeem` answered it."


def _voucher_code() -> Any:
    return Field(
        min_length=1,
        max_length=VOUCHER_CODE_MAX,
        description=VOUCHER_CODE_DESCRIPTION,
        examples=["7K3M-Q9TX-2RWH-5"],
    )


class VoucherIn(Schema):
    voucher_code: Text = _voucher_code()


class RedeemIn(Schema):
    voucher_code: Text = _voucher_code()
    platform_user_ref: Text = Field(
        min_length=1,
        max_length=services.PLATFORM_USER_REF_MAX,
        description="Your id of the user who redeems the voucher (kept for reconciliation).",
    )


class VoucherStatusOut(Schema):
    voucher_code: str = Field(description="Grouped as shown to the participant.")
    status: Literal["issued", "redeemed", "completed", "expired", "refunded", "cancelled"] = Field(
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
    percent: int = Field(strict=True, ge=0, le=100, description="Progress, 0 to 100.")
    sessions_attended: int = Field(strict=True, ge=0, le=services.SESSIONS_MAX)
    reported_at: Moment = Field(
        description="When you measured it, ISO 8601 with offset; not more than five minutes ahead "
        "of the server clock (`IN_THE_FUTURE`)."
    )


class ProgressOut(Schema):
    order_id: int
    percent: int


class CompletionIn(Schema):
    completed_at: Moment = Field(
        description="ISO 8601 with offset; not before redemption (`BEFORE_REDEMPTION`), not more "
        "than five minutes ahead of the server clock (`IN_THE_FUTURE`)."
    )
    final_score: int = Field(strict=True, ge=0, le=100, description="The final task or test score.")
    certificate_number: Text = Field(min_length=1, max_length=services.CERTIFICATE_NUMBER_MAX)
    certificate_url: Text = Field(
        min_length=1,
        max_length=services.CERTIFICATE_URL_MAX,
        description="Where the participant gets the certificate (http or https).",
        json_schema_extra={"format": "uri"},
    )


class CompletionOut(Schema):
    order_id: int
    status: Literal["completed"]


class OrderItemOut(Schema):
    order_id: int
    voucher_code: str
    training_external_id: str
    status: str = Field(description=STATUS_DESCRIPTION)
    percent: int
    sessions_attended: int
    completed_at: datetime.datetime | None
    certificate_number: str
    price_idr: int
    updated_at: datetime.datetime = Field(description="The order's last change (WIB).")


class OrdersPageOut(Schema):
    items: list[OrderItemOut]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null on the last page."
    )


class OrdersQuery(Schema):
    updated_since: Moment | None = Field(
        None, description="Only orders changed at or after this time (ISO 8601 with offset)."
    )
    cursor: str = Field("", max_length=200, description="`next_cursor` of the previous page.")


def _order_id() -> Any:
    return Path(..., ge=1, le=BIGINT_MAX, description=ORDER_ID_DESCRIPTION)


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
PROGRESS_ERRORS, PROGRESS_DOCS = errors(
    {
        404: ORDER_NOT_FOUND,
        409: "`ORDER_NOT_REDEEMED`; `ORDER_ALREADY_COMPLETED`; `PROGRESS_BACKWARDS`: a lower "
        "percent or fewer sessions than recorded (`details` holds the recorded values). The same "
        "values again are accepted.",
    }
)
PROGRESS_DOCS["responses"][200] = {"description": "Recorded (or the same as recorded)."}
COMPLETION_ERRORS, COMPLETION_DOCS = errors(
    {
        404: ORDER_NOT_FOUND,
        409: "`ORDER_NOT_REDEEMED` (not redeemed yet, or expired); `ORDER_ALREADY_COMPLETED`.",
        422: "`completed_at`: `IN_THE_FUTURE`, `BEFORE_REDEMPTION`; `certificate_url`: "
        "`URL_INVALID`.",
    }
)
COMPLETION_DOCS["responses"][200] = {"description": "Completed."}
LIST_ERRORS, LIST_DOCS = errors({422: "`cursor`: `CURSOR_INVALID`."})
for _table in (LIST_ERRORS, LIST_DOCS["responses"]):
    _table.pop(409)  # a GET claims no idempotency key
LIST_DOCS["responses"][200] = {"description": "A page of your orders."}


@orders_router.post(
    "/{order_id}/progress",
    response={200: ProgressOut, **PROGRESS_ERRORS},
    openapi_extra=PROGRESS_DOCS,
    summary="Report progress",
    operation_id="order_progress",
)
def order_progress(
    request: HttpRequest, payload: ProgressIn, order_id: int = _order_id()
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
    request: HttpRequest, payload: CompletionIn, order_id: int = _order_id()
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
    page = platform_orders_page(
        platform=platform, updated_since=params.updated_since, cursor=params.cursor
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
        "next_cursor": page.next_cursor,
    }
