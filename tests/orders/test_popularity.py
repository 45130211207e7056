"""A training's buyers are counted from its orders by a periodic job (orders/popularity.py), so that
purchases of one popular training never queue on its row; a sale holds the training by a shared
lock instead, which other sales share and a suspension waits for."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from prakerja.catalog.holds import trainings_hold_active
from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.orders.models import Order
from prakerja.orders.popularity import trainings_buyers_refresh
from prakerja.orders.services import order_purchase
from tests.orders.kit import active_training, credited, platform, scheme_valid_for_a_year


@pytest.fixture
def spendable() -> None:
    scheme_valid_for_a_year()


def buyers(training: Training) -> int:
    return Training.objects.get(pk=training.pk).buyers


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_the_refresh_counts_every_order_of_a_training_whatever_its_status():
    toko, _ = platform("toko")
    one, two, three = credited(3)
    popular, quiet, unsold = (active_training(toko, name) for name in ("laris", "sepi", "kosong"))
    for person in (one, two, three):
        order_purchase(participant=person, training=popular, actor=Actor.system("tests"))
    order_purchase(participant=one, training=quiet, actor=Actor.system("tests"))
    Order.objects.filter(participant=two, training=popular).update(status="expired")

    assert (buyers(popular), buyers(quiet), buyers(unsold)) == (0, 0, 0)
    assert trainings_buyers_refresh() == 2
    assert (buyers(popular), buyers(quiet), buyers(unsold)) == (3, 1, 0)
    assert trainings_buyers_refresh() == 0  # idempotent
    assert (buyers(popular), buyers(quiet), buyers(unsold)) == (3, 1, 0)


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_a_higher_count_from_an_imported_catalog_stands_until_orders_pass_it():
    toko, _ = platform("toko")
    (person,) = credited(1)
    training = active_training(toko, "demo")
    Training.objects.filter(pk=training.pk).update(buyers=40)
    order_purchase(participant=person, training=training, actor=Actor.system("tests"))

    assert trainings_buyers_refresh() == 0
    assert buyers(training) == 40


@pytest.mark.django_db
def test_only_active_trainings_are_held():
    toko, _ = platform("toko")
    active, suspended = active_training(toko, "aktif"), active_training(toko, "ditangguhkan")
    Training.objects.filter(pk=suspended.pk).update(status="suspended")
    with transaction.atomic():
        assert trainings_hold_active([suspended.pk, active.pk, active.pk]) == {active.pk}
        assert trainings_hold_active([]) == set()


def _in_other_connection(work, timeout_ms: int = 300) -> str:
    """Run `work` in a transaction of another connection with a short lock timeout."""
    outcome: list[str] = []

    def run() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{timeout_ms}ms'")
                work()
            outcome.append("done")
        except OperationalError as error:
            outcome.append("lock timeout" if "lock timeout" in str(error) else str(error))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_on_postgresql_sales_share_the_hold_and_a_suspension_waits_for_them():
    toko, _ = platform("toko")
    training = active_training(toko, "barista")

    with transaction.atomic():
        assert trainings_hold_active([training.pk]) == {training.pk}
        # Another sale of the same training does not wait ...
        another_sale = _in_other_connection(lambda: trainings_hold_active([training.pk]))
        # ... a suspension does, until this sale commits.
        suspension = _in_other_connection(
            lambda: Training.objects.filter(pk=training.pk).update(status="suspended")
        )
    assert (another_sale, suspension) == ("done", "lock timeout")
    assert Training.objects.get(pk=training.pk).status == "active"
    assert (
        _in_other_connection(
            lambda: Training.objects.filter(pk=training.pk).update(status="suspended")
        )
        == "done"
    )
