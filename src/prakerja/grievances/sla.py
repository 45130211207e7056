"""Service levels: how long support may take, by priority, counted in calendar hours from filing.

Constants rather than scheme settings: they are the support office's promise, the same whichever
scheme a participant joined; a change is a code change with its review, like any promise made in
public. First response = the complaint triaged (or rejected); resolution = resolved or rejected.
"""

import datetime

from prakerja.grievances.models import Priority

HOUR = datetime.timedelta(hours=1)

# priority → (first response within, resolution within)
SLA: dict[str, tuple[datetime.timedelta, datetime.timedelta]] = {
    Priority.URGENT: (4 * HOUR, 24 * HOUR),
    Priority.HIGH: (8 * HOUR, 72 * HOUR),
    Priority.NORMAL: (24 * HOUR, 120 * HOUR),
    Priority.LOW: (48 * HOUR, 240 * HOUR),
}


def due_times(
    filed_at: datetime.datetime, priority: str
) -> tuple[datetime.datetime, datetime.datetime]:
    """(first response due, resolution due) of a complaint filed at `filed_at` with `priority`."""
    first_response, resolution = SLA[priority]
    return filed_at + first_response, filed_at + resolution
