"""One rule, one place (issue 22) for reviews: on random states, a chunk of N reviews
(reviews_submit_bulk) and the same N items submitted one at a time as chunks of one (what
review_submit is) give the same answers and leave the same database: reviews (stars, text, hash,
times, both flags), trainings' ratings, audit events, entitlements (with their holds), ledger
transactions, legs and balances, and partner events.

Each example builds its state inside a savepoint on a pool of rows made once per test, runs the
items one by one, rolls back to the state, runs the chunk, and rolls back again. Ids a sequence hands
out are compared through what they stand for (tests/orders/test_review_bulk.state).

The one difference a chunk has on purpose (orders/review_bulk.py: a participant with two
certified completions reviewed in one chunk, the second completed faster than the training) is kept
out of the states: a participant given a fast completion has no second completion."""

import datetime
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.common.refusals import Refused
from prakerja.orders import review_flags
from prakerja.orders.models import Order, OrderStatus
from prakerja.orders.review_bulk import reviews_submit_bulk
from prakerja.partners.models import OutboundEvent, Partner, PartnerKind
from prakerja.waves.models import ProgramScheme
from tests.orders import factories as f
from tests.orders.test_review_bulk import (
    ACTOR,
    GOOD,
    NOW,
    OTHER,
    OWN,
    RING,
    RING_AGAIN,
    SHARED,
    Item,
    Outcome,
    clock,
    outcome,
    state,
    with_account,
)

pytestmark = pytest.mark.django_db

PEOPLE = 5  # the first three with a verified payment account
TRAININGS = 2  # each participant has one order of each
NO_ORDER = 10**9
OTHERS, NONE = -1, -2  # an item's order: another participant's, or none such

CONTENT_TEXTS = [
    GOOD,
    OTHER,
    f"  {GOOD}  ",
    "pendek",
    "x" * 2001,
    "Teks\x00 dengan karakter aneh",
    "",
]
CONTENT_STARS = [0, 1, 3, 5, 6, True, "4"]
FLAG_TEXTS = [RING, RING_AGAIN, SHARED, OWN, OTHER]
BEFORE_TEXTS = [GOOD, OTHER, SHARED, RING]


def pool() -> tuple[list[int], list[list[int]]]:
    """Participants and their orders (participant -> one order per training), made once."""
    bank = Partner.objects.create(code="ovo", name="OVO", kind=PartnerKind.INSTITUTION)
    trainings = [f.training(f.institution(f.platform())) for _ in range(TRAININGS)]
    people = [f.participant() for _ in range(PEOPLE)]
    for who in people[:3]:
        with_account(who, bank)
    return [p.pk for p in people], [[f.order(p, t).pk for t in trainings] for p in people]


def order_states() -> st.SearchStrategy[tuple[str, bool, bool]]:
    """(status, certified, fast completion) of one order."""
    return st.tuples(
        st.sampled_from([OrderStatus.COMPLETED] * 3 + [OrderStatus.REDEEMED]),
        st.sampled_from([True, True, False]),
        st.sampled_from([False, False, True]),
    )


def world(texts: list[str], stars: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    orders = PEOPLE * TRAININGS
    item = st.tuples(
        st.integers(0, PEOPLE - 1),  # who submits
        # mostly one of their own orders; else another participant's, or none such
        st.sampled_from([*range(TRAININGS)] * 3 + [OTHERS, NONE]),
        st.sampled_from(stars),
        st.sampled_from(texts),
    )
    return st.fixed_dictionaries(
        {
            "orders": st.lists(order_states(), min_size=orders, max_size=orders),
            "edit_days": st.sampled_from([0, 7]),
            # order index -> (age in days, text) of a review written before the items
            "before": st.dictionaries(
                st.integers(0, orders - 1),
                st.tuples(st.sampled_from([0, 1, 6, 7, 8]), st.sampled_from(BEFORE_TEXTS)),
                max_size=4,
            ),
            "items": st.lists(item, min_size=1, max_size=10),
        }
    )


def build(case: dict[str, Any], people: list[int], orders: list[list[int]]) -> list[Item]:
    """The example's state on the pool (inside the caller's savepoint) and its items."""
    ProgramScheme.objects.filter(code="2020").update(review_edit_days=case["edit_days"])
    flat = [pk for row in orders for pk in row]
    for person, row in enumerate(orders):
        states = [list(case["orders"][person * TRAININGS + t]) for t in range(TRAININGS)]
        # A fast completion only on the first order, and then no other completion (see the top).
        fast = states[0][2] and states[0][0] == OrderStatus.COMPLETED
        for later in states[1:]:
            later[2] = False
            if fast:
                later[0] = OrderStatus.REDEEMED
        for pk, (status, certified, fast_one) in zip(row, states, strict=True):
            completed = status == OrderStatus.COMPLETED
            Order.objects.filter(pk=pk).update(
                status=status,
                completed_at=f.T0 + datetime.timedelta(hours=31) if completed else None,
                percent=100 if completed else 40,
                final_score=85 if completed else None,
                certificate_number=f"CERT-{pk}" if completed and certified else "",
                flag_fast_completion=fast_one and completed,
            )
    for index, (age, text) in sorted(case["before"].items()):
        order = Order.objects.get(pk=flat[index])
        if order.status == OrderStatus.COMPLETED:
            with clock(NOW - datetime.timedelta(days=age)):
                reviews_submit_bulk(
                    reviews=[(order.participant_id, order.pk, 4, text)], actor=ACTOR
                )
    return [
        (people[who], _order_of(orders, who, which), stars, text)
        for who, which, stars, text in case["items"]
    ]


def _order_of(orders: list[list[int]], who: int, which: int) -> int:
    if which == NONE:
        return NO_ORDER
    if which == OTHERS:
        return orders[(who + 1) % PEOPLE][0]
    return orders[who][which]


def snapshot() -> dict[str, Any]:
    events = sorted(
        (e.partner_id, e.event_type, e.subject, str(e.payload)) for e in OutboundEvent.objects.all()
    )
    return {**state(), "events": events}


def answers_of(answers: list[int | Refused]) -> list[Outcome]:
    for index, answer in enumerate(answers):
        if isinstance(answer, Refused):
            assert answer.index == index
    return [outcome(answer) for answer in answers]


def same_as_one_by_one(items: list[Item]) -> None:
    """The chunk and the items one at a time, each from the state as it is."""
    with clock(NOW):
        with transaction.atomic():
            expected = []
            for item in items:
                [answer] = reviews_submit_bulk(reviews=[item], actor=ACTOR)
                expected.append(outcome(answer.error if isinstance(answer, Refused) else answer))
            expected_state = snapshot()
            transaction.set_rollback(True)
        with transaction.atomic():
            got = answers_of(reviews_submit_bulk(reviews=items, actor=ACTOR))
            got_state = snapshot()
            transaction.set_rollback(True)
    assert got == expected
    for part in expected_state:
        assert got_state[part] == expected_state[part], part


def check(strategy: st.SearchStrategy[dict[str, Any]], burst: int) -> Callable[[], None]:
    people, orders = pool()

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=strategy)
    def run(case: dict[str, Any]) -> None:
        with mock.patch.object(review_flags, "BURST_REVIEWS", burst), transaction.atomic():
            same_as_one_by_one(build(case, people, orders))
            transaction.set_rollback(True)

    return run


def test_a_chunk_answers_and_writes_as_its_items_one_by_one():
    """Every refusal (ownership, status, edit window, stars, length, text policy), creations and
    edits, with the default burst limit."""
    check(
        world([*CONTENT_TEXTS, OTHER, GOOD], [*CONTENT_STARS, 4, 4]), review_flags.BURST_REVIEWS
    )()


def test_a_chunk_flags_and_holds_as_its_items_one_by_one():
    """Identical texts across participants (edits into and out of a shared text), bursts (a limit
    of two, so a few reviews of a training make one), and the REVIEW_FLAGGED holds of the
    incentives granted on the way."""
    check(world(FLAG_TEXTS, [2, 4, 5]), burst=2)()
