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
