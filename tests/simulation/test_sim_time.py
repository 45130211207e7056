"""The simulated calendar: the simulation sets the program's clock (common/clock.py), and a task
queued while travelling runs on a worker at the moment it was queued. Nothing global is patched."""

import datetime
from types import SimpleNamespace

from django.utils import timezone

from prakerja.common import clock
from prakerja.common.timeutil import WIB
from prakerja.simulation import sim_time

MAY_DAY = datetime.datetime(2020, 5, 1, 8, 0, tzinfo=WIB)


def test_travel_sets_the_program_clock_not_the_interpreters_and_stop_gives_it_back():
    sim_time.travel_to(MAY_DAY)
    try:
        during = clock.now()
        today_during = clock.today()
        django_during = timezone.now()
    finally:
        sim_time.stop()

    assert datetime.timedelta(0) <= during - MAY_DAY < datetime.timedelta(seconds=5)
    assert today_during == datetime.date(2020, 5, 1)
    assert django_during.year >= 2026
    assert clock.now().year >= 2026
    assert not sim_time.is_travelling()
    assert not clock.is_set()


def test_the_set_clock_ticks_on_from_its_moment():
    clock.set_to(MAY_DAY)
    try:
        first = clock.now()
        second = clock.now()
    finally:
        clock.set_to(None)

    assert first <= second
    assert first.tzinfo is not None and first.utcoffset() == datetime.timedelta(0)


def test_the_clock_refuses_a_naive_moment():
    try:
        clock.set_to(datetime.datetime(2020, 5, 1, 8, 0))
    except ValueError:
        refused = True
    else:
        refused = False
        clock.set_to(None)

    assert refused
    assert not clock.is_set()


def test_a_task_queued_while_travelling_carries_the_moment_and_runs_at_it():
    headers: dict[str, str] = {}
    sim_time.travel_to(MAY_DAY)
    try:
        sim_time._stamp(headers=headers)
    finally:
        sim_time.stop()
    task = SimpleNamespace(request=SimpleNamespace(**headers))

    sim_time._enter(task_id="t1", task=task)
    try:
        inside = clock.now()
    finally:
        sim_time._leave(task_id="t1")

    assert set(headers) == {sim_time.HEADER}
    assert datetime.timedelta(0) <= inside - MAY_DAY < datetime.timedelta(seconds=5)
    assert clock.now().year >= 2026
    assert not clock.is_set()


def test_outside_a_simulation_tasks_carry_no_clock_and_run_on_the_real_one():
    headers: dict[str, str] = {}
    sim_time._stamp(headers=headers)
    sim_time._enter(task_id="t2", task=SimpleNamespace(request=SimpleNamespace()))
    try:
        inside = clock.now()
    finally:
        sim_time._leave(task_id="t2")

    assert headers == {}
    assert inside.year >= 2026
    assert not clock.is_set()
