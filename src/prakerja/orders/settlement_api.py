"""`GET /settlements/{yyyy-mm}` of the partner API (partner-api.md, "Digital platforms"): what the
PMO owes the platform for the vouchers redeemed on it in a month.

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

import datetime
import re
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Router, Schema
from pydantic import WithJsonSchema

from prakerja.common.errors import ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.orders.settlements import settlement_statement
from prakerja.partners.api import caller, errors
from prakerja.partners.models import PartnerKind

router: Router = Router(tags=["settlements"])

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_PERIOD = re.compile(PERIOD_PATTERN)
# No redemption is older than the program (April 2020): January 2020 leaves room for nothing to be
# missed. The month after the current one (WIB) is the latest, so that a partner whose clock runs a
# little ahead at a month's turn is answered an empty month rather than refused.
EARLIEST_PERIOD = (2020, 1)
PERIOD_DESCRIPTION = (
    "The month as `yyyy-mm` (WIB calendar month): from `2020-01` to the month after the current "
    "one. Anything else is `422 VALIDATION_FAILED` with `details.period`: `PERIOD_INVALID` (not "
    "`yyyy-mm` with a month 01–12) or `OUT_OF_RANGE` (before 2020-01 or after next month)."
)


def period_accepted(period: str, *, now: datetime.datetime | None = None) -> str:
    """The period as given when it is a month the API answers for; otherwise 422 naming `period`.
    Checked before the statement is read: a month far outside the calendar the database stores
    (0001-01, 9999-12) cannot even be turned into the times it spans."""
    if not _PERIOD.fullmatch(period):
        raise ValidationFailed(details={"period": "PERIOD_INVALID"})
    month = (int(period[:4]), int(period[5:]))
    today = (now or timezone.now()).astimezone(WIB).date()
    latest = (today.year + today.month // 12, today.month % 12 + 1)
    if not EARLIEST_PERIOD <= month <= latest:
        raise ValidationFailed(details={"period": "OUT_OF_RANGE"})
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
    to the month after the current one; anything else is `422 VALIDATION_FAILED` naming `period`
    (`PERIOD_INVALID` or `OUT_OF_RANGE`)."""
    platform = caller(request, kind=PartnerKind.PLATFORM)
    return settlement_statement(platform=platform, period=period_accepted(period))
