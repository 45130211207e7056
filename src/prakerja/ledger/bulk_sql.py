"""Set-based SQL for bulk work, one statement per step per chunk, for PostgreSQL and SQLite.

A chunk travels as one parameter: a PostgreSQL array (`unnest`) or, on SQLite, one JSON text
(`json_each`). That keeps both clear of bound-parameter limits and of per-row round trips. On
PostgreSQL the parameter is sent as one text (an array literal, or JSON for strings): psycopg adapts a
Python list element by element, which takes longer than the statement for a chunk of 10.000.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection

from prakerja.common.sqlsets import value_rows
from prakerja.ledger.models import Account, Balance, Leg, Transaction

CHUNK = 20_000  # owners per statement when creating accounts in bulk

A = Account._meta.db_table
B = Balance._meta.db_table
L = Leg._meta.db_table
T = Transaction._meta.db_table


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _rows(values: list[Any], pg_type: str) -> tuple[str, Any]:
    """`value_rows`, with the values sent as one text on PostgreSQL."""
    if not _postgres():
        return value_rows(values, pg_type)
    if pg_type == "bigint":
        return "(SELECT unnest(%s::bigint[]) AS value)", _int_array(values)
    return "(SELECT json_array_elements_text(%s::json) AS value)", json.dumps(values)


def _int_array(values: Iterable[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def ensure_accounts(
    *, kind: str, owner_ids: list[int], may_go_negative: bool, created_at: datetime
) -> dict[int, int]:
    """Create the missing accounts of `kind` for `owner_ids`, each with a zero balance row, and keep
    the existing ones. Returns owner id -> account id."""
    owners, param = _rows(owner_ids, "bigint")
    stamp = connection.ops.adapt_datetimefield_value(created_at)
    with connection.cursor() as cursor:
        # `WHERE true` lets SQLite tell the upsert clause from a join constraint.
        cursor.execute(
            f"INSERT INTO {A} (kind, owner_id, created_at) "  # noqa: S608 - names are model constants
            f"SELECT %s, o.value, %s FROM {owners} AS o WHERE true ON CONFLICT DO NOTHING",
            [kind, stamp, param],
        )
        cursor.execute(
            f"INSERT INTO {B} (account_id, amount, may_go_negative) "  # noqa: S608
            f"SELECT a.id, 0, %s FROM {A} a WHERE a.kind = %s AND a.owner_id IN {owners} "
            "ON CONFLICT DO NOTHING",
            [may_go_negative, kind, param],
        )
        cursor.execute(
            f"SELECT a.owner_id, a.id FROM {A} a WHERE a.kind = %s AND a.owner_id IN {owners}",  # noqa: S608
            [kind, param],
        )
        return dict(cursor.fetchall())


def existing_keys(keys: list[str]) -> set[str]:
    rows, param = _rows(keys, "varchar")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT idempotency_key FROM {T} WHERE idempotency_key IN {rows}",  # noqa: S608
            [param],
        )
        return {row[0] for row in cursor.fetchall()}


def insert_transactions(
    *, keys: list[str], kind: str, memo: str, actor: str, created_at: datetime
) -> dict[str, int]:
    """Insert one transaction per key; key -> new transaction id."""
    rows, param = _rows(keys, "varchar")
    stamp = connection.ops.adapt_datetimefield_value(created_at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {T} (idempotency_key, kind, memo, actor, created_at, reverses_id) "  # noqa: S608
            f"SELECT k.value, %s, %s, %s, %s, NULL FROM {rows} AS k WHERE true "
            "RETURNING id, idempotency_key",
            [kind, memo, actor, stamp, param],
        )
        return {key: pk for pk, key in cursor.fetchall()}


def insert_legs(rows: Iterable[tuple[int, int, int]]) -> None:
    """Insert legs given as (transaction id, account id, amount)."""
    with connection.cursor() as cursor:
        if _postgres():
            # COPY is PostgreSQL's fastest way in; psycopg 3 streams the rows without building SQL.
            sql = f"COPY {L} (transaction_id, account_id, amount) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
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
                f"SELECT account_id FROM {B} WHERE account_id = ANY(%s::bigint[]) "  # noqa: S608
                "ORDER BY account_id FOR UPDATE",
                [_int_array(accounts)],
            )
            cursor.execute(
                f"UPDATE {B} AS b SET amount = b.amount + v.delta "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(account_id, delta) "
                "WHERE b.account_id = v.account_id "
                "AND (b.amount + v.delta >= 0 OR b.may_go_negative) "
                "RETURNING b.account_id",
                [_int_array(accounts), _int_array(amounts)],
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
