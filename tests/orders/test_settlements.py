"""Monthly settlement with platforms: the statement of the vouchers redeemed in a month, marked paid
once (ledger: the platform's payable → paid out), and `GET /settlements/{yyyy-mm}` of the partner
API."""

import datetime
import re
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import account_balance, ledger_integrity_report
from prakerja.orders.models import Order, Settlement, SettlementStatus
from prakerja.orders.services import order_purchase, voucher_redeem
from prakerja.orders.settlements import (
    Period,
    SettlementAlreadyPaid,
    SettlementPeriodOpen,
    settlement_mark_paid,
    settlement_prepare,
    settlements_prepare_due,
)
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import PartnerKind
from tests.catalog.kit import Caller, make_partner
from tests.orders.kit import active_training, credited, payable, platform, scheme_valid_for_a_year

pytestmark = pytest.mark.django_db
FINANCE = Actor("user", 7, "user:finance")


def paid_out() -> int:
    return account_balance(kind=AccountKind.PAID_OUT)


@pytest.fixture
def month() -> dict[str, Any]:
    """Two platforms; three participants; on Toko two vouchers redeemed (Rp300.000 and Rp450.000)
    and one never redeemed; on Pintar one redeemed (Rp200.000)."""
    scheme_valid_for_a_year()
    toko, toko_secret = platform("toko")
    pintar, _ = platform("pintar")
    kopi = active_training(toko, "kopi", price=300_000)
    roti = active_training(toko, "roti", price=450_000)
    jahit = active_training(pintar, "jahit", price=200_000)
    ani, budi, citra = credited(3)
    redeemed = []
    for who, training in ((ani, kopi), (budi, roti), (citra, jahit)):
        order = order_purchase(
            participant=who, training=training, actor=Actor.participant(who.registrant_id)
        )
        redeemed.append(
            voucher_redeem(
                platform=training.platform,
                voucher_code=order.voucher_code,
                platform_user_ref=f"user-{who.pk}",
                actor=Actor.partner(training.platform_id, "test"),
            )
        )
    unredeemed = order_purchase(
        participant=ani, training=roti, actor=Actor.participant(ani.registrant_id)
    )
    code = redeemed[0].redeemed_at.astimezone(WIB).strftime("%Y-%m")  # type: ignore[union-attr]
    return {
        "toko": toko,
        "toko_secret": toko_secret,
        "pintar": pintar,
        "redeemed": redeemed,
        "unredeemed": unredeemed,
        "period": code,
        "after": Period.parse(code).ends,
    }


def test_a_month_is_the_calendar_month_in_wib():
    may = Period.parse("2020-05")
    assert (may.starts, may.ends) == (
        datetime.datetime(2020, 4, 30, 17, 0, tzinfo=datetime.UTC),
        datetime.datetime(2020, 5, 31, 17, 0, tzinfo=datetime.UTC),
    )
    assert Period.parse("2020-02").ends - Period.parse("2020-02").starts == datetime.timedelta(29)
    assert Period.parse("2020-12").ends == datetime.datetime(2021, 1, 1, tzinfo=WIB)


@pytest.mark.parametrize(
    "code",
    ["2020-13", "2020-5", "20-05", "2020-00", "mei", "0000-01", "0001-01", "9999-12", "2019-12"],
)
def test_a_malformed_month_is_refused_naming_the_field(month: dict[str, Any], code: str):
    """Also a year outside 2020-2099, which once crashed turning the month into times."""
    with pytest.raises(ValidationFailed) as refused:
        settlement_prepare(platform=month["toko"], period=code, actor=FINANCE)

    assert refused.value.details == {
        "period": "must be a month as yyyy-mm from 2020-01 to 2099-12, e.g. 2020-05"
    }
    assert not Settlement.objects.exists()


def test_the_last_month_a_statement_can_be_for_is_2099_12():
    assert Period.parse("2099-12").ends == datetime.datetime(2100, 1, 1, tzinfo=WIB)


def test_a_month_that_has_not_ended_is_not_prepared(month: dict[str, Any]):
    before_end = month["after"] - datetime.timedelta(seconds=1)

    with pytest.raises(SettlementPeriodOpen):
        settlement_prepare(
            platform=month["toko"], period=month["period"], actor=FINANCE, now=before_end
        )

    assert not Settlement.objects.exists()


def test_the_statement_counts_the_redeemed_vouchers_of_the_platform_only(month: dict[str, Any]):
    statement, new = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )
    again, new_again = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )

    assert (new, new_again, again.pk) == (True, False, statement.pk)
    assert (statement.order_count, statement.amount_idr, statement.status) == (
        2,
        750_000,
        SettlementStatus.PREPARED,
    )
    assert payable(month["toko"]) == 750_000
    assert AuditEvent.objects.filter(event_type="settlement.prepared").count() == 1


def test_the_daily_job_prepares_last_month_for_every_platform_once(month: dict[str, Any]):
    first_day_after = month["after"] + datetime.timedelta(hours=3)

    assert settlements_prepare_due(now=first_day_after) == 2
    assert settlements_prepare_due(now=first_day_after) == 0
    assert sorted(
        Settlement.objects.values_list("platform__code", "order_count", "amount_idr")
    ) == [("pintar", 1, 200_000), ("toko", 2, 750_000)]


def test_marking_paid_moves_the_payable_out_once(month: dict[str, Any]):
    statement, _ = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )
    out_before = paid_out()

    paid = settlement_mark_paid(settlement=statement, payment_reference=" TRF-001 ", actor=FINANCE)

    assert (paid.status, paid.paid_by, paid.payment_reference) == (
        "paid",
        "user:finance",
        "TRF-001",
    )
    assert payable(month["toko"]) == 0
    assert paid_out() - out_before == 750_000
    assert payable(month["pintar"]) == 200_000  # not settled yet
    assert ledger_integrity_report().ok

    with pytest.raises(SettlementAlreadyPaid):
        settlement_mark_paid(settlement=statement, payment_reference="TRF-002", actor=FINANCE)
    assert paid_out() - out_before == 750_000
    assert Settlement.objects.get(pk=statement.pk).payment_reference == "TRF-001"


def test_marking_paid_needs_a_reference_and_changes_nothing_without(month: dict[str, Any]):
    statement, _ = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )

    with pytest.raises(ValidationFailed):
        settlement_mark_paid(settlement=statement, payment_reference="  ", actor=FINANCE)

    assert Settlement.objects.get(pk=statement.pk).status == SettlementStatus.PREPARED
    assert payable(month["toko"]) == 750_000


# --- GET /settlements/{yyyy-mm} ---------------------------------------------------------------------


def test_the_platform_reads_its_month_open_then_paid(client: Client, month: dict[str, Any]):
    toko = Caller(client, "toko", month["toko_secret"])
    first, second = month["redeemed"][0], month["redeemed"][1]

    def lines() -> list[dict[str, Any]]:
        return [
            {
                "order_id": order.pk,
                # grouped, as the orders list and the voucher status spell it
                "voucher_code": voucher_code_format(order.voucher_code),
                "training_external_id": order.training.external_id,
                "price_idr": order.price_idr,
                "redeemed_at": order.redeemed_at.astimezone(WIB).isoformat(),
            }
            for order in (first, second)
        ]

    running = toko("GET", f"/settlements/{month['period']}")
    statement, _ = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )
    settlement_mark_paid(settlement=statement, payment_reference="TRF-9", actor=FINANCE)
    paid_at = Settlement.objects.get(pk=statement.pk).paid_at
    settled = toko("GET", f"/settlements/{month['period']}")

    assert (running.status_code, running.json()) == (
        200,
        {
            "period": month["period"],
            "status": "open",
            "orders": 2,
            "amount_idr": 750_000,
            "paid_at": None,
            "payment_reference": "",
            "lines": lines(),
        },
    )
    assert (settled.status_code, settled.json()) == (
        200,
        {
            "period": month["period"],
            "status": "paid",
            "orders": 2,
            "amount_idr": 750_000,
            "paid_at": paid_at.astimezone(WIB).isoformat(),  # type: ignore[union-attr]
            "payment_reference": "TRF-9",
            "lines": lines(),
        },
    )


def test_a_month_without_redemptions_is_empty_and_a_malformed_one_is_422(
    client: Client, month: dict[str, Any]
):
    toko = Caller(client, "toko", month["toko_secret"])

    empty = toko("GET", "/settlements/2020-01")
    malformed = toko("GET", "/settlements/2020-13")

    assert empty.json() == {
        "period": "2020-01",
        "status": "open",
        "orders": 0,
        "amount_idr": 0,
        "paid_at": None,
        "payment_reference": "",
        "lines": [],
    }
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "VALIDATION_FAILED"
    assert malformed.json()["error"]["details"] == {"period": "PERIOD_INVALID"}


IMPOSSIBLE_PERIODS = [
    "0000-01",  # no year 0 in the calendar
    "0001-01",  # its start in UTC falls before year 1
    "9999-12",  # its end falls after year 9999
    "2019-12",  # before the program
    "2100-01",
    "2020-13",
    "2020-00",
    "20-01",
    "2020-1",
    "2020-01-01",
    "%EF%BC%92020-01",  # a full-width digit: \d would take it, [0-9] does not
]


@pytest.mark.parametrize("period", IMPOSSIBLE_PERIODS)
def test_an_impossible_period_is_422_naming_it_and_changes_nothing(
    client: Client, month: dict[str, Any], period: str
):
    # given a platform with redeemed vouchers and nothing prepared yet
    toko = Caller(client, "toko", month["toko_secret"])
    before = everything()

    # when it asks for a month that cannot be
    response = toko("GET", f"/settlements/{period}")

    # then it is the contract's 422 naming the period, and nothing was written
    assert (response.status_code, response["Content-Type"], response.json()) == (
        422,
        "application/json; charset=utf-8",
        {
            "error": {
                "code": "VALIDATION_FAILED",
                "message": "The submitted data is not valid. Check the fields named in details.",
                "details": {"period": "PERIOD_INVALID"},
            }
        },
    )
    assert everything() == before


def everything() -> dict[str, Any]:
    return {
        "settlements": list(Settlement.objects.values_list("pk", "status")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        "audit": AuditEvent.objects.count(),
        "ledger": ledger_integrity_report().ok,
        "payable": account_balance(kind=AccountKind.PLATFORM_PAYABLE),
    }


@pytest.mark.parametrize(
    "period", ["2020-01", "2020-05", "2029-12", "2099-12", *IMPOSSIBLE_PERIODS]
)
def test_the_documented_pattern_is_exactly_what_the_server_accepts(
    client: Client, month: dict[str, Any], period: str
):
    spec = client.get("/api/partner/v1/openapi.json").json()
    (parameter,) = [
        p
        for p in spec["paths"]["/api/partner/v1/settlements/{period}"]["get"]["parameters"]
        if p["in"] == "path"
    ]
    documented = re.fullmatch(parameter["schema"]["pattern"], unquote(period)) is not None

    response = Caller(client, "toko", month["toko_secret"])("GET", f"/settlements/{period}")

    assert response.status_code == (200 if documented else 422)


def test_the_openapi_document_states_the_accepted_periods(client: Client):
    spec = client.get("/api/partner/v1/openapi.json").json()
    (parameter,) = [
        p
        for p in spec["paths"]["/api/partner/v1/settlements/{period}"]["get"]["parameters"]
        if p["in"] == "path"
    ]

    assert parameter["name"] == "period"
    assert parameter["schema"]["pattern"] == "^(20[2-9][0-9])-(0[1-9]|1[0-2])$"
    assert (parameter["schema"]["minLength"], parameter["schema"]["maxLength"]) == (7, 7)
    assert "from `2020-01` to `2099-12`" in parameter["description"]


def test_a_financial_institution_cannot_read_settlements(client: Client, month: dict[str, Any]):
    _, secret = make_partner("bni", kind=PartnerKind.INSTITUTION)

    response = Caller(client, "bni", secret)("GET", f"/settlements/{month['period']}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PARTNER_KIND_NOT_ALLOWED"


def test_orders_unchanged_by_settlement(month: dict[str, Any]):
    before = list(Order.objects.order_by("pk").values_list("pk", "status", "updated_at"))
    statement, _ = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )
    settlement_mark_paid(settlement=statement, payment_reference="TRF-1", actor=FINANCE)

    assert list(Order.objects.order_by("pk").values_list("pk", "status", "updated_at")) == before


# --- console ----------------------------------------------------------------------------------------


def test_finance_sees_the_statement_and_marks_it_paid_in_the_console(
    admin_client: Client, month: dict[str, Any]
):
    statement, _ = settlement_prepare(
        platform=month["toko"], period=month["period"], actor=FINANCE, now=month["after"]
    )

    listing = admin_client.get("/admin/orders/settlement/")
    detail = admin_client.get(f"/admin/orders/settlement/{statement.pk}/change/")
    refused = admin_client.post(
        "/admin/orders/settlement/",
        {"action": "mark_paid", "_selected_action": [statement.pk], "reference": ""},
    )
    unpaid = Settlement.objects.get(pk=statement.pk).status
    done = admin_client.post(
        "/admin/orders/settlement/",
        {"action": "mark_paid", "_selected_action": [statement.pk], "reference": "TRF-77"},
    )

    assert listing.status_code == 200 and "Rp750.000" in listing.content.decode()
    assert detail.status_code == 200
    assert month["redeemed"][0].voucher_code in detail.content.decode()
    assert refused.status_code == 302 and unpaid == SettlementStatus.PREPARED
    assert done.status_code == 302
    paid = Settlement.objects.get(pk=statement.pk)
    assert (paid.status, paid.payment_reference) == (SettlementStatus.PAID, "TRF-77")
    assert payable(month["toko"]) == 0
