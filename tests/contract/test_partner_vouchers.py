"""The partner API's voucher and order calls (partner-api.md, "Digital platforms"), through their
signed HTTP contract: POST /vouchers/status, POST /vouchers/redeem, POST /orders/{id}/progress,
POST /orders/{id}/completion and GET /orders — exact answers, the money in the ledger at each step,
and on every refused call nothing changed (orders, ledger legs and balances, events, audit)."""

import datetime
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.ledger.models import Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders import selectors
from prakerja.orders.daily import vouchers_expire_due
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase, participant_ref
from prakerja.orders.vouchers import CHECK_ALPHABET, voucher_code_format
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant
from tests.catalog.kit import Caller, make_partner
from tests.orders.kit import (
    BALANCE,
    active_training,
    balance,
    credited,
    payable,
    pending,
    platform,
    scheme_valid_for_a_year,
    snapshot,
)

pytestmark = pytest.mark.django_db
START = datetime.datetime(2026, 11, 21, 2, 0, 30, tzinfo=datetime.UTC)  # 09:00:30 WIB


class Clock:
    """The server's clock, moved by the test (the callers sign with it too)."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> datetime.datetime:
        self.now += datetime.timedelta(**delta)
        return self.now


@pytest.fixture
def clock():
    moving = Clock(START)
    with mock.patch.object(timezone, "now", side_effect=lambda: moving.now):
        scheme_valid_for_a_year()
        yield moving


@pytest.fixture
def toko(client: Client, clock: Clock) -> Caller:
    partner, secret = platform("toko")
    return Caller(client, partner.code, secret)


@pytest.fixture
def kelas(client: Client, clock: Clock) -> Caller:
    partner, secret = platform("kelas")
    return Caller(client, partner.code, secret)


def partner(caller: Caller) -> Partner:
    return Partner.objects.get(code=caller.code)


def bought(caller: Caller, *, price: int = 300_000, hours: int = 12, external_id: str = "barista"):
    """A participant who bought a training of `caller`'s platform: (participant, order)."""
    (person,) = credited(1)
    training = active_training(partner(caller), external_id, price=price, hours=hours)
    order = order_purchase(
        participant=person, training=training, actor=Actor.participant(person.registrant_id)
    )
    return person, order


def answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


def error(response: Any) -> tuple[int, str, dict[str, Any]]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["details"]


def redeem(caller: Caller, order: Order, **kwargs: Any) -> Any:
    body = {"voucher_code": voucher_code_format(order.voucher_code), "platform_user_ref": "u-77"}
    return caller("POST", "/vouchers/redeem", body, **kwargs)


def progress(caller: Caller, order_id: int, percent: int, sessions: int, **kwargs: Any) -> Any:
    body = {
        "percent": percent,
        "sessions_attended": sessions,
        "reported_at": timezone.now().isoformat(),
    }
    return caller("POST", f"/orders/{order_id}/progress", body, **kwargs)


def complete(caller: Caller, order_id: int, completed_at: datetime.datetime, **kwargs: Any) -> Any:
    body = {
        "completed_at": completed_at.isoformat(),
        "final_score": 87,
        "certificate_number": "CERT-2026-0001",
        "certificate_url": "https://toko.example/sertifikat/0001",
    }
    body.update(kwargs.pop("body", {}))
    return caller("POST", f"/orders/{order_id}/completion", body, **kwargs)


def unchanged(before: dict[str, Any]) -> bool:
    return snapshot() == before


# --- status ----------------------------------------------------------------------------------------


def test_status_of_a_voucher_as_sold(toko: Caller):
    person, order = bought(toko, price=750_000)
    ref = participant_ref(platform=partner(toko), participant=person)

    response = toko("POST", "/vouchers/status", {"voucher_code": order.voucher_code.lower()})

    assert answer(response) == (
        200,
        {
            "voucher_code": voucher_code_format(order.voucher_code),
            "status": "issued",
            "training_external_id": "barista",
            "price_idr": 750_000,
            "participant_ref": ref,
            "expires_at": "2026-12-21T23:59:59+07:00",
        },
    )


def test_status_of_another_platforms_voucher_is_404(toko: Caller, kelas: Caller):
    _, order = bought(toko)

    response = kelas("POST", "/vouchers/status", {"voucher_code": order.voucher_code})

    assert error(response) == (404, "VOUCHER_NOT_FOUND", {})


def test_a_malformed_code_is_404_voucher_not_found(toko: Caller):
    _, order = bought(toko)
    wrong_check = CHECK_ALPHABET[(CHECK_ALPHABET.index(order.voucher_code[12]) + 1) % 37]

    for code in (order.voucher_code[:12] + wrong_check, "HELLO", order.voucher_code[:12]):
        response = toko("POST", "/vouchers/status", {"voucher_code": code})
        assert error(response) == (404, "VOUCHER_NOT_FOUND", {"voucher_code": "MALFORMED"})


def test_an_issued_voucher_past_its_date_is_reported_expired(toko: Caller, clock: Clock):
    _, order = bought(toko)
    clock.now = order.expires_at + datetime.timedelta(seconds=1)

    response = toko("POST", "/vouchers/status", {"voucher_code": order.voucher_code})

    assert (response.status_code, response.json()["status"]) == (200, "expired")
    assert Order.objects.get(pk=order.pk).status == "issued"  # the daily job records it


# --- redeem ------------------------------------------------------------------------------------------


def test_redeem_makes_the_price_payable_to_the_platform_once(toko: Caller, clock: Clock):
    person, order = bought(toko, price=750_000)
    seller = partner(toko)
    ref = participant_ref(platform=seller, participant=person)

    response = redeem(toko, order, external_id="redeem-1")

    assert answer(response) == (
        200,
        {
            "order_id": order.pk,
            "training_external_id": "barista",
            "price_idr": 750_000,
            "participant_ref": ref,
        },
    )
    order.refresh_from_db()
    assert (order.status, order.redeemed_at, order.platform_user_ref) == (
        "redeemed",
        clock.now,
        "u-77",
    )
    assert (balance(person), pending(seller), payable(seller)) == (
        BALANCE - 750_000,
        0,
        750_000,
    )
    assert (
        Transaction.objects.get(idempotency_key=f"order-redeem:{order.pk}").kind == "order_redeem"
    )
    audit = AuditEvent.objects.get(event_type="order.redeemed")
    assert (audit.subject_id, audit.actor_label) == (str(order.pk), "partner:toko")
    assert ledger_integrity_report().ok

    # The same call again (same X-EXTERNAL-ID) is answered the same, and does nothing
    before = snapshot()
    assert answer(redeem(toko, order, external_id="redeem-1")) == answer(response)
    assert unchanged(before)

    # A new call to redeem it again is refused
    again = redeem(toko, order, external_id="redeem-2")
    assert error(again) == (409, "VOUCHER_ALREADY_REDEEMED", {"order_id": order.pk})
    assert unchanged(before)
    assert ledger_integrity_report().ok


def test_a_voucher_of_another_platform_is_403_and_changes_nothing(toko: Caller, kelas: Caller):
    _, order = bought(toko)
    before = snapshot()

    response = redeem(kelas, order)

    assert error(response) == (403, "VOUCHER_OTHER_PLATFORM", {})
    assert response.json()["error"]["message"] == (
        "This voucher was bought for a training on another platform and can only be redeemed there."
    )
    assert unchanged(before)
    assert ledger_integrity_report().ok


def test_an_unknown_voucher_is_404(toko: Caller):
    bought(toko)
    before = snapshot()
    response = redeem(toko, Order(voucher_code="0000000000000"))
    assert error(response) == (404, "VOUCHER_NOT_FOUND", {})
    assert unchanged(before)


def test_an_issued_voucher_past_its_date_is_410_and_left_to_the_daily_job(
    toko: Caller, clock: Clock
):
    person, order = bought(toko)
    clock.now = order.expires_at + datetime.timedelta(seconds=1)
    before = snapshot()

    response = redeem(toko, order)

    assert error(response) == (410, "VOUCHER_EXPIRED", {"expires_at": "2026-12-21T23:59:59+07:00"})
    assert unchanged(before)
    assert Order.objects.get(pk=order.pk).status == "issued"

    # After the job: expired, the price back in the balance, still 410
    assert vouchers_expire_due() == 1
    assert balance(person) == BALANCE
    before = snapshot()
    assert error(redeem(toko, order))[:2] == (410, "VOUCHER_EXPIRED")
    assert unchanged(before)
    assert ledger_integrity_report().ok


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancelled_or_refunded_voucher_is_410(toko: Caller, status: str):
    _, order = bought(toko)
    Order.objects.filter(pk=order.pk).update(status=status)  # test setup: no service does this yet
    before = snapshot()

    response = redeem(toko, order)

    assert error(response) == (410, "VOUCHER_CANCELLED", {"status": status})
    assert unchanged(before)


def test_a_financial_institution_may_not_call_the_platform_calls(client: Client, toko: Caller):
    _, order = bought(toko)
    institution, secret = make_partner("bank-x", kind="institution")
    bank = Caller(client, institution.code, secret)
    before = snapshot()

    for response in (
        bank("POST", "/vouchers/status", {"voucher_code": order.voucher_code}),
        redeem(bank, order),
        progress(bank, order.pk, 10, 1),
        bank("GET", "/orders"),
    ):
        assert error(response)[:2] == (403, "PARTNER_KIND_NOT_ALLOWED")
    assert unchanged(before)


# --- progress ---------------------------------------------------------------------------------------


def test_progress_goes_forward_never_backwards(toko: Caller, clock: Clock):
    _, order = bought(toko)
    before = snapshot()
    assert error(progress(toko, order.pk, 10, 1)) == (
        409,
        "ORDER_NOT_REDEEMED",
        {"order_id": order.pk, "status": "issued"},
    )
    assert unchanged(before)
    redeem(toko, order)
    clock.advance(hours=2)

    assert answer(progress(toko, order.pk, 40, 2)) == (200, {"order_id": order.pk, "percent": 40})

    stored = Order.objects.get(pk=order.pk)
    assert (stored.percent, stored.sessions_attended, stored.progress_reported_at) == (
        40,
        2,
        clock.now,
    )
    assert AuditEvent.objects.get(event_type="order.progress_reported").details == {
        "percent": [0, 40],
        "sessions_attended": [0, 2],
        "reported_at": clock.now.isoformat(),
    }

    # The same values again: accepted, nothing changes
    before = snapshot()
    clock.advance(minutes=5)
    assert answer(progress(toko, order.pk, 40, 2)) == (200, {"order_id": order.pk, "percent": 40})
    assert unchanged(before)

    # Backwards, in percent or in sessions: refused, nothing changes
    for percent, sessions in ((39, 2), (40, 1), (0, 0)):
        response = progress(toko, order.pk, percent, sessions)
        assert error(response) == (
            409,
            "PROGRESS_BACKWARDS",
            {"percent": 40, "sessions_attended": 2},
        )
        assert response.json()["error"]["message"] == (
            "Progress never goes backwards: 40% and 2 sessions are recorded."
        )
        assert unchanged(before)

    assert answer(progress(toko, order.pk, 40, 3)) == (200, {"order_id": order.pk, "percent": 40})
    assert Order.objects.get(pk=order.pk).sessions_attended == 3


def test_progress_of_another_platforms_order_is_404(toko: Caller, kelas: Caller):
    _, order = bought(toko)
    redeem(toko, order)
    before = snapshot()

    for response in (progress(kelas, order.pk, 50, 1), progress(toko, order.pk + 1000, 50, 1)):
        assert error(response)[:2] == (404, "ORDER_NOT_FOUND")
    assert unchanged(before)


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"percent": 101, "sessions_attended": 1}, {"percent": "OUT_OF_RANGE"}),
        ({"percent": -1, "sessions_attended": 1}, {"percent": "OUT_OF_RANGE"}),
        ({"percent": 50.5, "sessions_attended": 1}, {"percent": "INTEGER_REQUIRED"}),
        ({"percent": 50, "sessions_attended": -1}, {"sessions_attended": "OUT_OF_RANGE"}),
        (
            {"percent": 50, "sessions_attended": 1, "reported_at": "2026-11-21T09:00:00"},
            {"reported_at": "OFFSET_REQUIRED"},
        ),
        (
            {"percent": 50, "sessions_attended": 1, "reported_at": "kemarin"},
            {"reported_at": "DATETIME_INVALID"},
        ),
        ({"percent": "50", "sessions_attended": 1}, {"percent": "INTEGER_REQUIRED"}),
        ({"percent": True, "sessions_attended": 1}, {"percent": "INTEGER_REQUIRED"}),
        ({"percent": 50, "sessions_attended": "1"}, {"sessions_attended": "INTEGER_REQUIRED"}),
        (
            {"percent": 50, "sessions_attended": 1, "reported_at": 1795000000},
            {"reported_at": "DATETIME_INVALID"},
        ),
        (
            {"percent": 50, "sessions_attended": 1, "reported_at": "2026-11-21 09:00:00+07:00"},
            {"reported_at": "DATETIME_INVALID"},
        ),
    ],
)
def test_a_malformed_progress_report_is_422_naming_the_field(
    toko: Caller, body: dict[str, Any], details: dict[str, str]
):
    _, order = bought(toko)
    redeem(toko, order)
    before = snapshot()

    response = toko(
        "POST",
        f"/orders/{order.pk}/progress",
        {"reported_at": "2026-11-21T09:00:00+07:00", **body},
    )

    assert error(response) == (422, "VALIDATION_FAILED", details)
    assert unchanged(before)


# --- completion ---------------------------------------------------------------------------------------


def test_completion_before_redemption_is_409_and_changes_nothing(toko: Caller):
    _, order = bought(toko)
    before = snapshot()

    response = complete(toko, order.pk, timezone.now())

    assert error(response) == (
        409,
        "ORDER_NOT_REDEEMED",
        {"order_id": order.pk, "status": "issued"},
    )
    assert unchanged(before)
    assert ledger_integrity_report().ok


def test_completion_after_the_training_takes_its_time(toko: Caller, clock: Clock):
    person, order = bought(toko, hours=12)
    redeem(toko, order)
    redeemed_at = clock.now
    clock.advance(days=3)
    done_at = redeemed_at + datetime.timedelta(hours=12)

    response = complete(toko, order.pk, done_at)

    assert answer(response) == (200, {"order_id": order.pk, "status": "completed"})
    stored = Order.objects.get(pk=order.pk)
    assert (
        stored.status,
        stored.completed_at,
        stored.percent,
        stored.final_score,
        stored.certificate_number,
        stored.certificate_url,
        stored.flag_fast_completion,
        stored.updated_at,
    ) == (
        "completed",
        done_at,
        100,
        87,
        "CERT-2026-0001",
        "https://toko.example/sertifikat/0001",
        False,
        clock.now,
    )
    audit = AuditEvent.objects.get(event_type="order.completed")
    assert (audit.details["hours_after_redemption"], audit.details["flag_fast_completion"]) == (
        12.0,
        False,
    )

    # A second, identical completion under a new key: 409, nothing changes
    before = snapshot()
    again = complete(toko, order.pk, done_at)
    assert error(again) == (409, "ORDER_ALREADY_COMPLETED", {"order_id": order.pk})
    assert unchanged(before)
    # Nor progress after completion
    assert error(progress(toko, order.pk, 100, 6))[:2] == (409, "ORDER_ALREADY_COMPLETED")
    assert unchanged(before)
    # The money stays payable to the platform; the participant's balance is as after the purchase
    assert (balance(person), payable(partner(toko))) == (BALANCE - 300_000, 300_000)
    assert ledger_integrity_report().ok


def test_a_completion_faster_than_the_duration_is_accepted_and_flagged(toko: Caller, clock: Clock):
    _, order = bought(toko, hours=12)
    redeem(toko, order)
    redeemed_at = clock.now
    clock.advance(hours=11, minutes=59)

    response = complete(toko, order.pk, redeemed_at + datetime.timedelta(hours=11, minutes=59))

    assert answer(response) == (200, {"order_id": order.pk, "status": "completed"})
    assert Order.objects.get(pk=order.pk).flag_fast_completion is True


@pytest.mark.parametrize(
    ("extra", "details"),
    [
        ({"certificate_url": "ftp://toko.example/x"}, {"certificate_url": "URL_INVALID"}),
        ({"certificate_url": "https://toko"}, {"certificate_url": "URL_INVALID"}),
        ({"certificate_url": "https://a@toko.example/x"}, {"certificate_url": "URL_INVALID"}),
        ({"certificate_url": "https://toko.example/a b"}, {"certificate_url": "URL_INVALID"}),
        (
            {"certificate_url": "https://toko.example/\u202e"},
            {"certificate_url": "CHARACTER_INVALID"},
        ),
        ({"final_score": 101}, {"final_score": "OUT_OF_RANGE"}),
        ({"final_score": 87.5}, {"final_score": "INTEGER_REQUIRED"}),
        ({"final_score": "87"}, {"final_score": "INTEGER_REQUIRED"}),
        ({"certificate_number": "  "}, {"certificate_number": "REQUIRED"}),
        ({"certificate_number": "CERT\n1"}, {"certificate_number": "CHARACTER_INVALID"}),
        ({"completed_at": 1795000000.5}, {"completed_at": "DATETIME_INVALID"}),
        ({"completed_at": "2026-11-21T09:00:30"}, {"completed_at": "OFFSET_REQUIRED"}),
    ],
)
def test_a_completion_with_a_wrong_field_is_422_naming_it(
    toko: Caller, clock: Clock, extra: dict[str, Any], details: dict[str, str]
):
    _, order = bought(toko)
    redeem(toko, order)
    before = snapshot()

    response = complete(toko, order.pk, clock.now, body=extra)

    assert error(response) == (422, "VALIDATION_FAILED", details)
    assert unchanged(before)


# --- the times a platform reports: to the second, after redemption, not ahead of the clock ---------

REDEEMED = START + datetime.timedelta(microseconds=600_000)  # 09:00:30.6 WIB: within a second


def test_a_completion_in_whole_seconds_in_the_second_of_redemption_is_accepted(
    toko: Caller, clock: Clock
):
    _, order = bought(toko)
    clock.now = REDEEMED
    redeem(toko, order)
    clock.advance(seconds=1)

    response = complete(toko, order.pk, START, body={"completed_at": "2026-11-21T09:00:30+07:00"})

    assert answer(response) == (200, {"order_id": order.pk, "status": "completed"})
    stored = Order.objects.get(pk=order.pk)
    assert (stored.redeemed_at, stored.completed_at, stored.flag_fast_completion) == (
        REDEEMED,
        START,
        True,
    )


def test_progress_in_whole_seconds_in_the_second_of_redemption_is_accepted(
    toko: Caller, clock: Clock
):
    _, order = bought(toko)
    clock.now = REDEEMED
    redeem(toko, order)

    response = toko(
        "POST",
        f"/orders/{order.pk}/progress",
        {"percent": 5, "sessions_attended": 0, "reported_at": "2026-11-21T02:00:30Z"},
    )

    assert answer(response) == (200, {"order_id": order.pk, "percent": 5})
    assert Order.objects.get(pk=order.pk).progress_reported_at == START


@pytest.mark.parametrize(
    ("call", "sent", "details"),
    [
        (
            "progress",
            "1900-01-01T00:00:00+07:00",
            {"reported_at": "BEFORE_REDEMPTION", "redeemed_at": "2026-11-21T09:00:30+07:00"},
        ),
        (
            "progress",
            "2026-11-21T09:00:29.999+07:00",
            {"reported_at": "BEFORE_REDEMPTION", "redeemed_at": "2026-11-21T09:00:30+07:00"},
        ),
        (
            "progress",
            "0001-01-01T00:00:00+14:00",  # before UTC's first instant: read as that instant
            {"reported_at": "BEFORE_REDEMPTION", "redeemed_at": "2026-11-21T09:00:30+07:00"},
        ),
        (
            "progress",
            "2026-11-21T10:05:31+07:00",
            {"reported_at": "IN_THE_FUTURE", "server_time": "2026-11-21T10:00:30+07:00"},
        ),
        (
            "progress",
            "9999-12-31T23:59:59-14:00",  # beyond UTC's last instant: read as that instant
            {"reported_at": "IN_THE_FUTURE", "server_time": "2026-11-21T10:00:30+07:00"},
        ),
        (
            "completion",
            "2026-11-21T09:00:29+07:00",
            {"completed_at": "BEFORE_REDEMPTION", "redeemed_at": "2026-11-21T09:00:30+07:00"},
        ),
        (
            "completion",
            "2026-11-21T03:05:31Z",
            {"completed_at": "IN_THE_FUTURE", "server_time": "2026-11-21T10:00:30+07:00"},
        ),
    ],
)
def test_a_time_before_the_redemption_second_or_over_five_minutes_ahead_is_409(
    toko: Caller, clock: Clock, call: str, sent: str, details: dict[str, str]
):
    _, order = bought(toko)
    clock.now = REDEEMED
    redeem(toko, order)
    clock.now = START + datetime.timedelta(hours=1, microseconds=900_000)  # 10:00:30.9 WIB
    before = snapshot()

    if call == "progress":
        body = {"percent": 50, "sessions_attended": 1, "reported_at": sent}
        response = toko("POST", f"/orders/{order.pk}/progress", body)
    else:
        response = complete(toko, order.pk, START, body={"completed_at": sent})

    assert error(response) == (409, "TIME_OUT_OF_RANGE", details)
    assert response.json()["error"]["message"] == (
        "The reported time cannot be right: before the voucher was redeemed or more than 5 minutes "
        "ahead of the server clock. See `details`."
    )
    assert unchanged(before)


@pytest.mark.parametrize(
    ("call", "sent"),
    [("progress", "2026-11-21T10:05:30+07:00"), ("completion", "2026-11-21T03:05:30.999999Z")],
)
def test_a_time_exactly_five_minutes_ahead_to_the_second_is_accepted(
    toko: Caller, clock: Clock, call: str, sent: str
):
    _, order = bought(toko)
    redeem(toko, order)
    clock.now = START + datetime.timedelta(hours=1, microseconds=100_000)  # 10:00:30.1 WIB

    if call == "progress":
        body = {"percent": 50, "sessions_attended": 1, "reported_at": sent}
        response = toko("POST", f"/orders/{order.pk}/progress", body)
    else:
        response = complete(toko, order.pk, START, body={"completed_at": sent})

    assert response.status_code == 200


def test_completion_of_another_platforms_order_is_404(toko: Caller, kelas: Caller):
    _, order = bought(toko)
    redeem(toko, order)
    before = snapshot()
    assert error(complete(kelas, order.pk, timezone.now()))[:2] == (404, "ORDER_NOT_FOUND")
    assert unchanged(before)


# --- the orders list --------------------------------------------------------------------------------


def test_the_orders_list_pages_through_the_platforms_own_orders(
    toko: Caller, kelas: Caller, clock: Clock, monkeypatch
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    orders = []
    for i in range(3):
        orders.append(bought(toko, external_id=f"t{i}")[1])
        clock.advance(minutes=1)
    bought(kelas, external_id="other")
    redeem(toko, orders[0])  # changed last: listed last
    redeemed_at = clock.now

    first = toko("GET", "/orders")
    assert first.status_code == 200
    page = first.json()
    assert [item["order_id"] for item in page["items"]] == [orders[1].pk, orders[2].pk]
    assert page["items"][0] == {
        "order_id": orders[1].pk,
        "voucher_code": voucher_code_format(orders[1].voucher_code),
        "training_external_id": "t1",
        "status": "issued",
        "percent": 0,
        "sessions_attended": 0,
        "completed_at": None,
        "certificate_number": "",
        "price_idr": 300_000,
        "updated_at": "2026-11-21T09:01:30+07:00",
    }
    second = toko("GET", f"/orders?cursor={page['next_cursor']}").json()
    assert [item["order_id"] for item in second["items"]] == [orders[0].pk]
    assert second["items"][0]["status"] == "redeemed"
    assert second["next_cursor"] is None

    since = toko("GET", f"/orders?updated_since={redeemed_at.isoformat().replace('+', '%2B')}")
    assert [item["order_id"] for item in since.json()["items"]] == [orders[0].pk]
    assert len(kelas("GET", "/orders").json()["items"]) == 1


def test_a_cursor_not_of_the_documented_form_is_422(toko: Caller):
    for cursor in ("abc", "W10", "WyJ4IiwgMV0", "1.", ".1", "1.2.3", "12345678901234567.1"):
        response = toko("GET", f"/orders?cursor={cursor}")
        assert error(response) == (422, "VALIDATION_FAILED", {"cursor": "CURSOR_INVALID"})


def test_every_cursor_of_the_documented_form_is_a_place_to_start(toko: Caller, clock: Clock):
    _, order = bought(toko)  # updated at START: 1795226430000000 µs after 1970

    assert [
        [item["order_id"] for item in toko("GET", f"/orders?cursor={cursor}").json()["items"]]
        for cursor in ("0.0", "1795226429999999.999999", "1795226430000000.0", "9999999999999999.1")
    ] == [[order.pk], [order.pk], [order.pk], []]
    assert toko("GET", f"/orders?cursor=1795226430000000.{order.pk}").json() == {
        "items": [],
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    ("query", "status", "details"),
    [
        ("updated_since=0.5", 422, {"updated_since": "DATETIME_INVALID"}),
        ("updated_since=1795226430", 422, {"updated_since": "DATETIME_INVALID"}),
        ("updated_since=2026-11-21T09:00:30", 422, {"updated_since": "OFFSET_REQUIRED"}),
        (
            "updated_since=2026-11-21T09:05:31%2B07:00",
            409,
            {"updated_since": "IN_THE_FUTURE", "server_time": "2026-11-21T09:00:30+07:00"},
        ),
    ],
)
def test_updated_since_is_an_rfc_3339_time_not_ahead_of_the_clock(
    toko: Caller, query: str, status: int, details: dict[str, str]
):
    response = toko("GET", f"/orders?{query}")

    assert error(response)[0::2] == (status, details)


def test_updated_since_five_minutes_ahead_to_the_second_lists_nothing_yet(toko: Caller):
    bought(toko)

    response = toko("GET", "/orders?updated_since=2026-11-21T02:05:30Z")

    assert answer(response) == (200, {"items": [], "next_cursor": None})


# --- the whole path, and the ledger after it ---------------------------------------------------------


def test_purchase_redeem_progress_complete_and_the_ledger_balances(toko: Caller, clock: Clock):
    person, order = bought(toko, price=450_000, hours=4)
    seller = partner(toko)
    assert (balance(person), pending(seller), payable(seller)) == (550_000, 450_000, 0)
    redeem(toko, order)
    assert (balance(person), pending(seller), payable(seller)) == (550_000, 0, 450_000)
    clock.advance(hours=2)
    progress(toko, order.pk, 50, 1)
    clock.advance(hours=3)
    complete(toko, order.pk, clock.now)

    assert Order.objects.get(pk=order.pk).status == "completed"
    assert Participant.objects.get(pk=person.pk).first_purchase_at == START
    assert list(Transaction.objects.order_by("pk").values_list("kind", flat=True)) == [
        "training_credit",
        "order_purchase",
        "order_redeem",
    ]
    report = ledger_integrity_report()
    assert report.ok, report.problems
