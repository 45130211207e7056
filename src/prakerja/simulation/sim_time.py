"""The simulated calendar: the simulation sets the program's clock (common/clock.py) to each moment
of 2020 it plays; the code it drives asks that clock for the time, so nothing global is patched.

Work the simulation queues for Celery carries the moment it was queued in a message header, and a
worker runs that task at that moment: a credit or a transfer result recorded by a worker carries the
same simulated date as one recorded inline. Outside a simulation nothing sets the header and tasks
run on the real clock.
"""

import datetime
from typing import Any

from prakerja.common import clock

HEADER = "prakerja_clock"

_travelling = False  # this process's clock is the simulation's (not a task's moment)
_task_moments: set[str] = set()


def travel_to(moment: datetime.datetime) -> None:
    """Set this process's clock to `moment` (aware); it ticks on from there."""
    global _travelling
    clock.set_to(moment)
    _travelling = True


def stop() -> None:
    global _travelling
    if _travelling:
        clock.set_to(None)
        _travelling = False


def is_travelling() -> bool:
    return _travelling


def connect_task_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_stamp, weak=False)
    task_prerun.connect(_enter, weak=False)
    task_postrun.connect(_leave, weak=False)


def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if _travelling and headers is not None:
        headers[HEADER] = clock.now().isoformat()


def _enter(task_id: str = "", task: Any = None, **_: Any) -> None:
    stamp = getattr(task.request, HEADER, None) if task is not None else None
    if not stamp or _travelling:  # eager tasks run on the caller's clock already
        return
    clock.set_to(datetime.datetime.fromisoformat(stamp))
    _task_moments.add(task_id)


def _leave(task_id: str = "", **_: Any) -> None:
    if task_id in _task_moments:
        _task_moments.discard(task_id)
        clock.set_to(None)
