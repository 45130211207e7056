"""wave_join_bulk: the rules of wave_join for many registrants at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prakerja.audit.models import AuditEvent
from prakerja.registration.models import Registrant
from prakerja.waves import services
from prakerja.waves.join_bulk import wave_join_bulk
from prakerja.waves.models import LifetimeBlock, WaveApplication
from prakerja.waves.services import WaveNotOpen
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db


def rows(wave_id: int) -> list[tuple]:
    return list(
        WaveApplication.objects.filter(wave_id=wave_id)
        .order_by("registrant_id")
        .values_list("registrant_id", "province_code", "priority", "outcome", "carried_from_id")
    )


def test_the_bulk_join_writes_what_joining_one_by_one_writes():
    laid_off = verified(2, employment="laid_off", province="31")
    others = verified(2)
    wave = open_wave(priority_order=["laid_off"])
    join(wave, [laid_off[0], others[0]])  # the per-item service, for comparison
    joined = wave_join_bulk(
        wave=wave, registrant_ids=[others[1].pk, laid_off[1].pk], actor=OPERATOR
    )

    assert joined == 2
    assert rows(wave.pk) == sorted(
        [
            (laid_off[0].pk, "31", "laid_off", "pending", None),
            (laid_off[1].pk, "31", "laid_off", "pending", None),
            (others[0].pk, "32", "", "pending", None),
            (others[1].pk, "32", "", "pending", None),
        ]
    )
    events = AuditEvent.objects.filter(event_type="wave.applied")
    assert sorted(int(e.subject_id) for e in events) == sorted(
        WaveApplication.objects.filter(wave=wave).values_list("pk", flat=True)
    )
    assert {(e.actor_kind, e.actor_label, e.subject_type) for e in events} == {
        ("user", "user:operator", "waves.waveapplication")
    }
    assert [e.details for e in events] == [{"wave": wave.number}] * 4


def test_those_who_may_not_join_are_skipped_and_a_second_call_adds_nobody():
    ok, participant_like, blocked, unverified = verified(4)
    Registrant.objects.filter(pk=unverified.pk).update(face_status="pending")
    LifetimeBlock.objects.create(nik_index=blocked.nik_index, reason="revoked")
    wave = open_wave()
    services.wave_join(wave=wave, registrant=participant_like, actor=OPERATOR)

    ids = [ok.pk, participant_like.pk, blocked.pk, unverified.pk, ok.pk]
    assert wave_join_bulk(wave=wave, registrant_ids=ids, actor=OPERATOR) == 1
    assert wave_join_bulk(wave=wave, registrant_ids=ids, actor=OPERATOR) == 0
    assert sorted(
        WaveApplication.objects.filter(wave=wave).values_list("registrant_id", flat=True)
    ) == sorted([ok.pk, participant_like.pk])
    assert AuditEvent.objects.filter(event_type="wave.applied").count() == 2


def test_a_wave_that_is_not_open_is_refused_and_nothing_is_written():
    people = verified(2)
    wave = closed(open_wave())
    before = (WaveApplication.objects.count(), AuditEvent.objects.count())
    with pytest.raises(WaveNotOpen) as refused:
        wave_join_bulk(wave=wave, registrant_ids=[p.pk for p in people], actor=OPERATOR)
    assert refused.value.code == "WAVE_NOT_OPEN"
    assert (WaveApplication.objects.count(), AuditEvent.objects.count()) == before


def test_statements_per_chunk_do_not_grow_with_its_size():
    wave = open_wave()
    small, large = verified(5), verified(60)

    def statements(people: list[Registrant]) -> int:
        with CaptureQueriesContext(connection) as captured:
            wave_join_bulk(wave=wave, registrant_ids=[p.pk for p in people], actor=OPERATOR)
        return len(captured)

    assert statements(small) == statements(large)
    assert WaveApplication.objects.filter(wave=wave).count() == 65
