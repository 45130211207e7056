"""`GET /settlements/{yyyy-mm}` of the partner API (partner-api.md, "Digital platforms"): what the
PMO owes the platform for the vouchers redeemed on it in a month.

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema

from prakerja.orders.settlements import settlement_statement
from prakerja.partners.api import caller, errors
from prakerja.partners.models import PartnerKind

router: Router = Router(tags=["settlements"])


class SettlementLine(Schema):
    order_id: int
    voucher_code: str
    training_external_id: str
    price_idr: int
    redeemed_at: str = Field(description="ISO 8601 with offset (WIB).")


class SettlementOut(Schema):
    period: str = Field(examples=["2020-05"])
    status: Literal["open", "prepared", "paid"] = Field(
        description="`open` while the month runs (totals so far); `prepared` once the PMO has "
        "drawn up the month's statement; `paid` when it has been paid."
    )
    orders: int = Field(description="Vouchers redeemed on your platform in the month.")
    amount_idr: int = Field(description="What the PMO owes you for them, in rupiah.")
    paid_at: str | None = Field(description="When the PMO paid, ISO 8601; null until then.")
    payment_reference: str = Field(description="The reference of the PMO's transfer, once paid.")
    lines: list[SettlementLine] = Field(description="The redeemed orders, in redemption order.")


GET_ERRORS, GET_DOCS = errors()
GET_DOCS["responses"][200] = {"description": "The month's statement (or its totals so far)."}


@router.get(
    "/{period}",
    response={200: SettlementOut, **GET_ERRORS},
    openapi_extra=GET_DOCS,
    summary="Your statement for a month",
    operation_id="settlement_get",
)
def settlement_get(
    request: HttpRequest,
    period: str = Path(
        ..., description="The month as `yyyy-mm` (WIB calendar month).", examples=["2020-05"]
    ),
) -> dict:
    """The vouchers redeemed on your platform in the calendar month (WIB) and what they are worth.
    A month in progress answers `open` with the totals so far; a period that is not `yyyy-mm` is
    `422 VALIDATION_FAILED` naming `period`."""
    platform = caller(request, kind=PartnerKind.PLATFORM)
    return settlement_statement(platform=platform, period=period)
