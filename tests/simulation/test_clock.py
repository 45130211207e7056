"""The simulated clock: this process travels, and a task queued while travelling runs on a worker
at the moment it was queued."""

import datetime
from types import SimpleNamespace

from django.utils import timezone

from prakerja.common.timeutil import WIB
from prakerja.simulation import clock

MAY_DAY = datetime.datetime(2020, 5, 1, 8, 0, tzinfo=WIB)


def test_travel_moves_timezone_now_and_stop_brings_it_back():
    clock.travel_to(MAY_DAY)
    try:
        during = timezone.now()
    finally:
        clock.stop()

    assert abs(during - MAY_DAY) < datetime.timedelta(seconds=5)
    assert timezone.now().year >= 2026
    assert not clock.is_travelling()


def test_a_task_queued_while_travelling_carries_the_moment_and_runs_at_it():
    headers: dict[str, str] = {}
    clock.travel_to(MAY_DAY)
    try:
        clock._stamp(headers=headers)
    finally:
        clock.stop()
    task = SimpleNamespace(request=SimpleNamespace(**headers))

    clock._enter(task_id="t1", task=task)
    try:
        inside = timezone.now()
    finally:
        clock._leave(task_id="t1")

    assert set(headers) == {clock.HEADER}
    assert abs(inside - MAY_DAY) < datetime.timedelta(seconds=5)
    assert timezone.now().year >= 2026


def test_outside_a_simulation_tasks_carry_no_clock_and_run_on_the_real_one():
    headers: dict[str, str] = {}
    clock._stamp(headers=headers)
    clock._enter(task_id="t2", task=SimpleNamespace(request=SimpleNamespace()))
    try:
        inside = timezone.now()
    finally:
        clock._leave(task_id="t2")

    assert headers == {}
    assert inside.year >= 2026
