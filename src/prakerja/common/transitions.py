"""The one transition check of every status machine (orders, trainings, waves, complaints, …): a
status changes only along its table, and a refused move raises the machine's own error with the
details a person and a log need. The set-based paths move many rows in one UPDATE from one status
to another; they assert at import that the table allows that move (see orders/rules.py), so the
table stays the one statement of the rule. Why not a state-machine library: decision 0008."""

from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from prakerja.common.errors import ApplicationError


class HasStatus(Protocol):
    status: Any


def status_move(
    obj: HasStatus,
    target: str,
    *,
    table: Mapping[str, Collection[str]],
    refused: Callable[[str], ApplicationError],
) -> str:
    """Set `obj.status` to `target` if `table` allows the move from its current status, else raise
    `refused(current)`; returns the status it had. The caller saves `obj` and records the change in
    the same transaction (the object is locked by then)."""
    before = str(obj.status)
    if target not in table[before]:
        raise refused(before)
    obj.status = target
    return before
