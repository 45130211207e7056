"""Holding trainings while they are sold.

A purchase must not sell a training that the PMO suspends at the same moment, yet purchases of one
popular training must not queue behind each other. A shared row lock (PostgreSQL `FOR SHARE`) does
both: sales share it, while a suspension's UPDATE waits for the sales holding it to commit (and a
sale that comes after the suspension sees it). SQLite writers are serialised by the database, so no
lock is needed there.
"""

from collections.abc import Iterable

from django.db import connection

from prakerja.catalog.models import Training, TrainingStatus

_TRAININGS = Training._meta.db_table


def trainings_hold_active(training_ids: Iterable[int]) -> set[int]:
    """Of these trainings, the ones active now, held by a shared lock to the end of the
    transaction (in id order, so that holders and a suspension never deadlock)."""
    ids = sorted(set(training_ids))
    if not ids:
        return set()
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_TRAININGS} WHERE id IN ({marks}) AND status = %s "  # noqa: S608
            f"ORDER BY id{lock}",
            [*ids, TrainingStatus.ACTIVE],
        )
        return {row[0] for row in cursor.fetchall()}
