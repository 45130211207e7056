"""Applicants a draw did not select join the next wave when it opens, if the scheme says so."""

import pytest

from prakerja.waves.carry_over import wave_carry_over
from prakerja.waves.models import ProgramScheme, WaveApplication
from prakerja.waves.selection import wave_select
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db


def test_unselected_applicants_are_carried_once_with_their_new_priority(
    django_capture_on_commit_callbacks,
):
    first = open_wave(quota=2)
    people = verified(4) + verified(2, employment="laid_off")
    join(first, people)
    wave_select(wave=closed(first), seed="seed-of-the-wave", actor=OPERATOR)
    unselected = set(
        WaveApplication.objects.filter(wave=first, outcome="pending").values_list(
            "registrant_id", flat=True
        )
    )
    assert len(unselected) == 4

    # Opening the next wave carries them (queued on commit); a second run adds nothing
    with django_capture_on_commit_callbacks(execute=True):
        second = open_wave(quota=2, seed="second", priority_order=["laid_off"])
    carried = WaveApplication.objects.filter(wave=second)
    assert carried.count() == 4
    assert wave_carry_over(wave_id=second.pk) == 0
    assert set(carried.values_list("registrant_id", flat=True)) == unselected
    assert set(carried.values_list("carried_from", flat=True)) == {first.pk}
    laid_off = {r.pk for r in people[4:]} & unselected
    assert {a.registrant_id for a in carried if a.priority == "laid_off"} == laid_off


def test_no_carry_over_when_the_scheme_says_no():
    ProgramScheme.objects.filter(is_active=True).update(carry_over_unselected=False)
    first = open_wave(quota=1)
    join(first, verified(3))
    wave_select(wave=closed(first), seed="seed-of-the-wave", actor=OPERATOR)
    second = open_wave(quota=1, seed="second")
    assert wave_carry_over(wave_id=second.pk) == 0
    assert WaveApplication.objects.filter(wave=second).count() == 0
