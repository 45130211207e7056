"""One rule, one place (issue 22): joining a wave through `wave_applications_join` on N registrants
gives what N calls of `wave_join` give, on random states: the same answers (refusal codes and
details), applications and audit events.

Each example builds its state inside a savepoint on a pool made once, runs the N one-item calls
(rolled back), then the set-based call, and rolls everything back; rows are compared by what they
stand for (the registrant), since a rolled-back run still advances PostgreSQL's sequences."""

import json
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.audit.models import AuditEvent
from prakerja.common.errors import ApplicationError
from prakerja.common.refusals import Refused
from prakerja.registration.models import Registrant
from prakerja.waves import services
from prakerja.waves.join_bulk import wave_applications_join
from prakerja.waves.models import LifetimeBlock, PriorityEntry, Wave, WaveApplication
from tests.isolation import rolled_back
from tests.orders import factories as f
from tests.waves.factory import OPERATOR, open_wave, verified

pytestmark = pytest.mark.django_db

POOL = 6  # verified registrants; two participants of another wave follow them
LAYER_STATES = [
    {},  # every layer passed
    {"face_status": "pending"},
    {"phone_status": "failed", "face_status": "failed"},
    {"eligibility_status": "pending"},
]


@pytest.fixture
def pool() -> tuple[Wave, list[Registrant]]:
    people = verified(POOL // 2) + verified(POOL - POOL // 2, employment="laid_off", province="31")
    PriorityEntry.objects.create(group="pkh", nik_index=people[0].nik_index)
    PriorityEntry.objects.create(group="pkh", nik_index=people[-1].nik_index)
    participants = [f.participant().registrant for _ in range(2)]
    wave = open_wave(priority_order=["pkh", "laid_off"])
    return wave, people + participants


Outcome = tuple[str, Any]


def state(wave: Wave) -> dict[str, Any]:
    registrant_of = dict(
        WaveApplication.objects.filter(wave=wave).values_list("pk", "registrant_id")
    )
    return {
        "applications": sorted(
            WaveApplication.objects.filter(wave=wave).values_list(
                "registrant_id", "province_code", "priority", "outcome", "carried_from_id"
            )
        ),
        "audit": sorted(
            (
                label,
                event_type,
                subject_type,
                registrant_of.get(int(subject_id)),
                json.dumps(details, sort_keys=True),
            )
            for label, event_type, subject_type, subject_id, details in AuditEvent.objects.filter(
                event_type="wave.applied"
            ).values_list("actor_label", "event_type", "subject_type", "subject_id", "details")
        ),
    }


def one_by_one(wave: Wave, ids: list[int]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for registrant_id in ids:
        try:
            application = services.wave_join(
                wave=Wave.objects.get(pk=wave.pk),
                registrant=Registrant.objects.get(pk=registrant_id),
                actor=OPERATOR,
            )
        except ApplicationError as error:
            outcomes.append((error.code, error.details))
        else:
            outcomes.append(("OK", application.registrant_id))
    return outcomes


def set_based(wave: Wave, ids: list[int]) -> list[Outcome]:
    try:
        answers = wave_applications_join(wave=wave, registrant_ids=ids, actor=OPERATOR)
    except ApplicationError as error:  # the wave itself refused: every item is
        return [(error.code, error.details)] * len(ids)
    registrant_of = dict(WaveApplication.objects.values_list("pk", "registrant_id"))
    outcomes: list[Outcome] = []
    for index, answer in enumerate(answers):
        if isinstance(answer, Refused):
            assert answer.index == index
            outcomes.append((answer.code, answer.error.details))
        else:
            outcomes.append(("OK", registrant_of[answer]))
    return outcomes


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layers=st.lists(st.sampled_from(range(len(LAYER_STATES))), min_size=POOL, max_size=POOL),
    blocked=st.lists(st.booleans(), min_size=POOL, max_size=POOL),
    applied=st.lists(st.booleans(), min_size=POOL, max_size=POOL),
    verification=st.sampled_from(["face", "fi_kyc"]),
    wave_open=st.booleans() | st.just(True),
    items=st.lists(st.integers(0, POOL + 1), min_size=1, max_size=10),
)
def test_joining_in_one_call_is_joining_one_by_one(
    pool: tuple[Wave, list[Registrant]],
    layers: list[int],
    blocked: list[bool],
    applied: list[bool],
    verification: str,
    wave_open: bool,
    items: list[int],
) -> None:
    wave, people = pool
    ids = [people[i].pk for i in items]
    with transaction.atomic():
        Wave.objects.filter(pk=wave.pk).update(
            verification=verification, status="open" if wave_open else "closed"
        )
        for person, layer, block, joined in zip(people, layers, blocked, applied, strict=False):
            Registrant.objects.filter(pk=person.pk).update(**LAYER_STATES[layer])
            if block:
                LifetimeBlock.objects.create(nik_index=person.nik_index, reason="revoked")
            if joined:
                WaveApplication.objects.create(
                    wave=wave, registrant=person, province_code=person.province_code
                )
        with rolled_back():
            expected = one_by_one(wave, ids)
            expected_state = state(wave)
        got = set_based(wave, ids)
        assert got == expected
        assert state(wave) == expected_state
        transaction.set_rollback(True)
