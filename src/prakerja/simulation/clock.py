"""The simulated calendar: the simulation travels this process's clock (time-machine patches
`time.time` and `datetime.now` underneath Django's `timezone.now`) to each moment of 2020 it plays.

Work the simulation queues for Celery carries the moment it was queued in a message header, and a
worker runs that task at that moment: a credit or a transfer result recorded by a worker carries the
same simulated date as one recorded inline. Outside a simulation nothing sets the header and tasks
run on the real clock.
"""

import datetime
from typing import Any

import time_machine

HEADER = "prakerja_clock"

_traveller: Any = None  # time_machine.travel while the simulation holds the clock
_task_travellers: dict[str, Any] = {}


def travel_to(moment: datetime.datetime) -> None:
    """Set this process's clock to `moment` (aware); it ticks on from there."""
    global _traveller
    stop()
    _traveller = time_machine.travel(moment, tick=True)
    _traveller.start()


def stop() -> None:
    global _traveller
    if _traveller is not None:
        _traveller.stop()
        _traveller = None


def is_travelling() -> bool:
    return _traveller is not None


def connect_task_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_stamp, weak=False)
    task_prerun.connect(_enter, weak=False)
    task_postrun.connect(_leave, weak=False)


def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if _traveller is not None and headers is not None:
        from django.utils import timezone

        headers[HEADER] = timezone.now().isoformat()


def _enter(task_id: str = "", task: Any = None, **_: Any) -> None:
    stamp = getattr(task.request, HEADER, None) if task is not None else None
    if not stamp or _traveller is not None:  # eager tasks run on the caller's clock already
        return
    traveller = time_machine.travel(datetime.datetime.fromisoformat(stamp), tick=True)
    traveller.start()
    _task_travellers[task_id] = traveller


def _leave(task_id: str = "", **_: Any) -> None:
    traveller = _task_travellers.pop(task_id, None)
    if traveller is not None:
        traveller.stop()
