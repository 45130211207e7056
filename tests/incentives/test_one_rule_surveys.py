"""One rule, one place (issue 22): `surveys_submit_bulk` on N survey answers gives what N calls
of `survey_submit` give, on random states: the same answers (refusal codes and details),
responses, survey entitlements, ledger transactions and legs, balances and audit events
(tests/incentives/test_surveys_bulk.compare: one by one rolled back, then the chunk). Each example
builds its state in a savepoint on a pool made once and rolls it back."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.incentives.entitlements import months_after
from prakerja.incentives.models import Entitlement, SurveyResponse
from tests.incentives.test_surveys_bulk import ANSWERS, TODAY, compare, entitled, free_scheme
from tests.orders import factories as f

pytestmark = pytest.mark.django_db

ANSWER_SETS = [
    ANSWERS,
    {**ANSWERS, "training_helped": "perhaps"},  # a choice the question does not have
    {k: v for k, v in ANSWERS.items() if k != "training_effective"},  # one left out
    {**ANSWERS, "favourite_colour": "blue"},  # a question the survey does not ask
]
ENTITLED = 4  # participants with incentives; one without any and one of a free scheme follow


@pytest.fixture
def pool() -> list[int]:
    people = [entitled(TODAY) for _ in range(ENTITLED)]
    return [*people, f.participant().pk, entitled(TODAY, scheme=free_scheme())]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # How many months ago each participant's first incentive fell due (-1: next month).
    first_due=st.lists(st.integers(-1, 5), min_size=ENTITLED + 2, max_size=ENTITLED + 2),
    submitted=st.lists(st.integers(0, 4), min_size=ENTITLED + 2, max_size=ENTITLED + 2),
    held=st.booleans(),
    items=st.lists(
        st.tuples(
            st.integers(0, ENTITLED + 1),
            st.integers(0, 5),
            st.sampled_from(range(len(ANSWER_SETS))) | st.just(0),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_submitting_in_one_chunk_is_submitting_one_by_one(
    pool: list[int],
    first_due: list[int],
    submitted: list[int],
    held: bool,
    items: list[tuple[int, int, int]],
) -> None:
    with transaction.atomic():
        for participant_id, months_ago, done in zip(pool, first_due, submitted, strict=True):
            first = months_after(TODAY, -months_ago)
            for entitlement in Entitlement.objects.filter(participant_id=participant_id):
                entitlement.due_on = months_after(first, entitlement.sequence - 1)
                entitlement.save(update_fields=["due_on"])
            SurveyResponse.objects.bulk_create(
                SurveyResponse(participant_id=participant_id, sequence=k, answers=ANSWERS)
                for k in range(1, done + 1)
                if k % 2  # surveys 1 and 3 submitted before, 2 not: gaps as well as runs
            )
        if held:
            Entitlement.objects.filter(participant_id=pool[0]).update(
                status="held", hold_reason="NO_ACCOUNT"
            )
        compare(
            [(pool[who], sequence, dict(ANSWER_SETS[answers])) for who, sequence, answers in items]
        )
        transaction.set_rollback(True)
