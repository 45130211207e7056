"""surveys_submit_bulk (incentives/surveys_bulk.py) against survey_submit (incentives/surveys.py).

The comparison runs one chunk twice from the same database state and the same clock: once item by
item through survey_submit (then rolled back), once through the bulk entry point. Both must answer
every item alike and leave the same responses, survey entitlements, ledger transactions, legs and
balances, and audit events. Ids a sequence hands out are compared through what they stand for."""

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.incentives.entitlements import months_after
from prakerja.incentives.models import Entitlement, SurveyResponse
from prakerja.incentives.surveys import survey_submit
from prakerja.incentives.surveys_bulk import surveys_submit_bulk
from prakerja.ledger.models import Account, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.bulk import CHUNK_MAX
from prakerja.waves.models import Participant, ProgramScheme
from tests.isolation import rolled_back
from tests.orders import factories as f

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("simulation")
NOW = datetime.datetime(2026, 11, 21, 3, 15, 7, 250_000, tzinfo=datetime.UTC)  # 10:15 WIB
TODAY = datetime.date(2026, 11, 21)
ANSWERS = {"employment_status": "employee", "training_helped": "yes", "training_effective": "yes"}

Item = tuple[int, int, dict[str, str]]
Outcome = tuple[str, Any]


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def entitled(first_due: datetime.date, *, scheme: ProgramScheme | None = None, **row: Any) -> int:
    """A participant with the four monthly incentives, the first due on `first_due` (rows only: the
    grant is tested in tests/orders/test_review_bulk.py and tests/incentives)."""
    who = f.participant(scheme=scheme)
    Entitlement.objects.bulk_create(
        Entitlement(
            participant=who,
            kind="incentive",
            sequence=month + 1,
            amount_idr=600_000,
            due_on=months_after(first_due, month),
            **row,
        )
        for month in range(4)
    )
    return who.pk


# --- the comparison -------------------------------------------------------------------------------


def response_names() -> dict[str, str]:
    return {
        str(pk): f"response<{participant}/{sequence}>"
        for pk, participant, sequence in SurveyResponse.objects.values_list(
            "pk", "participant", "sequence"
        )
    }


def state() -> dict[str, Any]:
    """Everything a survey can change, independent of sequence values."""
    responses = response_names()
    entitlements = {
        str(pk): f"entitlement<{participant}/{kind}/{sequence}>"
        for pk, participant, kind, sequence in Entitlement.objects.values_list(
            "pk", "participant", "kind", "sequence"
        )
    }
    account_of = {
        pk: (kind, owner)
        for pk, kind, owner in Account.objects.values_list("pk", "kind", "owner_id")
    }
    key_of = {
        pk: f"entitlement:{entitlements[key.partition(':')[2]]}"
        for pk, key in Transaction.objects.values_list("pk", "idempotency_key")
    }
    return {
        "responses": sorted(
            (participant, sequence, json.dumps(answers, sort_keys=True))
            for participant, sequence, answers in SurveyResponse.objects.values_list(
                "participant_id", "sequence", "answers"
            )
        ),
        "entitlements": sorted(
            Entitlement.objects.values_list(
                "participant_id",
                "kind",
                "sequence",
                "amount_idr",
                "due_on",
                "status",
                "hold_reason",
                "failed_attempts",
                "paid_at",
            )
        ),
        "transactions": sorted(
            (key_of[pk], kind, actor)
            for pk, kind, actor in Transaction.objects.values_list("pk", "kind", "actor")
        ),
        "legs": sorted(
            (key_of[txn], account_of[account], amount)
            for txn, account, amount in Leg.objects.values_list(
                "transaction_id", "account_id", "amount"
            )
        ),
        "balances": sorted(
            (account_of[pk], amount) for pk, amount in Balance.objects.values_list("pk", "amount")
        ),
        "audit": sorted(
            (
                label,
                event_type,
                subject_type,
                responses.get(subject_id, subject_id),
                json.dumps(details, sort_keys=True),
            )
            for label, event_type, subject_type, subject_id, details in AuditEvent.objects.values_list(
                "actor_label", "event_type", "subject_type", "subject_id", "details"
            )
        ),
    }


def outcome(value: int | Refused | SurveyResponse | ApplicationError) -> Outcome:
    if isinstance(value, Refused):
        value = value.error
    if isinstance(value, ApplicationError):
        return value.code, value.details
    return "OK", response_names()[str(value.pk if isinstance(value, SurveyResponse) else value)]


def one_by_one(items: list[Item]) -> list[Outcome]:
    outcomes = []
    for participant_id, sequence, answers in items:
        who = Participant.objects.select_related("scheme").get(pk=participant_id)
        try:
            response = survey_submit(
                participant=who, sequence=sequence, answers=answers, actor=ACTOR
            )
        except ApplicationError as error:
            outcomes.append(outcome(error))
        else:
            outcomes.append(outcome(response))
    return outcomes


def in_bulk(items: list[Item]) -> list[Outcome]:
    answers = surveys_submit_bulk(answers=items, actor=ACTOR)
    assert len(answers) == len(items)
    for index, answer in enumerate(answers):
        if isinstance(answer, Refused):
            assert answer.index == index
    return [outcome(answer) for answer in answers]


def compare(items: list[Item]) -> list[Outcome]:
    with clock(NOW):
        with rolled_back():
            expected = one_by_one(items)
            expected_state = state()
        got = in_bulk(items)
        got_state = state()
    assert got == expected
    for part in expected_state:
        assert got_state[part] == expected_state[part], part
    assert ledger_integrity_report().ok
    return got


def free_scheme() -> ProgramScheme:
    """A second scheme that pays nothing for a survey."""
    scheme = ProgramScheme.objects.get(code="2020")
    scheme.pk = None
    scheme.code = "tanpa"
    scheme.is_active = False
    scheme.survey_incentive_idr = 0
    scheme.save()
    return scheme


# --- every rule -----------------------------------------------------------------------------------


def test_a_chunk_gives_what_survey_submit_gives_for_every_rule():
    p1 = entitled(datetime.date(2026, 10, 1))  # surveys 1 and 2 open, 3 from 1 December
    p2 = entitled(TODAY)  # survey 1 opens today
    p3 = f.participant().pk  # no incentive: no survey
    p4 = entitled(datetime.date(2026, 6, 1))  # all four incentives due; three surveys
    p5 = entitled(datetime.date(2026, 6, 1), scheme=free_scheme())
    p6 = entitled(datetime.date(2026, 6, 1), status="held", hold_reason="NO_ACCOUNT")
    with clock(NOW):
        survey_submit(
            participant=Participant.objects.get(pk=p2), sequence=1, answers=ANSWERS, actor=ACTOR
        )
    items: list[Item] = [
        (p1, 1, ANSWERS),
        (p1, 2, {**ANSWERS, "employment_status": "business_owner"}),
        (p1, 3, ANSWERS),
        (p1, 1, ANSWERS),  # earlier in the chunk
        (p2, 1, ANSWERS),  # before the chunk
        (p2, 2, {"employment_status": "employee"}),
        (p2, 1, {**ANSWERS, "training_helped": "maybe", "mood": "good"}),
        (p3, 1, ANSWERS),
        (p4, 4, ANSWERS),
        (p4, 3, ANSWERS),
        (p5, 1, ANSWERS),
        (p6, 1, ANSWERS),  # a held incentive still opens its survey
        (p4, 0, ANSWERS),
    ]

    got = compare(items)

    assert got == [
        ("OK", f"response<{p1}/1>"),
        ("OK", f"response<{p1}/2>"),
        ("SURVEY_NOT_OPEN", {"sequence": 3}),
        ("SURVEY_ALREADY_SUBMITTED", {"sequence": 1}),
        ("SURVEY_ALREADY_SUBMITTED", {"sequence": 1}),
        (
            "SURVEY_ANSWERS_MISMATCH",
            {"training_helped": "REQUIRED", "training_effective": "REQUIRED"},
        ),
        (
            "SURVEY_ANSWERS_MISMATCH",
            {"training_helped": "CHOICE_INVALID", "mood": "UNKNOWN_QUESTION"},
        ),
        ("SURVEY_NOT_OPEN", {"sequence": 1}),
        ("SURVEY_NOT_OPEN", {"sequence": 4}),
        ("OK", f"response<{p4}/3>"),
        ("OK", f"response<{p5}/1>"),
        ("OK", f"response<{p6}/1>"),
        ("SURVEY_NOT_OPEN", {"sequence": 0}),
    ]
    assert sorted(
        Entitlement.objects.filter(kind="survey").values_list(
            "participant_id", "sequence", "amount_idr", "due_on", "status"
        )
    ) == [
        (p1, 1, 50_000, TODAY, "due"),
        (p1, 2, 50_000, TODAY, "due"),
        (p2, 1, 50_000, TODAY, "due"),
        (p4, 3, 50_000, TODAY, "due"),
        (p6, 1, 50_000, TODAY, "due"),
    ]
    assert SurveyResponse.objects.get(participant_id=p1, sequence=2).answers == {
        **ANSWERS,
        "employment_status": "business_owner",
    }
    assert AuditEvent.objects.filter(event_type="survey.submitted").count() == 6
    survey_legs = Leg.objects.filter(transaction__kind="incentive_accrue", amount=50_000)
    assert survey_legs.count() == 5


# --- re-runs, refusals, size ----------------------------------------------------------------------


def test_a_chunk_run_again_changes_nothing():
    people = [entitled(datetime.date(2026, 6, 1)) for _ in range(3)]
    items: list[Item] = [(p, n, ANSWERS) for p in people for n in (1, 2, 3)]
    with clock(NOW):
        first = surveys_submit_bulk(answers=items, actor=ACTOR)
        before = state()
        again = surveys_submit_bulk(answers=items, actor=ACTOR)

    assert all(isinstance(pk, int) for pk in first)
    assert [(a.index, a.code) for a in again if isinstance(a, Refused)] == [
        (i, "SURVEY_ALREADY_SUBMITTED") for i in range(9)
    ]
    assert state() == before
    assert Entitlement.objects.filter(kind="survey").count() == 9
    assert ledger_integrity_report().ok


def test_refused_items_write_nothing():
    done = entitled(datetime.date(2026, 6, 1))
    later = entitled(datetime.date(2027, 1, 1))
    with clock(NOW):
        survey_submit(
            participant=Participant.objects.get(pk=done), sequence=1, answers=ANSWERS, actor=ACTOR
        )
    before = state()

    with clock(NOW):
        answers = surveys_submit_bulk(
            answers=[
                (done, 1, ANSWERS),
                (later, 1, ANSWERS),
                (done, 2, {}),
                (10**9, 1, ANSWERS),
            ],
            actor=ACTOR,
        )

    assert [(a.index, a.code, a.error.details) for a in answers if isinstance(a, Refused)] == [
        (0, "SURVEY_ALREADY_SUBMITTED", {"sequence": 1}),
        (1, "SURVEY_NOT_OPEN", {"sequence": 1}),
        (
            2,
            "SURVEY_ANSWERS_MISMATCH",
            {
                "employment_status": "REQUIRED",
                "training_helped": "REQUIRED",
                "training_effective": "REQUIRED",
            },
        ),
        (3, "NOT_FOUND", {"participant_id": 10**9}),
    ]
    assert state() == before


def test_a_chunk_takes_the_same_statements_however_many_items():
    people = [entitled(datetime.date(2026, 6, 1)) for _ in range(12)]

    def statements(chunk: list[int]) -> int:
        items: list[Item] = [(p, n, ANSWERS) for p in chunk for n in (1, 2, 3)]
        items += [(chunk[0], 4, ANSWERS), (chunk[0], 1, {})]
        with clock(NOW), CaptureQueriesContext(connection) as queries:
            answers = surveys_submit_bulk(answers=items, actor=ACTOR)
        assert sum(isinstance(a, int) for a in answers) == 3 * len(chunk)
        return len(queries)

    statements(people[:1])  # the ledger's program accounts made once
    assert statements(people[1:3]) == statements(people[3:12])
    assert ledger_integrity_report().ok


def test_a_chunk_is_at_most_the_limit():
    with pytest.raises(ValidationFailed) as refused:
        surveys_submit_bulk(answers=[(1, 1, ANSWERS)] * (CHUNK_MAX + 1), actor=ACTOR)
    assert refused.value.details == {"items": f"at most {CHUNK_MAX} per chunk, not 1001"}
    assert surveys_submit_bulk(answers=[], actor=ACTOR) == []
