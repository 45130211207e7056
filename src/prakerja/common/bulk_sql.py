"""Set-based SQL shared by batch writers: a chunk of rows sent as one JSON text and read back as a
row set (`json_rows`), and times written as text the database reads back as the same instant
(`db_time`). One parameter per statement, whatever the chunk's size: clear of bound-parameter limits
and of psycopg's value-by-value adaptation of the ORM's bulk_create arrays."""

import datetime
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL


def db_time(moment: datetime.datetime) -> str:
    """A time as a text the database reads back as the same instant: ISO 8601 with its offset for
    PostgreSQL's timestamptz, Django's UTC text for SQLite."""
    if connection.vendor == "postgresql":
        return moment.isoformat()
    return str(connection.ops.adapt_datetimefield_value(moment))


def json_rows(columns: Sequence[tuple[str, str]], rows: list[list[Any]]) -> tuple[str, list[str]]:
    """A row set with the named columns (name, PostgreSQL type) from lists of values, as SQL and
    its one parameter: the rows travel as one JSON text (`json_array_elements` on PostgreSQL,
    `json_each` on SQLite), clear of bound-parameter limits and of per-value adaptation. A column
    of type jsonb takes a JSON value as it is (SQLite keeps it as JSON text, as Django stores a
    JSONField there)."""
    if connection.vendor == "postgresql":
        values = ", ".join(
            f"(e.value {'->' if pg_type == 'jsonb' else '->>'} {i})::{pg_type} AS {name}"
            for i, (name, pg_type) in enumerate(columns)
        )
        sql = f"(SELECT {values} FROM json_array_elements(%s::json) AS e(value))"  # noqa: S608
        return sql, [json.dumps(rows)]
    values = ", ".join(
        f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns)
    )
    return f"(SELECT {values} FROM json_each(%s))", [json.dumps(rows)]  # noqa: S608


def id_list(values: Sequence[Any], pg_type: str = "bigint") -> tuple[str, list[str]]:
    """A list of values as a subquery (`… IN (<sql>)`) and its one parameter, a JSON text.
    PostgreSQL cannot see its length (it assumes 100 values) and so looks the values up by index,
    where a literal list of 1.000 values may make it scan the table (its cost model prices 1.000
    index probes above a scan of 100.000 rows)."""
    if connection.vendor == "postgresql":
        sql = f"SELECT value::{pg_type} FROM json_array_elements_text(%s::json) AS v(value)"  # noqa: S608
        return sql, [json.dumps(list(values))]
    return "SELECT value FROM json_each(%s)", [json.dumps(list(values))]


def among(values: Sequence[Any], pg_type: str = "bigint") -> RawSQL:
    """id_list for the ORM's `field__in=`."""
    return RawSQL(*id_list(values, pg_type))  # noqa: S611 - id_list's SQL is fixed text
