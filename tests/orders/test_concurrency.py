"""Orders raced on PostgreSQL, with real row locks: two platforms' calls redeeming one voucher at
once, ten purchases at once against a balance that covers three, and the daily jobs racing the
calls they could cross. (SQLite serialises every writer on its database lock: these tests are
skipped there, as CI runs them on PostgreSQL.)"""

import datetime
from collections import Counter

import pytest
from django.test import Client
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.daily import balances_lapse_due, vouchers_expire_due
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase, voucher_redeem
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import OutboundEvent
from prakerja.waves.models import Participant, ProgramScheme
from tests.catalog.kit import Caller
from tests.ledger.test_concurrency import run_at_once
from tests.orders.kit import (
    BALANCE,
    active_training,
    balance,
    credited,
    payable,
    pending,
    platform,
    treasury,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


@pytest.fixture(autouse=True)
def scheme_2020() -> ProgramScheme:
    # Transactional tests empty the tables between tests, the data migration's schemes included.
    scheme, _ = ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB) + datetime.timedelta(days=365)
    )
    scheme.refresh_from_db()
    return scheme


def test_two_redeem_calls_for_one_voucher_at_once_redeem_it_once():
    toko, secret = platform("toko")
    (person,) = credited(1)
    training = active_training(toko, "barista", price=400_000)
    order = order_purchase(
        participant=person, training=training, actor=Actor.participant(person.registrant_id)
    )
    body = {"voucher_code": voucher_code_format(order.voucher_code), "platform_user_ref": "u-1"}

    def call(index: int) -> str:
        response = Caller(Client(), "toko", secret)(
            "POST", "/vouchers/redeem", body, external_id=f"redeem-{index}"
        )
        payload = response.json()
        return str(response.status_code) + ":" + payload.get("error", {}).get("code", "OK")

    outcomes = run_at_once(2, call)

    assert outcomes == Counter({"200:OK": 1, "409:VOUCHER_ALREADY_REDEEMED": 1})
    assert Order.objects.get(pk=order.pk).status == "redeemed"
    assert Transaction.objects.filter(kind="order_redeem").count() == 1
    assert (balance(person), pending(toko), payable(toko)) == (BALANCE - 400_000, 0, 400_000)
    assert ledger_integrity_report().ok


def test_ten_purchases_at_once_against_a_balance_that_covers_three():
    toko, _ = platform("toko")
    (person,) = credited(1)
    trainings = [active_training(toko, f"t{i}", price=300_000) for i in range(10)]

    def buy(index: int) -> str:
        order_purchase(
            participant=Participant.objects.get(pk=person.pk),
            training=trainings[index],
            actor=Actor.participant(person.registrant_id),
        )
        return "bought"

    outcomes = run_at_once(10, buy)

    assert outcomes["bought"] == 3
    refused = {outcome for outcome in outcomes if outcome != "bought"}
    assert len(refused) == 1 and next(iter(refused)).startswith("error:InsufficientBalance")
    assert sum(outcomes.values()) == 10
    assert Order.objects.count() == 3
    assert balance(person) == BALANCE - 3 * 300_000 == 100_000
    assert pending(toko) == 900_000
    assert Transaction.objects.filter(kind="order_purchase").count() == 3
    assert OutboundEvent.objects.filter(event_type="voucher.issued").count() == 3
    assert ledger_integrity_report().ok


def test_the_same_training_bought_twice_at_once_makes_one_order():
    toko, _ = platform("toko")
    (person,) = credited(1)
    training = active_training(toko, "barista", price=100_000)

    def buy(index: int) -> str:
        order_purchase(
            participant=Participant.objects.get(pk=person.pk),
            training=training,
            actor=Actor.participant(person.registrant_id),
        )
        return "bought"

    outcomes = run_at_once(4, buy)

    assert outcomes["bought"] == 1
    assert sum(1 for o in outcomes.elements() if o.startswith("error:OrderAlreadyOpen")) == 3
    assert Order.objects.count() == 1
    assert balance(person) == BALANCE - 100_000
    assert ledger_integrity_report().ok


def test_a_redeem_racing_the_expiry_job_either_redeems_or_expires_never_both():
    toko, _ = platform("toko")
    people = credited(5)
    training = active_training(toko, "barista", price=200_000)
    orders = [
        order_purchase(participant=p, training=training, actor=Actor.participant(p.registrant_id))
        for p in people
    ]
    # The vouchers' date is a moment from now: redeeming is still allowed, and the job is told
    # it is already past it.
    soon = timezone.now() + datetime.timedelta(seconds=30)
    Order.objects.update(expires_at=soon)
    platform_actor = Actor.partner(toko.pk, toko.code)

    def work(index: int) -> str:
        if index == 0:
            return f"expired:{vouchers_expire_due(now=soon + datetime.timedelta(seconds=1))}"
        order = orders[index - 1]
        voucher_redeem(
            platform=toko,
            voucher_code=order.voucher_code,
            platform_user_ref=f"u-{index}",
            actor=platform_actor,
        )
        return "redeemed"

    outcomes = run_at_once(6, work)

    redeemed = Order.objects.filter(status="redeemed").count()
    expired = Order.objects.filter(status="expired").count()
    assert (redeemed + expired, Order.objects.filter(status="issued").count()) == (5, 0)
    assert outcomes["redeemed"] == redeemed
    refused = [o for o in outcomes.elements() if o.startswith("error:")]
    assert all(o.startswith("error:VoucherExpired") for o in refused)
    assert len(refused) == 5 - redeemed
    assert Transaction.objects.filter(kind="order_redeem").count() == redeemed
    assert Transaction.objects.filter(kind="order_expire").count() == expired
    assert payable(toko) == redeemed * 200_000
    assert sum(balance(p) for p in people) == 5 * BALANCE - redeemed * 200_000
    assert pending(toko) == 0
    assert ledger_integrity_report().ok


def test_two_lapse_jobs_and_a_purchase_at_once_move_each_balance_once(scheme_2020):
    toko, _ = platform("toko")
    people = credited(5)
    training = active_training(toko, "barista", price=100_000)
    yesterday = timezone.localdate(timezone=WIB) - datetime.timedelta(days=1)
    ProgramScheme.objects.filter(pk=scheme_2020.pk).update(balance_expiry_date=yesterday)

    def work(index: int) -> str:
        if index < 2:
            return f"lapsed:{balances_lapse_due()}"
        order_purchase(
            participant=Participant.objects.get(pk=people[0].pk),
            training=training,
            actor=Actor.participant(people[0].registrant_id),
        )
        return "bought"

    outcomes = run_at_once(3, work)

    lapsed = sum(int(o.split(":")[1]) for o in outcomes.elements() if o.startswith("lapsed:"))
    assert lapsed == 5
    assert any(o.startswith("error:BalanceExpired") for o in outcomes.elements())
    assert [balance(p) for p in people] == [0] * 5
    assert treasury() == 5 * BALANCE
    assert Transaction.objects.filter(kind="balance_lapse").count() == 5
    assert Order.objects.count() == 0
    assert ledger_integrity_report().ok
