"""n purchases, then their n redemptions, then their n completions through the bulk entry points
of orders/bulk.py in chunks of 1.000 — the way the simulation and Celery chunks call them —
against the limit of a raw COPY (PostgreSQL) or executemany (SQLite) of the same final rows: the
n orders in their final state, the 2n ledger transactions and 4n legs, the n `voucher.issued` events
and the 3n audit events of the orders, into tables of the same shape in the same run.

Setup, not timed: the demo catalog (8 platforms, CATALOG trainings, 92 % active); n/4 participants
of one announced wave, loaded by COPY (executemany on SQLite) with their registrants and
applications, and credited the scheme's training balance in chunks through the ledger's bulk
posting (as crediting does); the scheme's balance expiry date moved a year ahead when it has
passed (this is a scratch database: nothing could be bought otherwise). Each participant buys four
distinct active trainings of at most a quarter of the balance (so the balance covers them), drawn
by a seeded generator; vouchers are redeemed and completed per platform.
"""

import datetime
import io
import multiprocessing
import random
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from django.db import connection, connections, transaction

from prakerja.audit.models import AuditEvent
from prakerja.catalog.demo import demo_catalog_seed
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.ledger.models import AccountKind, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.selection import (
    APPS,
    REG,
    REGISTRANT_COLUMNS,
    _checkpoint,
    _next_id,
    _registrant_constants,
    _registrant_rows,
    _sqlite_value,
    _write,
)
from prakerja.ops.bench.timing import stopwatch
from prakerja.orders.bulk import (
    BulkOutcome,
    Completion,
    Purchased,
    orders_complete_bulk,
    orders_purchase_bulk,
    vouchers_redeem_bulk,
)
from prakerja.orders.models import Order, OrderStatus
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.waves.crediting import credit_key
from prakerja.waves.models import Participant, ProgramScheme, Wave, WaveStatus
from prakerja.waves.selectors import scheme_active

CHUNK = 1_000  # items per bulk call, as the simulation's and Celery's chunks
PER_PARTICIPANT = 4  # purchases per participant
CATALOG = 1_500  # demo trainings (the catalog of April 2020); a fifth fit a quarter of the balance
SETUP_CHUNK = 10_000  # participants per crediting chunk (as waves/crediting.py)
DATA_SEED = 2020
WORKERS = 2  # processes taking the chunks on PostgreSQL, as two Celery workers would
ACTOR = Actor.system("bench.orders")

PART = Participant._meta.db_table
ORDERS = Order._meta.db_table
TXNS = Transaction._meta.db_table
LEGS = Leg._meta.db_table
ORDER_COLUMNS = [str(field.column) for field in Order._meta.concrete_fields]
TXN_COLUMNS = [str(field.column) for field in Transaction._meta.concrete_fields]
LEG_COLUMNS = [str(field.column) for field in Leg._meta.concrete_fields]
EVENTS = OutboundEvent._meta.db_table
AUDIT = AuditEvent._meta.db_table
EVENT_COLUMNS = [str(field.column) for field in OutboundEvent._meta.concrete_fields]
AUDIT_COLUMNS = [str(field.column) for field in AuditEvent._meta.concrete_fields]
LIMIT_TABLES = {
    ORDERS: "bench_order_limit",
    TXNS: "bench_txn_limit",
    LEGS: "bench_leg_limit",
    EVENTS: "bench_event_limit",
    AUDIT: "bench_audit_limit",
}
KINDS = ("order_purchase", "order_redeem")


def run(n: int, log: Callable[[str], None], workers: int | None = None) -> BenchResult:
    # SQLite has one writer at a time: a second process would only wait for the lock.
    workers = workers or (WORKERS if connection.vendor == "postgresql" else 1)
    with stopwatch() as setup:
        scheme = _scheme_spendable()
        participants = _participants(-(-n // PER_PARTICIPANT), scheme, ACTOR, log)
        trainings = _trainings(scheme, log)
        pairs = _pairs(n, participants, trainings)
        _analyze()
        _checkpoint(log)
    log(f"setup: {setup.seconds:.1f} s")

    phases: dict[str, float] = {}
    log(f"system: {n} purchases in chunks of {CHUNK}, {workers} worker process(es)")
    with stopwatch() as watch:
        bought = _purchase(pairs, workers)
    phases["purchase"] = watch.seconds
    log(f"system: purchases {watch.seconds:.1f} s")
    _checkpoint(log)
    with stopwatch() as watch:
        _redeem(bought, workers)
    phases["redeem"] = watch.seconds
    log(f"system: redemptions {watch.seconds:.1f} s")
    _checkpoint(log)
    with stopwatch() as watch:
        _complete(bought, workers)
    phases["complete"] = watch.seconds
    log(f"system: completions {watch.seconds:.1f} s")
    counts = _check(n, bought, scheme)

    limit_phases = _limit(log)
    return BenchResult(
        seconds=sum(phases.values()),
        limit_seconds=sum(limit_phases.values()),
        extra={
            "database": connection.vendor,
            "chunk": CHUNK,
            "workers": workers,
            "participants": len(participants),
            "trainings_bought": len({tid for _, tid in pairs}),
            "platforms": len(_by_platform(bought)),
            **counts,
            "setup_seconds": round(setup.seconds, 1),
            "phases": {name: round(seconds, 3) for name, seconds in phases.items()},
            "limit_phases": {name: round(seconds, 6) for name, seconds in limit_phases.items()},
            # The limit as it stood before the events and audit events joined it, for comparison
            # with the figures recorded before.
            "ratio_to_orders_and_ledger_only": round(
                sum(phases.values())
                / sum(limit_phases[name] for name in ("orders", "transactions", "legs", "commit")),
                3,
            ),
        },
    )


# --- setup ----------------------------------------------------------------------------------------


def _scheme_spendable() -> ProgramScheme:
    scheme = scheme_active()
    today = clock.today()
    if scheme.balance_expiry_date < today:
        ProgramScheme.objects.filter(pk=scheme.pk).update(
            balance_expiry_date=today + datetime.timedelta(days=365)
        )
        scheme.refresh_from_db()
    return scheme


def _participants(
    count: int, scheme: ProgramScheme, actor: Actor, log: Callable[[str], None]
) -> list[int]:
    """`count` credited participants of one announced wave; their ids."""
    now = clock.now()
    log(f"setup: {count} participants with registrants and applications")
    wave = Wave.objects.create(
        number=1,
        scheme=scheme,
        status=WaveStatus.ANNOUNCED,
        quota=count,
        opens_at=now - datetime.timedelta(days=10),
        closes_at=now - datetime.timedelta(days=3),
        selected_at=now - datetime.timedelta(days=2),
    )
    first_registrant, first_application, first_participant = (
        _next_id(REG),
        _next_id(APPS),
        _next_id(PART),
    )
    _write(
        REG,
        REGISTRANT_COLUMNS,
        _registrant_constants(now),
        _registrant_rows(count, first_registrant),
    )
    _write(
        APPS,
        "id, registrant_id, province_code",
        {
            "wave_id": wave.pk,
            "applied_at": now,
            "carried_from_id": None,
            "outcome": "selected",
            "outcome_reason": "",
            "priority": "",
        },
        ((first_application + i, first_registrant + i, "31") for i in range(count)),
    )
    _write(
        PART,
        "id, registrant_id, application_id, card_number",
        {
            "wave_id": wave.pk,
            "scheme_id": scheme.pk,
            "selected_at": now - datetime.timedelta(days=2),
            "purchase_deadline": now + datetime.timedelta(days=28),
            "first_purchase_at": None,
            "status": "active",
            "credited_at": None,
            "revoked_at": None,
            "quota_returned_to_id": None,
        },
        (
            (first_participant + i, first_registrant + i, first_application + i, f"{i + 1:016d}")
            for i in range(count)
        ),
    )
    _sequences_after_load()
    ids = list(range(first_participant, first_participant + count))
    log(f"setup: crediting {count} training balances")
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    amount = scheme.training_balance_idr
    for start in range(0, count, SETUP_CHUNK):
        chunk = ids[start : start + SETUP_CHUNK]
        with transaction.atomic():
            accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=chunk)
            transactions_post_bulk(
                kind="training_credit",
                postings=[
                    Posting(
                        credit_key(scheme.code, pid), ((budget, -amount), (accounts[pid], amount))
                    )
                    for pid in chunk
                ],
                actor=actor,
                memo="Training balance, bench wave",
            )
            Participant.objects.filter(pk__in=chunk).update(credited_at=now)
    return ids


def _sequences_after_load() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (REG, APPS, PART):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), MAX(id)) FROM {table}",  # noqa: S608
                [table],
            )


def _trainings(scheme: ProgramScheme, log: Callable[[str], None]) -> list[int]:
    """The active demo trainings a participant can buy four of."""
    log(f"setup: demo catalog of {CATALOG} trainings on 8 platforms")
    demo_catalog_seed(n=CATALOG)
    cheap = list(
        Training.objects.filter(
            status=TrainingStatus.ACTIVE,
            price_idr__lte=scheme.training_balance_idr // PER_PARTICIPANT,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(cheap) < PER_PARTICIPANT:
        raise RuntimeError(f"only {len(cheap)} demo trainings fit a quarter of the balance")
    log(f"setup: {len(cheap)} active trainings of at most a quarter of the balance")
    return cheap


def _pairs(n: int, participants: list[int], trainings: list[int]) -> list[tuple[int, int]]:
    """(participant, training): four distinct trainings each, participant after participant."""
    rng = random.Random(DATA_SEED)
    pairs = [
        (participant, training)
        for participant in participants
        for training in rng.sample(trainings, PER_PARTICIPANT)
    ]
    return pairs[:n]


def _analyze() -> None:
    """Statistics of the freshly loaded tables, as a day of autovacuum would have left them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in (REG, APPS, PART, Balance._meta.db_table, "ledger_account", TXNS, LEGS):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")


# --- system ---------------------------------------------------------------------------------------


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _in_workers(workers: int, work: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
    """Each task (one chunk) to `work` in one of `workers` processes, as that many Celery workers
    would take the chunks; the results in task order. The processes are forked with no database
    connection open, so each opens its own."""
    if workers == 1:
        return [work(task) for task in tasks]
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(work, tasks, chunksize=1))


def _round_robin(groups: dict[int, list[Any]]) -> list[tuple[int, list[Any]]]:
    """(key, chunk) tasks taking each group's chunks in turn, so that workers running side by side
    mostly work for different platforms (each platform's ledger balances are one row)."""
    chunked = {key: list(_chunks(items)) for key, items in sorted(groups.items())}
    longest = max((len(chunks) for chunks in chunked.values()), default=0)
    return [
        (key, chunks[i])
        for i in range(longest)
        for key, chunks in chunked.items()
        if i < len(chunks)
    ]


def _purchase(pairs: list[tuple[int, int]], workers: int) -> list[Purchased]:
    bought: list[Purchased] = []
    for orders in _in_workers(workers, _purchase_chunk, list(_chunks(pairs))):
        bought.extend(orders)
    return bought


def _purchase_chunk(chunk: list[tuple[int, int]]) -> list[Purchased]:
    result = orders_purchase_bulk(purchases=chunk, actor=ACTOR)
    _no_refusals("purchase", result.refused)
    return [result.orders[index] for index in sorted(result.orders)]


def _by_platform(bought: list[Purchased]) -> dict[int, list[Purchased]]:
    grouped: dict[int, list[Purchased]] = {}
    for order in bought:
        grouped.setdefault(order.platform_id, []).append(order)
    return grouped


def _redeem(bought: list[Purchased], workers: int) -> None:
    _in_workers(workers, _redeem_chunk, _round_robin(_by_platform(bought)))


def _redeem_chunk(task: tuple[int, list[Purchased]]) -> None:
    platform_id, chunk = task
    result: BulkOutcome = vouchers_redeem_bulk(
        platform=Partner.objects.get(pk=platform_id),
        items=[(o.voucher_code, f"user-{o.participant_id}") for o in chunk],
        actor=ACTOR,
    )
    _no_refusals("redemption", result.refused)


def _complete(bought: list[Purchased], workers: int) -> None:
    _in_workers(workers, _complete_chunk, _round_robin(_by_platform(bought)))


def _complete_chunk(task: tuple[int, list[Purchased]]) -> None:
    platform_id, chunk = task
    platform = Partner.objects.get(pk=platform_id)
    rng = random.Random(DATA_SEED + chunk[0].order_id)
    completed_at = clock.now()
    items: list[Completion] = [
        (
            o.order_id,
            completed_at,
            rng.randint(60, 100),
            f"CERT-{o.order_id}",
            f"https://{platform.code}.example/sertifikat/{o.order_id}",
        )
        for o in chunk
    ]
    result = orders_complete_bulk(platform=platform, items=items, actor=ACTOR)
    _no_refusals("completion", result.refused)


def _no_refusals(what: str, refused: list[Any]) -> None:
    if refused:
        first = refused[0]
        raise RuntimeError(
            f"bench orders: {len(refused)} {what}s refused, first {first.code} {first.error.details}"
        )


def _check(n: int, bought: list[Purchased], scheme: ProgramScheme) -> dict[str, int]:
    """Refuse a run that did not do the whole job; returns the counts."""
    spent = sum(order.price_idr for order in bought)
    payable = Balance.objects.filter(account__kind=AccountKind.PLATFORM_PAYABLE).values_list(
        "amount", flat=True
    )
    pending = Balance.objects.filter(account__kind=AccountKind.PLATFORM_PENDING).values_list(
        "amount", flat=True
    )
    balances = Balance.objects.filter(account__kind=AccountKind.TRAINING_BALANCE).values_list(
        "amount", flat=True
    )
    participants = -(-n // PER_PARTICIPANT)
    counts = {
        "orders": Order.objects.filter(status=OrderStatus.COMPLETED).count(),
        "transactions": Transaction.objects.filter(kind__in=KINDS).count(),
        "legs": Leg.objects.filter(transaction__kind__in=KINDS).count(),
        "events": OutboundEvent.objects.filter(event_type="voucher.issued").count(),
        "audit_events": AuditEvent.objects.filter(subject_type="orders.order").count(),
    }
    wanted = {"orders": n, "transactions": 2 * n, "legs": 4 * n, "events": n, "audit_events": 3 * n}
    problems = [
        f"{what}: {counts[what]} instead of {wanted[what]}"
        for what in wanted
        if counts[what] != wanted[what]
    ]
    for what, got, expected in (
        ("payable", sum(payable), spent),
        ("pending", sum(pending), 0),
        ("training balances", sum(balances), participants * scheme.training_balance_idr - spent),
    ):
        if got != expected:
            problems.append(f"{what}: {got} instead of {expected}")
    report = ledger_integrity_report()
    problems += [str(problem) for problem in report.problems[:5]]
    if problems or len(bought) != n:
        raise RuntimeError("bench orders did not finish the job: " + "; ".join(problems))
    return counts


# --- limit ----------------------------------------------------------------------------------------


def _limit(log: Callable[[str], None]) -> dict[str, float]:
    """Seconds to write the same final rows — orders, transactions, legs, events and audit
    events — by the plainest means into tables of the same shape (columns, indexes, checks; no
    foreign keys or triggers)."""
    log("limit: raw COPY of the same orders, transactions, legs, events and audit events")
    _create_limit_tables()
    kinds = "', '".join(KINDS)
    sources = {
        ORDERS: f"SELECT {', '.join(ORDER_COLUMNS)} FROM {ORDERS} ORDER BY id",  # noqa: S608
        TXNS: f"SELECT {', '.join(TXN_COLUMNS)} FROM {TXNS} "  # noqa: S608
        f"WHERE kind IN ('{kinds}') ORDER BY id",
        LEGS: f"SELECT {', '.join('l.' + c for c in LEG_COLUMNS)} FROM {LEGS} l "  # noqa: S608
        f"JOIN {TXNS} t ON t.id = l.transaction_id WHERE t.kind IN ('{kinds}') ORDER BY l.id",
        EVENTS: f"SELECT {', '.join(EVENT_COLUMNS)} FROM {EVENTS} "  # noqa: S608
        "WHERE event_type = 'voucher.issued' ORDER BY id",
        AUDIT: f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT} "  # noqa: S608
        "WHERE subject_type = 'orders.order' ORDER BY id",
    }
    columns = {
        ORDERS: ORDER_COLUMNS,
        TXNS: TXN_COLUMNS,
        LEGS: LEG_COLUMNS,
        EVENTS: EVENT_COLUMNS,
        AUDIT: AUDIT_COLUMNS,
    }
    data = {table: _read(sql) for table, sql in sources.items()}  # not timed
    _checkpoint(log)
    names = {
        ORDERS: "orders",
        TXNS: "transactions",
        LEGS: "legs",
        EVENTS: "events",
        AUDIT: "audit_events",
    }
    result: dict[str, float] = {}
    with stopwatch() as total, transaction.atomic(), connection.cursor() as cursor:
        for table, rows in data.items():
            with stopwatch() as watch:
                _write_rows(cursor, LIMIT_TABLES[table], columns[table], rows)
            result[names[table]] = watch.seconds
    result["commit"] = total.seconds - sum(result.values())
    log(f"limit: {result}")
    return result


def _read(sql: str) -> Any:
    """The rows of `sql`: COPY text on PostgreSQL, tuples on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for block in copy:
                    buffer.write(block)
            return buffer.getvalue()
        cursor.execute(sql)
        return [tuple(_sqlite_value(value) for value in row) for row in cursor.fetchall()]


def _write_rows(cursor: Any, table: str, columns: list[str], rows: Any) -> None:
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            copy.write(rows)
        return
    marks = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


REFERENCES = re.compile(r'\s+REFERENCES\s+"\w+"\s*\("\w+"\)(\s+DEFERRABLE INITIALLY DEFERRED)?')


def _create_limit_tables() -> None:
    with connection.cursor() as cursor:
        for table, limit in LIMIT_TABLES.items():
            if connection.vendor == "postgresql":
                cursor.execute(f"CREATE TABLE {limit} (LIKE {table} INCLUDING ALL)")
                continue
            cursor.execute(
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
                "AND type IN ('table', 'index') ORDER BY type DESC",
                [table],
            )
            for kind, sql in cursor.fetchall():
                sql = REFERENCES.sub("", sql).replace(f'"{table}"', f'"{limit}"')
                if kind == "index":
                    sql = re.sub(r'INDEX\s+"(\w+)"', lambda m: f'INDEX "bench_{m.group(1)}"', sql)
                cursor.execute(sql)
