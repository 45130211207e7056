"""The statements of a hot path as prepared statements on PostgreSQL.

Django binds parameters on the client (psycopg's ClientCursor quotes each value into the text), so
PostgreSQL parses and plans every statement each time it runs. On the partner API's training
upsert, run by platforms thousands of times a minute, that weighs as much as the work: its
statements run here with server-side binding, prepared once per connection (psycopg keeps them by
text and parameter types) and executed by name after. For statements whose text is fixed, in the
caller's transaction; a connection pooler in transaction mode would break them, as it already breaks
`.iterator()` (docs/operations.md). SQLite runs them through Django's cursor.

A parameter whose type PostgreSQL cannot infer from where it stands (a value in a SELECT list)
needs a cast in the statement: psycopg sends a str as of unknown type.
"""

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection


def prepared_rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` with `params` (`%s` placeholders) on the default connection; its rows, or an
    empty list for a statement that returns none."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    # What Django's own cursor checks and wraps around each statement.
    connection.validate_no_broken_transaction()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else []
