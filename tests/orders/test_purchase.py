"""Buying a training: the order, its voucher, the money from the training balance to the platform's
pending payable, `voucher.issued` to the platform, and every refusal changing nothing."""

import datetime
from unittest import mock

import pytest
from django.db import IntegrityError
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.catalog.services import training_review, training_withdraw
from prakerja.common.actors import Actor
from prakerja.common.errors import InsufficientBalance
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders import purchase
from prakerja.orders.daily import vouchers_expire_due
from prakerja.orders.errors import (
    BalanceExpired,
    OrderAlreadyOpen,
    ParticipantNotActive,
    PurchaseWindowOver,
    TrainingNotAvailable,
)
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase, participant_ref
from prakerja.orders.vouchers import voucher_code_format, voucher_code_parse
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.partners.services import partner_status_set
from prakerja.waves.models import Participant, ProgramScheme
from tests.orders.kit import (
    BALANCE,
    PMO,
    active_training,
    balance,
    credited,
    pending,
    platform,
    scheme_valid_for_a_year,
    snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scheme() -> ProgramScheme:
    return scheme_valid_for_a_year()


@pytest.fixture
def toko() -> Partner:
    return platform("toko")[0]


def actor_of(participant: Participant) -> Actor:
    return Actor.participant(participant.registrant_id)


def buy(participant: Participant, training: Training) -> Order:
    return order_purchase(participant=participant, training=training, actor=actor_of(participant))


def test_a_purchase_issues_a_voucher_and_moves_the_price_to_the_platforms_pending_payable(
    toko: Partner,
):
    (person,) = credited(1)
    training = active_training(toko, "barista", price=750_000)
    moment = datetime.datetime(2026, 11, 21, 16, 30, tzinfo=datetime.UTC)  # 23:30 WIB

    with mock.patch.object(timezone, "now", return_value=moment):
        order = buy(person, training)

    order.refresh_from_db()
    assert (order.status, order.price_idr, order.platform_id, order.training_id) == (
        "issued",
        750_000,
        toko.pk,
        training.pk,
    )
    assert voucher_code_parse(order.voucher_code) == order.voucher_code
    assert order.issued_at == moment
    # 30 days after the day of purchase (22 Nov WIB counts from 21 Nov), at the end of that day
    assert order.expires_at == datetime.datetime(2026, 12, 21, 23, 59, 59, tzinfo=WIB)
    assert (balance(person), pending(toko)) == (BALANCE - 750_000, 750_000)
    txn = Transaction.objects.get(idempotency_key=f"order-purchase:{order.pk}")
    assert txn.kind == "order_purchase"
    person.refresh_from_db()
    assert person.first_purchase_at == moment
    assert Training.objects.get(pk=training.pk).buyers == 0  # counted later: orders/popularity.py

    (event,) = OutboundEvent.objects.filter(event_type="voucher.issued")
    assert (event.partner_id, event.subject) == (toko.pk, str(order.pk))
    assert event.payload["data"] == {
        "order_id": order.pk,
        "voucher_code": voucher_code_format(order.voucher_code),
        "training_external_id": "barista",
        "price_idr": 750_000,
        "participant_ref": participant_ref(platform=toko, participant=person),
        "expires_at": "2026-12-21T23:59:59+07:00",
    }
    audit = AuditEvent.objects.get(event_type="order.purchased")
    assert (audit.subject_id, audit.actor_label) == (
        str(order.pk),
        f"registrant:{person.registrant_id}",
    )
    assert audit.details["price_idr"] == 750_000
    assert ledger_integrity_report().ok


def test_several_trainings_while_the_balance_lasts_and_the_first_purchase_time_stays(
    toko: Partner,
):
    (person,) = credited(1)
    first, second, third = (active_training(toko, f"t{i}", price=400_000) for i in range(3))
    one = buy(person, first)
    buy(person, second)
    before = snapshot()

    with pytest.raises(InsufficientBalance) as refused:
        buy(person, third)

    assert refused.value.details["balance_idr"] == 200_000
    assert snapshot() == before
    person.refresh_from_db()
    assert person.first_purchase_at == one.issued_at
    assert (balance(person), pending(toko)) == (200_000, 800_000)
    assert ledger_integrity_report().ok


def test_the_same_training_cannot_be_bought_again_while_its_order_is_open(toko: Partner):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    buy(person, training)
    before = snapshot()

    with pytest.raises(OrderAlreadyOpen) as refused:
        buy(person, training)

    assert refused.value.details == {"training_id": training.pk}
    assert snapshot() == before
    assert ledger_integrity_report().ok


def test_once_the_voucher_expired_the_training_can_be_bought_again(toko: Partner):
    (person,) = credited(1)
    training = active_training(toko, "barista", price=300_000)
    first = buy(person, training)
    assert vouchers_expire_due(now=first.expires_at + datetime.timedelta(seconds=1)) == 1

    again = buy(person, training)

    assert again.pk != first.pk
    assert list(Order.objects.order_by("pk").values_list("status", flat=True)) == [
        "expired",
        "issued",
    ]
    assert balance(person) == BALANCE - 300_000
    assert ledger_integrity_report().ok


def test_another_participant_may_buy_the_same_training(toko: Partner):
    one, two = credited(2)
    training = active_training(toko, "barista")
    buy(one, training)
    buy(two, training)
    assert Order.objects.filter(training=training).count() == 2


@pytest.mark.parametrize("change", ["suspended", "withdrawn", "platform_suspended"])
def test_a_training_out_of_the_catalog_is_not_sold(toko: Partner, change: str):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    if change == "suspended":
        training_review(training=training, decision="suspend", reason="Rating rendah", actor=PMO)
    elif change == "withdrawn":
        training_withdraw(platform=toko, external_id="barista", actor=PMO)
    else:
        partner_status_set(partner=toko, status="suspended", reason="Audit", actor=PMO)
    before = snapshot()

    with pytest.raises(TrainingNotAvailable) as refused:
        buy(person, Training.objects.get(pk=training.pk))

    assert refused.value.details == {"training_id": training.pk}
    assert snapshot() == before


def test_a_revoked_participant_cannot_buy(toko: Partner):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    Participant.objects.filter(pk=person.pk).update(status="revoked")
    before = snapshot()

    with pytest.raises(ParticipantNotActive):
        buy(person, training)

    assert snapshot() == before


def test_no_first_purchase_after_the_deadline(toko: Partner):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    Participant.objects.filter(pk=person.pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    before = snapshot()

    with pytest.raises(PurchaseWindowOver):
        buy(person, training)

    assert snapshot() == before


def test_later_purchases_do_not_depend_on_the_first_purchase_deadline(toko: Partner):
    (person,) = credited(1)
    first, second = active_training(toko, "a"), active_training(toko, "b")
    buy(person, first)
    Participant.objects.filter(pk=person.pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(days=1)
    )
    assert buy(person, second).status == "issued"


def test_no_purchase_after_the_schemes_balance_expiry_date(toko: Partner, scheme: ProgramScheme):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    today = timezone.localdate(timezone=WIB)
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=today - datetime.timedelta(days=1)
    )
    before = snapshot()

    with pytest.raises(BalanceExpired) as refused:
        buy(person, training)

    expired_on = (today - datetime.timedelta(days=1)).isoformat()
    assert refused.value.details == {"balance_expiry_date": expired_on}
    assert (
        refused.value.message("en")
        == f"Your training balance is no longer valid since {expired_on}."
    )
    assert snapshot() == before


def test_the_balance_can_be_spent_on_its_expiry_date(toko: Partner, scheme: ProgramScheme):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB)
    )
    assert buy(person, training).status == "issued"


def test_the_voucher_validity_is_read_from_the_participants_scheme(
    toko: Partner, scheme: ProgramScheme
):
    (person,) = credited(1)
    ProgramScheme.objects.filter(pk=scheme.pk).update(voucher_valid_days=15)
    training = active_training(toko, "barista")
    moment = datetime.datetime(2026, 11, 21, 1, 0, tzinfo=datetime.UTC)  # 08:00 WIB

    with mock.patch.object(timezone, "now", return_value=moment):
        order = buy(Participant.objects.get(pk=person.pk), training)

    assert order.expires_at == datetime.datetime(2026, 12, 6, 23, 59, 59, tzinfo=WIB)


def test_a_voucher_code_collision_draws_a_new_code(toko: Partner, monkeypatch):
    one, two = credited(2)
    training = active_training(toko, "barista")
    taken = buy(one, training).voucher_code
    fresh = iter([taken, taken, "0000000000011"])
    monkeypatch.setattr(purchase, "voucher_code_new", lambda: next(fresh))

    order = buy(two, training)

    assert order.voucher_code == "0000000000011"
    assert voucher_code_parse("0000-0000-0001-1") == "0000000000011"
    assert Order.objects.count() == 2
    assert ledger_integrity_report().ok


def test_codes_that_keep_colliding_give_up_and_change_nothing(toko: Partner, monkeypatch):
    one, two = credited(2)
    training = active_training(toko, "barista")
    taken = buy(one, training).voucher_code
    monkeypatch.setattr(purchase, "voucher_code_new", lambda: taken)
    before = snapshot()

    with pytest.raises(IntegrityError):
        buy(two, training)

    assert snapshot() == before


def test_participant_ref_is_stable_per_platform_and_differs_between_platforms(toko: Partner):
    kelas = platform("kelas")[0]
    one, two = credited(2)

    ref = participant_ref(platform=toko, participant=one)

    assert ref.startswith("pk_") and len(ref) == 23
    assert ref == participant_ref(platform=toko, participant=one)
    assert ref != participant_ref(platform=kelas, participant=one)
    assert ref != participant_ref(platform=toko, participant=two)
    assert one.registrant.nik_last4 not in ref[3:]
