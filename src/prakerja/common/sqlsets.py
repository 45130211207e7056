"""A Python list as a one-column SQL row set, for set-based statements on PostgreSQL and SQLite.

PostgreSQL receives the list as one array parameter (`unnest`), SQLite as one JSON text
(`json_each`): no bound-parameter limits, no SQL text that grows with the list.
"""

import json
from typing import Any

from django.db import connection


def value_rows(values: list[Any], pg_type: str) -> tuple[str, Any]:
    """SQL for a row set with one column named `value`, and the single parameter it takes."""
    if connection.vendor == "postgresql":
        return f"(SELECT unnest(%s::{pg_type}[]) AS value)", values
    return "(SELECT value FROM json_each(%s))", json.dumps(values)


def pair_rows(pairs: list[tuple[Any, Any]], pg_types: tuple[str, str]) -> tuple[str, list[Any]]:
    """SQL for a row set with columns `a` and `b` from a list of pairs, and its parameters."""
    if connection.vendor == "postgresql":
        first, second = pg_types
        return (
            f"(SELECT unnest(%s::{first}[]) AS a, unnest(%s::{second}[]) AS b)",
            [[a for a, _ in pairs], [b for _, b in pairs]],
        )
    return (
        "(SELECT json_extract(value, '$[0]') AS a, json_extract(value, '$[1]') AS b "
        "FROM json_each(%s))",
        [json.dumps(pairs)],
    )
