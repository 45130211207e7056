"""Crediting n participants' training balances in bulk, against a raw multi-row insert of the same
legs into a table of the same shape as ledger_leg."""

from collections.abc import Callable

from django.db import connection, transaction

from prakerja.common.actors import Actor
from prakerja.ledger.models import AccountKind, Leg
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.timing import stopwatch
from prakerja.waves.selectors import scheme_active

CHUNK = 10_000
ROWS_PER_INSERT = 1_000


def run(n: int, log: Callable[[str], None]) -> BenchResult:
    amount = scheme_active().training_balance_idr
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    log(f"setup: {n} training-balance accounts")
    accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=range(1, n + 1))
    owners = sorted(accounts)
    actor = Actor.system("bench.ledger")

    log("system: bulk crediting through transactions_post_bulk")
    with stopwatch() as system:
        for start in range(0, n, CHUNK):
            postings = [
                Posting(
                    idempotency_key=f"training-credit:bench:{owner}",
                    legs=((budget, -amount), (accounts[owner], amount)),
                )
                for owner in owners[start : start + CHUNK]
            ]
            transactions_post_bulk(kind="training_credit", postings=postings, actor=actor)

    report = ledger_integrity_report()
    if not report.ok or report.transactions != n:
        raise RuntimeError(f"bench ledger produced a wrong ledger: {report}")

    log("limit: raw multi-row INSERT of the same legs into a table shaped like ledger_leg")
    _create_limit_table()
    legs = [(i, budget, -amount) for i in range(1, n + 1)] + [
        (i, accounts[owner], amount) for i, owner in enumerate(owners, start=1)
    ]
    with stopwatch() as limit:
        for start in range(0, len(legs), CHUNK * 2):
            with transaction.atomic(), connection.cursor() as cursor:
                for offset in range(start, min(start + CHUNK * 2, len(legs)), ROWS_PER_INSERT):
                    rows = legs[offset : offset + ROWS_PER_INSERT]
                    values = ", ".join(["(%s, %s, %s)"] * len(rows))
                    cursor.execute(
                        "INSERT INTO bench_leg_limit (transaction_id, account_id, amount) "  # noqa: S608
                        f"VALUES {values}",
                        [value for row in rows for value in row],
                    )
    return BenchResult(
        seconds=system.seconds,
        limit_seconds=limit.seconds,
        extra={"database": connection.vendor, "legs": 2 * n, "chunk": CHUNK},
    )


def _create_limit_table() -> None:
    table = Leg._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE bench_leg_limit (LIKE {table} INCLUDING ALL)")
        else:
            cursor.execute(
                "CREATE TABLE bench_leg_limit (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "transaction_id BIGINT NOT NULL, account_id BIGINT NOT NULL, "
                "amount BIGINT NOT NULL)"
            )
            cursor.execute("CREATE INDEX bench_leg_limit_t ON bench_leg_limit (transaction_id)")
            cursor.execute("CREATE INDEX bench_leg_limit_a ON bench_leg_limit (account_id)")
