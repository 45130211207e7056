"""One rule, one place (issue 22): for random states and random chunks, each set-based entry point
on N items answers and writes exactly what N one-item calls (the per-request services) do — the
same refusal codes and details, orders, ledger transactions and legs, balances, outbox events,
audit events, first purchases (tests/orders/compare.py runs both from one state and one clock).

Each example builds its state inside a transaction that is rolled back afterwards, on a world of
participants, platforms and trainings made once per test."""

import contextlib
import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.catalog.models import Training
from prakerja.common.errors import InsufficientBalance
from prakerja.common.timeutil import WIB
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase, voucher_redeem
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant, ProgramScheme
from tests.isolation import rolled_back
from tests.orders.compare import (
    ACTOR,
    clock,
    complete_both_ways,
    purchase_both_ways,
    redeem_both_ways,
)
from tests.orders.kit import active_training, credited, platform, scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 21, 3, 15, 7, 250_000, tzinfo=datetime.UTC)  # 10:15 WIB
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PEOPLE = 5
PRICES = (200_000, 300_000, 450_000, 600_000)


@dataclass
class World:
    people: list[Participant]
    platforms: list[Partner]
    trainings: list[Training]  # two per platform


@pytest.fixture
def world() -> World:
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    scheme_valid_for_a_year()
    platforms = [platform("toko")[0], platform("kelas")[0]]
    trainings = [
        active_training(on, f"{on.code}-{i}", price=300_000, hours=10)
        for on in platforms
        for i in range(2)
    ]
    return World(credited(PEOPLE), platforms, trainings)


def example(work: Any) -> None:
    """Run one example's setup and comparison, then undo it."""
    with rolled_back():
        work()


def index(n: int) -> st.SearchStrategy[int]:
    """0 to n - 1, drawn about evenly: st.integers and st.sampled_from favour their first and
    last choices, which would leave few examples where a chunk goes through."""
    return st.integers(0, 10**6).map(lambda i: i % n)


def pick(options: list[Any]) -> st.SearchStrategy[Any]:
    return index(len(options)).map(options.__getitem__)


# --- purchase -------------------------------------------------------------------------------------

person_state = st.fixed_dictionaries(
    {
        "status": pick(["active", "active", "active", "revoked"]),
        "late": pick([False, False, False, True]),  # the first-purchase deadline passed
        "bought_before": st.lists(index(4), max_size=2, unique=True),
    }
)
training_state = st.fixed_dictionaries(
    {
        "status": pick(["active", "active", "active", "suspended"]),
        "price": pick(list(PRICES)),
    }
)
purchase_case = st.fixed_dictionaries(
    {
        "people": st.lists(person_state, min_size=PEOPLE, max_size=PEOPLE),
        "trainings": st.lists(training_state, min_size=4, max_size=4),
        "platform_suspended": pick([False, False, False, True]),
        "lapsed": pick([False] * 5 + [True]),
        # participant index (PEOPLE: no such participant), training index (4: no such training)
        "pairs": st.lists(
            st.tuples(index(PEOPLE + 1), index(5)), min_size=3, max_size=14, unique=True
        ),
    }
)


@EXAMPLES
@given(case=purchase_case)
def test_a_purchase_chunk_is_its_items_bought_one_by_one(world: World, case: dict[str, Any]):
    def work() -> None:
        for training, wanted in zip(world.trainings, case["trainings"], strict=True):
            Training.objects.filter(pk=training.pk).update(price_idr=wanted["price"])
        with clock(NOW - datetime.timedelta(days=2)):
            for person, wanted in zip(world.people, case["people"], strict=True):
                for index in wanted["bought_before"]:
                    # Setup: a purchase the balance does not cover is simply not made.
                    with contextlib.suppress(InsufficientBalance):
                        order_purchase(
                            participant=person, training=world.trainings[index], actor=ACTOR
                        )
        for training, wanted in zip(world.trainings, case["trainings"], strict=True):
            Training.objects.filter(pk=training.pk).update(status=wanted["status"])
        if case["platform_suspended"]:
            Partner.objects.filter(pk=world.platforms[1].pk).update(status="suspended")
        if case["lapsed"]:
            ProgramScheme.objects.filter(code="2020").update(
                balance_expiry_date=NOW.astimezone(WIB).date() - datetime.timedelta(days=1)
            )
        for person, wanted in zip(world.people, case["people"], strict=True):
            changes: dict[str, Any] = {"status": wanted["status"]}
            if wanted["late"]:
                changes["purchase_deadline"] = NOW - datetime.timedelta(minutes=1)
            Participant.objects.filter(pk=person.pk).update(**changes)
        people = {p.pk: p for p in Participant.objects.select_related("scheme")}
        people[10**9] = Participant(pk=10**9)
        ids = [p.pk for p in world.people] + [10**9]
        training_ids = [t.pk for t in world.trainings] + [10**9]
        pairs = [(ids[p], training_ids[t]) for p, t in case["pairs"]]

        purchase_both_ways(NOW, people, pairs)

    example(work)


# --- redemption -----------------------------------------------------------------------------------

order_state = pick(
    ["issued", "issued", "issued", "issued", "redeemed", "expired", "past_date", "cancelled"]
)
redeem_case = st.fixed_dictionaries(
    {
        # order k: participant k, training of platform k % 2
        "orders": st.lists(order_state, min_size=PEOPLE, max_size=PEOPLE),
        "redeemer": index(2),
        # a candidate order (or past them: a code nobody holds, a malformed one), how written, ref
        "items": st.lists(
            st.tuples(
                index(10),
                pick(["stored", "shown", "lower"]),
                pick(["u1", "u2", "u3", "u4", " ", "x" * 101]),
            ),
            min_size=3,
            max_size=10,
            unique=True,
        ),
    }
)


def bought_orders(world: World) -> list[Order]:
    """One order per participant, participant k on platform k % 2, bought three days ago."""
    with clock(NOW - datetime.timedelta(days=3)):
        return [
            order_purchase(participant=person, training=world.trainings[2 * (k % 2)], actor=ACTOR)
            for k, person in enumerate(world.people)
        ]


def candidates(orders: list[Order], on: Partner) -> list[Order]:
    """The orders a chunk of `on` names: its own twice as often as the other platform's."""
    own = [order for order in orders if order.platform_id == on.pk]
    return own + own + [order for order in orders if order.platform_id != on.pk]


def written(code: str, how: str) -> str:
    if how == "shown":
        return voucher_code_format(code)
    if how == "lower":
        return code.lower()
    return code


@EXAMPLES
@given(case=redeem_case)
def test_a_redemption_chunk_is_its_items_redeemed_one_by_one(world: World, case: dict[str, Any]):
    def work() -> None:
        orders = bought_orders(world)
        for order, wanted in zip(orders, case["orders"], strict=True):
            if wanted == "redeemed":
                with clock(NOW - datetime.timedelta(days=1)):
                    voucher_redeem(
                        platform=order.platform,
                        voucher_code=order.voucher_code,
                        platform_user_ref="earlier",
                        actor=ACTOR,
                    )
            elif wanted == "past_date":
                Order.objects.filter(pk=order.pk).update(
                    expires_at=NOW - datetime.timedelta(seconds=1)
                )
            elif wanted in ("expired", "cancelled"):
                Order.objects.filter(pk=order.pk).update(status=wanted)
        on = world.platforms[case["redeemer"]]
        codes = [o.voucher_code for o in candidates(orders, on)] + ["0000000000011", "NOT-A-CODE"]
        items = [(written(codes[k % len(codes)], how), ref) for k, how, ref in case["items"]]

        redeem_both_ways(NOW, on, items)

    example(work)


# --- completion -----------------------------------------------------------------------------------

# completed_at relative to the redemption (NOW - 1 day): seconds, or None for a naive time
when = pick([0, 3_600, 40_000, 80_000, 86_400 + 200, -5, 86_400 + 600, None])
completion_case = st.fixed_dictionaries(
    {
        "orders": st.lists(
            pick(["redeemed", "redeemed", "redeemed", "issued", "completed"]),
            min_size=PEOPLE,
            max_size=PEOPLE,
        ),
        "reporter": index(2),
        # a candidate order (or past them: no such order), completed_at, score, number, URL
        "items": st.lists(
            st.tuples(
                index(9),
                when,
                pick([0, 90, 100, 75, 60, 101, -1, True]),
                pick(["C-1", "C-2", "C-3", "C-4", "", "x" * 101]),
                pick(["https://x.example/c"] * 5 + ["ftp://x.example/c", "not a url", ""]),
            ),
            min_size=3,
            max_size=10,
            unique=True,
        ),
    }
)


@EXAMPLES
@given(case=completion_case)
def test_a_completion_chunk_is_its_items_completed_one_by_one(world: World, case: dict[str, Any]):
    redeemed_at = NOW - datetime.timedelta(days=1)

    def work() -> None:
        orders = bought_orders(world)
        for order, wanted in zip(orders, case["orders"], strict=True):
            if wanted == "issued":
                continue
            with clock(redeemed_at):
                voucher_redeem(
                    platform=order.platform,
                    voucher_code=order.voucher_code,
                    platform_user_ref="u",
                    actor=ACTOR,
                )
            if wanted == "completed":
                Order.objects.filter(pk=order.pk).update(status="completed")
        on = world.platforms[case["reporter"]]
        ids = [order.pk for order in candidates(orders, on)] + [10**9]
        items = [
            (
                ids[k % len(ids)],
                redeemed_at.replace(tzinfo=None)
                if after is None
                else redeemed_at + datetime.timedelta(seconds=after),
                score,
                number,
                url,
            )
            for k, after, score, number, url in case["items"]
        ]

        complete_both_ways(NOW, on, items)

    example(work)
