"""A training's buyers (the catalog's popularity sort): counted from the orders by a periodic job.

A purchase does not add to its training's row: at national scale thousands of purchases a minute
go to the same few popular trainings, and an UPDATE of that row would queue them one behind another
(and rewrite a wide row with a dozen search indexes each time). The count is the number of orders a
training ever had, whatever their status; it never goes down, so a count imported with a catalog
(the demo's) stands until real orders pass it.
"""

from django.db import connection, transaction

from prakerja.catalog.models import Training
from prakerja.orders.models import Order

_TRAININGS = Training._meta.db_table
_ORDERS = Order._meta.db_table


def trainings_buyers_refresh() -> int:
    """Set each training's buyers to its number of orders where that is more; one set-based
    statement (the orders are counted through their (training, status) index). Returns the number
    of trainings changed. Idempotent."""
    sql = (
        f"UPDATE {_TRAININGS} SET buyers = c.n FROM ("  # noqa: S608
        f"SELECT training_id, COUNT(*) AS n FROM {_ORDERS} GROUP BY training_id"
        f") AS c WHERE {_TRAININGS}.id = c.training_id AND {_TRAININGS}.buyers < c.n"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount
