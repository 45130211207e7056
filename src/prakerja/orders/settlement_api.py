"""`GET /settlements/{yyyy-mm}` of the partner API (partner-api.md, "Digital platforms"): what the
PMO owes the platform for the vouchers redeemed on it in a month.

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

import re
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema
from pydantic import WithJsonSchema

from prakerja.common.errors import ValidationFailed
from prakerja.orders.settlements import PERIOD_PATTERN, settlement_statement
from prakerja.partners.api import caller, errors
from prakerja.partners.models import PartnerKind

router: Router = Router(tags=["settlements"])

# The document states the services' own pattern, so a period valid against it is never refused.
# A month not begun yet is an empty `open` statement.
_PERIOD = re.compile(PERIOD_PATTERN)
PERIOD_DESCRIPTION = (
    "The month as `yyyy-mm` (WIB calendar month), from `2020-01` to `2099-12`: anything else is "
    "`422 VALIDATION_FAILED` with `details.period` = `PERIOD_INVALID`. A month that has not ended "
    "answers `open` with the totals so far (none for a month not begun)."
)


def period_accepted(period: str) -> str:
    """The period as given when it is a month the API answers for; otherwise 422 naming `period`.
    Checked before the statement is read."""
    if not _PERIOD.fullmatch(period):
        raise ValidationFailed(details={"period": "PERIOD_INVALID"})
    return period


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
    # The pattern is documented, not enforced by the schema: a mismatch would read
    # CHARACTER_INVALID (the partner API's code for its other patterns); period_accepted says
    # PERIOD_INVALID.
    period: Annotated[
        str,
        WithJsonSchema(
            {"type": "string", "pattern": PERIOD_PATTERN, "minLength": 7, "maxLength": 7}
        ),
    ] = Path(..., description=PERIOD_DESCRIPTION, examples=["2020-05"]),
) -> dict:
    """The vouchers redeemed on your platform in the calendar month (WIB) and what they are worth.
    A month in progress answers `open` with the totals so far. The month is `yyyy-mm` from 2020-01
    to 2099-12; anything else is `422 VALIDATION_FAILED` naming `period` (`PERIOD_INVALID`)."""
    platform = caller(request, kind=PartnerKind.PLATFORM)
    return settlement_statement(platform=platform, period=period_accepted(period))
