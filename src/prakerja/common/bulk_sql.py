"""Set-based SQL shared by batch writers: a chunk of rows sent as one JSON text and read back as a
row set (`json_rows`), and times written as text the database reads back as the same instant
(`db_time`). One parameter per statement, whatever the chunk's size: clear of bound-parameter limits
and of psycopg's value-by-value adaptation of the ORM's bulk_create arrays."""

import datetime
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection


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
