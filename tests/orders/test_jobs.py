"""The daily jobs: unredeemed vouchers expire and their price returns; after a scheme's balance
expiry date what is left of its balances lapses to the treasury. Both idempotent, both set-based in
chunks, both leave the ledger consistent."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders import daily
from prakerja.orders.daily import balances_lapse_due, vouchers_expire_due
from prakerja.orders.errors import BalanceExpired
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase, participant_ref, voucher_redeem
from prakerja.orders.tasks import balances_lapse_due_task, vouchers_expire_due_task
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.waves.models import Participant, ProgramScheme
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
    treasury,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scheme() -> ProgramScheme:
    return scheme_valid_for_a_year()


@pytest.fixture
def toko() -> Partner:
    return platform("toko")[0]


def buy(participant: Participant, training) -> Order:  # type: ignore[no-untyped-def]
    return order_purchase(
        participant=participant,
        training=training,
        actor=Actor.participant(participant.registrant_id),
    )


# --- expiry -----------------------------------------------------------------------------------------


def test_an_unredeemed_voucher_expires_after_its_date_and_its_price_returns_once(toko: Partner):
    person, other = credited(2)
    late = buy(person, active_training(toko, "late", price=300_000))
    used = buy(person, active_training(toko, "used", price=200_000))
    voucher_redeem(
        platform=toko,
        voucher_code=used.voucher_code,
        platform_user_ref="u-1",
        actor=Actor.partner(toko.pk, toko.code),
    )
    fresh = buy(other, active_training(toko, "fresh", price=100_000))
    Order.objects.filter(pk=fresh.pk).update(
        expires_at=late.expires_at + datetime.timedelta(days=1)
    )
    assert (balance(person), pending(toko), payable(toko)) == (500_000, 400_000, 200_000)
    when = late.expires_at + datetime.timedelta(seconds=1)

    assert vouchers_expire_due(now=when) == 1
    assert vouchers_expire_due(now=when) == 0

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {late.pk: "expired", used.pk: "redeemed", fresh.pk: "issued"}
    expired = Order.objects.get(pk=late.pk)
    assert (expired.ended_at, expired.updated_at) == (when, when)
    assert (balance(person), balance(other)) == (800_000, BALANCE - 100_000)
    assert (pending(toko), payable(toko)) == (100_000, 200_000)
    assert Transaction.objects.filter(kind="order_expire").count() == 1
    assert Transaction.objects.get(kind="order_expire").idempotency_key == f"order-expire:{late.pk}"
    (event,) = OutboundEvent.objects.filter(event_type="voucher.expired")
    assert (event.partner_id, event.subject) == (toko.pk, str(late.pk))
    assert event.payload["data"] == {
        "order_id": late.pk,
        "voucher_code": voucher_code_format(late.voucher_code),
        "training_external_id": "late",
        "price_idr": 300_000,
        "participant_ref": participant_ref(platform=toko, participant=person),
        "expired_at": when.astimezone(WIB).replace(microsecond=0).isoformat(),
    }
    audit = AuditEvent.objects.get(event_type="order.expired")
    assert (audit.subject_id, audit.actor_label, audit.details) == (
        str(late.pk),
        "system:vouchers-expire",
        {"from": "issued", "price_idr": 300_000, "returned_to": "training_balance"},
    )
    assert ledger_integrity_report().ok


def test_a_voucher_is_valid_until_the_end_of_its_last_day(toko: Partner):
    (person,) = credited(1)
    order = buy(person, active_training(toko, "barista"))
    assert vouchers_expire_due(now=order.expires_at) == 0
    assert Order.objects.get(pk=order.pk).status == "issued"


def test_expiry_runs_in_chunks_and_refunds_each_voucher_once(toko: Partner, monkeypatch):
    monkeypatch.setattr(daily, "CHUNK", 2)
    people = credited(5)
    training = active_training(toko, "barista", price=250_000)
    orders = [buy(person, training) for person in people]
    when = max(order.expires_at for order in orders) + datetime.timedelta(seconds=1)

    assert vouchers_expire_due(now=when) == 5
    assert vouchers_expire_due(now=when) == 0

    assert set(Order.objects.values_list("status", flat=True)) == {"expired"}
    assert [balance(person) for person in people] == [BALANCE] * 5
    assert pending(toko) == 0
    assert Transaction.objects.filter(kind="order_expire").count() == 5
    assert OutboundEvent.objects.filter(event_type="voucher.expired").count() == 5
    assert AuditEvent.objects.filter(event_type="order.expired").count() == 5
    assert ledger_integrity_report().ok


def test_a_voucher_expiring_after_the_balance_expiry_date_returns_its_price_to_the_treasury(
    toko: Partner, scheme: ProgramScheme
):
    (person,) = credited(1)
    order = buy(person, active_training(toko, "barista", price=300_000))
    expiry_day = order.expires_at.astimezone(WIB).date() - datetime.timedelta(days=5)
    ProgramScheme.objects.filter(pk=scheme.pk).update(balance_expiry_date=expiry_day)
    assert balances_lapse_due(today=expiry_day + datetime.timedelta(days=1)) == 1
    assert (balance(person), treasury()) == (0, 700_000)

    assert vouchers_expire_due(now=order.expires_at + datetime.timedelta(seconds=1)) == 1

    assert (balance(person), treasury(), pending(toko)) == (0, 1_000_000, 0)
    assert AuditEvent.objects.get(event_type="order.expired").details["returned_to"] == (
        "treasury_return"
    )
    assert balances_lapse_due(today=expiry_day + datetime.timedelta(days=40)) == 0
    assert ledger_integrity_report().ok


# --- lapse -------------------------------------------------------------------------------------------


def test_balances_lapse_after_the_expiry_date_once_and_open_vouchers_keep_their_price(
    toko: Partner, scheme: ProgramScheme
):
    spender, saver, emptied, later_scheme = credited(4)
    open_order = buy(spender, active_training(toko, "a", price=300_000))
    buy(emptied, active_training(toko, "b", price=1_000_000))
    newer = ProgramScheme.objects.get(code="2023")
    Participant.objects.filter(pk=later_scheme.pk).update(scheme=newer)  # test setup
    ProgramScheme.objects.filter(pk=newer.pk).update(
        balance_expiry_date=datetime.date(2027, 12, 31)
    )
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=datetime.date(2026, 12, 15)
    )

    # On the expiry date itself the balance can still be spent: nothing lapses
    assert balances_lapse_due(today=datetime.date(2026, 12, 15)) == 0

    assert balances_lapse_due(today=datetime.date(2026, 12, 16)) == 2
    assert balances_lapse_due(today=datetime.date(2026, 12, 17)) == 0

    assert [balance(p) for p in (spender, saver, emptied, later_scheme)] == [0, 0, 0, BALANCE]
    assert treasury() == 700_000 + 1_000_000
    assert Order.objects.get(pk=open_order.pk).status == "issued"
    assert pending(toko) == 1_300_000
    keys = set(
        Transaction.objects.filter(kind="balance_lapse").values_list("idempotency_key", flat=True)
    )
    assert keys == {f"balance-lapse:2020:{spender.pk}", f"balance-lapse:2020:{saver.pk}"}
    lapsed = {
        event.subject_id: event.details
        for event in AuditEvent.objects.filter(event_type="participant.balance_lapsed")
    }
    assert lapsed == {
        str(spender.pk): {
            "scheme": "2020",
            "balance_expiry_date": "2026-12-15",
            "lapsed_idr": 700_000,
        },
        str(saver.pk): {
            "scheme": "2020",
            "balance_expiry_date": "2026-12-15",
            "lapsed_idr": BALANCE,
        },
    }
    assert ledger_integrity_report().ok


def test_lapse_runs_in_chunks(scheme: ProgramScheme, monkeypatch):
    monkeypatch.setattr(daily, "CHUNK", 2)
    people = credited(5)
    ProgramScheme.objects.filter(pk=scheme.pk).update(balance_expiry_date=datetime.date(2026, 1, 1))

    assert balances_lapse_due(today=datetime.date(2026, 1, 2)) == 5
    assert balances_lapse_due(today=datetime.date(2026, 1, 2)) == 0

    assert [balance(person) for person in people] == [0] * 5
    assert treasury() == 5 * BALANCE
    assert ledger_integrity_report().ok


def test_a_purchase_after_the_lapse_is_refused_and_changes_nothing(
    toko: Partner, scheme: ProgramScheme
):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    yesterday = timezone.localdate(timezone=WIB) - datetime.timedelta(days=1)
    ProgramScheme.objects.filter(pk=scheme.pk).update(balance_expiry_date=yesterday)
    assert balances_lapse_due() == 1
    before = snapshot()

    with pytest.raises(BalanceExpired):
        buy(Participant.objects.get(pk=person.pk), training)

    assert snapshot() == before


# --- the schedule -------------------------------------------------------------------------------------


def test_both_jobs_are_periodic_tasks(toko: Partner, scheme: ProgramScheme):
    jobs = {task for task, _ in settings.PERIODIC_JOBS.values()}
    assert {"prakerja.orders.vouchers_expire_due", "prakerja.orders.balances_lapse_due"} <= jobs
    (person,) = credited(1)
    order = buy(person, active_training(toko, "barista"))
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    assert vouchers_expire_due_task.delay().get() == 1
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB) - datetime.timedelta(days=1)
    )
    assert balances_lapse_due_task.delay().get() == 1
    assert (balance(person), treasury()) == (0, BALANCE)
    assert ledger_integrity_report().ok
