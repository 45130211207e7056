"""The one clock the program reads: `now()` (aware, UTC) and `today()` (the date in WIB).

Services, rules, jobs and model defaults ask this module for the time instead of calling
`timezone.now()` or `datetime.now()` themselves, so the simulated 2020 runs the program's own code
on its calendar by setting this clock (`set_to`), not by patching the interpreter's time. Outside a
simulation nothing sets it and it is Django's `timezone.now()`.
"""

import datetime
import time

from django.utils import timezone

from prakerja.common.timeutil import WIB

# (the moment set, time.monotonic() when it was set): the clock ticks on from the moment.
# One per process, as the process's own clock is: worker threads of a simulated day read it too.
_held: tuple[datetime.datetime, float] | None = None


def now() -> datetime.datetime:
    held = _held
    if held is None:
        return timezone.now()
    moment, since = held
    return moment + datetime.timedelta(seconds=time.monotonic() - since)


def today() -> datetime.date:
    return now().astimezone(WIB).date()


def set_to(moment: datetime.datetime | None) -> None:
    """Run this process's clock from `moment` (aware) on; None gives it back to the real time."""
    global _held
    if moment is None:
        _held = None
        return
    if moment.tzinfo is None:
        raise ValueError("the clock is set to an aware moment")
    _held = (moment.astimezone(datetime.UTC), time.monotonic())


def is_set() -> bool:
    return _held is not None
