"""Set-based SQL for bulk posting, one statement per step per chunk, for PostgreSQL and SQLite.

PostgreSQL receives whole chunks as arrays (`unnest`, `= ANY`); SQLite receives them as one JSON
text (`json_each`), which keeps both clear of bound-parameter limits and per-row round trips.
"""

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from prakerja.ledger.models import Balance, Leg, Transaction

IN_CHUNK = 5000  # keys per IN (...) look-up through the ORM; far below SQLite's variable limit

T = Transaction._meta.db_table
L = Leg._meta.db_table
B = Balance._meta.db_table


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def existing_keys(keys: list[str]) -> set[str]:
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(
                f"SELECT idempotency_key FROM {T} WHERE idempotency_key = ANY(%s)",  # noqa: S608
                [keys],
            )
        else:
            cursor.execute(
                f"SELECT idempotency_key FROM {T} "  # noqa: S608 - table names are model constants
                "WHERE idempotency_key IN (SELECT value FROM json_each(%s))",
                [json.dumps(keys)],
            )
        return {row[0] for row in cursor.fetchall()}


def insert_transactions(
    *, keys: list[str], kind: str, memo: str, actor: str, created_at: datetime
) -> dict[str, int]:
    """Insert one transaction per key; key -> new transaction id."""
    stamp = connection.ops.adapt_datetimefield_value(created_at)
    columns = "(idempotency_key, kind, memo, actor, created_at, reverses_id)"
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(
                f"INSERT INTO {T} {columns} "  # noqa: S608
                "SELECT k, %s, %s, %s, %s, NULL FROM unnest(%s::varchar[]) AS k "
                "RETURNING id, idempotency_key",
                [kind, memo, actor, stamp, keys],
            )
        else:
            cursor.execute(
                f"INSERT INTO {T} {columns} "  # noqa: S608
                "SELECT value, %s, %s, %s, %s, NULL FROM json_each(%s) WHERE true "
                "RETURNING id, idempotency_key",
                [kind, memo, actor, stamp, json.dumps(keys)],
            )
        return {key: pk for pk, key in cursor.fetchall()}


def insert_legs(rows: Iterable[tuple[int, int, int]]) -> None:
    """Insert legs given as (transaction id, account id, amount)."""
    with connection.cursor() as cursor:
        if _postgres():
            # COPY is PostgreSQL's fastest way in; psycopg 3 streams the rows without building SQL.
            with cursor.cursor.copy(
                f"COPY {L} (transaction_id, account_id, amount) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {L} (transaction_id, account_id, amount) VALUES (%s, %s, %s)",  # noqa: S608
                list(rows),
            )


def apply_balance_deltas(deltas: dict[int, int]) -> list[int]:
    """Add each delta to its account's balance row unless that would take a non-negative account
    below zero. Returns the accounts refused (sorted); the caller rolls the chunk back if any."""
    accounts = sorted(deltas)
    amounts = [deltas[account] for account in accounts]
    with connection.cursor() as cursor:
        if _postgres():
            # Lock in account-id order first, so two chunks that share accounts cannot deadlock.
            cursor.execute(
                f"SELECT account_id FROM {B} WHERE account_id = ANY(%s) "  # noqa: S608
                "ORDER BY account_id FOR UPDATE",
                [accounts],
            )
            cursor.execute(
                f"UPDATE {B} AS b SET amount = b.amount + v.delta "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(account_id, delta) "
                "WHERE b.account_id = v.account_id "
                "AND (b.amount + v.delta >= 0 OR b.may_go_negative) "
                "RETURNING b.account_id",
                [accounts, amounts],
            )
        else:
            cursor.execute(
                f"UPDATE {B} SET amount = {B}.amount + v.delta "  # noqa: S608
                "FROM (SELECT json_extract(value, '$[0]') AS account_id, "
                "json_extract(value, '$[1]') AS delta FROM json_each(%s)) AS v "
                f"WHERE {B}.account_id = v.account_id "
                f"AND ({B}.amount + v.delta >= 0 OR {B}.may_go_negative) "
                f"RETURNING {B}.account_id",
                [json.dumps(list(zip(accounts, amounts, strict=True)))],
            )
        updated = {row[0] for row in cursor.fetchall()}
    return [account for account in accounts if account not in updated]
