"""Drawing a closed wave of n applications with `wave_select` — one scan ranking every application
by HMAC inside the database, the re-check of the candidates, the published rule applied in Python,
participants recorded — until every participant drawn is credited and has their messages queued,
against the limit of a plain ranking query (`ORDER BY` the same HMAC expression, `LIMIT` quota) plus
a raw insert of the same ledger transactions and legs into copies of the ledger tables.

Setup, not timed: the wave is created and opened through the services with the seed's commitment;
n verified registrants and one application each are loaded (COPY on PostgreSQL, executemany on
SQLite), in families of one to five people (three on average), spread over the provinces by
population, about one in ten laid off (the wave's priority group) and about one in a hundred on an
exclusion list since joining, so the re-check turns some candidates away; then the wave is closed.

So that loading 10 M rows takes minutes, not an hour, the registrant indexes selection never reads
(email, phone, creation time, verification status) are dropped before loading and left dropped: the
primary key and the blind indexes of the NIK and the family card, which the re-check and the family
count use, are rebuilt. The applications' indexes and foreign keys are dropped and all restored after
loading (each key checked in one pass). On PostgreSQL the tables are then vacuumed and analysed, as a
week of applications would have left them.
"""

import datetime
import logging
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from django.db import DatabaseError, connection, transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.ledger.models import Account, AccountKind, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.notifications.models import Notification
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.timing import stopwatch
from prakerja.registration import regions
from prakerja.registration.models import ExclusionEntry, Registrant
from prakerja.waves.lottery import commitment, rank60_sql
from prakerja.waves.models import Participant, Wave, WaveApplication
from prakerja.waves.selection import wave_select
from prakerja.waves.selectors import scheme_active
from prakerja.waves.services import wave_close, wave_create, wave_open

SEED = "bench-selection-seed-2020"
DATA_SEED = 2020  # the synthetic population is the same in every run
LAID_OFF_SHARE = 0.10
EXCLUDED_EVERY = 97  # about 1 % of registrants are on an exclusion list
SMALL_PROVINCES = 3  # the least populous provinces get a provincial quota
CHUNK = 50_000  # not a scheme value: rows per write during setup
MESSAGE_KIND = "wave_selected"

REG = Registrant._meta.db_table
APPS = WaveApplication._meta.db_table
EXCL = ExclusionEntry._meta.db_table
SELECTION_READS = re.compile(r'\(\s*"?(nik_index|kk_index)"?\s*\)')

Row = tuple[Any, ...]


def run(n: int, log: Callable[[str], None], quota: int | None = None) -> BenchResult:
    """`quota` defaults to the active scheme's weekly wave quota (200.000 in 2020)."""
    quota = quota or scheme_active().wave_quota
    if not SMALL_PROVINCES <= quota <= n:
        raise ValueError(f"quota must be between {SMALL_PROVINCES} and n={n}, not {quota}")
    actor = Actor.system("bench.selection")
    with stopwatch() as setup:
        wave = _wave_opened(quota, actor)
        log(f"setup: {n} verified registrants applying to wave {wave.number} (quota {quota})")
        _load(n, wave.pk, log)
        wave = wave_close(wave=wave, actor=actor)
        _checkpoint(log)
    log(f"setup: {setup.seconds:.1f} s")

    log("system: wave_select, from the closed wave to every participant credited and notified")
    with _draw_timings() as timings, stopwatch() as system:
        result = wave_select(wave=wave, seed=SEED, actor=actor)
    phases = _phases(timings, system.seconds)
    log(f"system: {system.seconds:.1f} s; phases {phases}")
    messages = _check(wave, selected=result.selected, quota=quota)

    ranking, ledger = _limit(wave, quota, log)
    return BenchResult(
        seconds=system.seconds,
        limit_seconds=ranking + ledger,
        extra={
            "database": connection.vendor,
            "quota": quota,
            "selected": result.selected,
            "ineligible": result.ineligible,
            "messages": messages,
            "setup_seconds": round(setup.seconds, 1),
            "phases": phases,
            "limit_phases": {"ranking": round(ranking, 3), "ledger_insert": round(ledger, 3)},
        },
    )


# --- setup ----------------------------------------------------------------------------------------


def _wave_opened(quota: int, actor: Actor) -> Wave:
    now = clock.now()
    population = _province_population()
    small = sorted(population, key=lambda code: population[code])
    wave = wave_create(
        quota=quota,
        opens_at=now,
        closes_at=now + datetime.timedelta(days=7),
        actor=actor,
        priority_order=["laid_off"],
        # 2.000 each at the national weekly quota
        province_quotas={code: max(1, quota // 100) for code in small[:SMALL_PROVINCES]},
    )
    return wave_open(wave=wave, seed_commitment=commitment(SEED), actor=actor)


def _province_population() -> dict[str, int]:
    totals: dict[str, int] = {}
    for regency, people in regions.regency_population().items():
        totals[regency[:2]] = totals.get(regency[:2], 0) + people
    return totals


def _people(n: int, first_id: int) -> Iterator[tuple[int, str, int, bool]]:
    """(registrant id, regency, family number, laid off) for n people, the same on every call:
    families of one to five share a family card and a regency."""
    rng = random.Random(DATA_SEED)
    population = regions.regency_population()
    regencies = sorted(population)
    weights = [population[code] for code in regencies]
    family = 0
    registrant_id = first_id
    last_id = first_id + n - 1
    while registrant_id <= last_id:
        family += 1
        regency = rng.choices(regencies, weights)[0]
        for _ in range(rng.randint(1, 5)):
            if registrant_id > last_id:
                break
            yield registrant_id, regency, family, rng.random() < LAID_OFF_SHARE
            registrant_id += 1


def _registrant_rows(n: int, first_id: int) -> Iterator[Row]:
    others = ("unemployed", "employee", "business_owner")
    for rid, regency, family, laid_off in _people(n, first_id):
        yield (
            rid,
            f"b{rid}@bench.id",
            f"nik-{rid}",
            f"{rid % 10_000:04d}",
            f"kk-{family}",
            f"+62812{rid:08d}",
            regency,
            regency[:2],
            "laid_off" if laid_off else others[rid % 3],
        )


REGISTRANT_COLUMNS = (
    "id, email, nik_index, nik_last4, kk_index, phone, regency_code, province_code, employment"
)


def _registrant_constants(now: datetime.datetime) -> dict[str, Any]:
    layers: dict[str, Any] = {}
    for layer in ("email", "nik", "phone", "eligibility", "face"):
        layers |= {f"{layer}_status": "passed", f"{layer}_reason": "", f"{layer}_at": now}
    return {
        "password": "!",
        "full_name": "Peserta Bench",
        "birth_date": datetime.date(1990, 1, 1),
        "sex": "M",
        "nik_encrypted": "-",  # never decrypted by selection
        "education": "sma",
        "in_school": False,
        "language": "id",
        "is_active": True,
        "created_at": now,
        **layers,
        "registry_attempts": 0,
        "registry_retry_at": None,
        "pending_selfie": None,
    }


APPLICATION_COLUMNS = "id, registrant_id, province_code, priority"
EXCLUSION_CONSTANTS = {
    "category": "bansos",
    "source": "bench",
    "listed_on": None,
    "list_import_id": None,
}


def _application_constants(wave_id: int, now: datetime.datetime) -> dict[str, Any]:
    return {
        "wave_id": wave_id,
        "applied_at": now,
        "carried_from_id": None,
        "outcome": "pending",
        "outcome_reason": "",
    }


def _application_rows(n: int, first_registrant: int, first_id: int) -> Iterator[Row]:
    offset = first_id - first_registrant
    for rid, regency, _family, laid_off in _people(n, first_registrant):
        yield rid + offset, rid, regency[:2], "laid_off" if laid_off else ""


def _excluded_rows(n: int, first_registrant: int) -> Iterator[Row]:
    for rid in range(first_registrant, first_registrant + n):
        if rid % EXCLUDED_EVERY == 0:
            yield (f"nik-{rid}",)


def _load(n: int, wave_id: int, log: Callable[[str], None]) -> None:
    first_registrant, first_application = _next_id(REG), _next_id(APPS)
    now = clock.now()
    with _maintenance_memory():
        with _timed(log, "registrants"), _unindexed(REG, rebuild=SELECTION_READS.search):
            rows = _registrant_rows(n, first_registrant)
            _write(REG, REGISTRANT_COLUMNS, _registrant_constants(now), rows)
        with _timed(log, "applications"), _unindexed(APPS, rebuild=lambda _definition: True):
            rows = _application_rows(n, first_registrant, first_application)
            _write(APPS, APPLICATION_COLUMNS, _application_constants(wave_id, now), rows)
        with _timed(log, "exclusion list"):
            _write(EXCL, "nik_index", EXCLUSION_CONSTANTS, _excluded_rows(n, first_registrant))
    if connection.vendor == "postgresql":
        with _timed(log, "identity sequences, VACUUM ANALYZE"):
            _after_load_postgres()


@contextmanager
def _timed(log: Callable[[str], None], step: str) -> Iterator[None]:
    with stopwatch() as watch:
        yield
    log(f"setup: {step} in {watch.seconds:.1f} s")


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - constant
        return int(cursor.fetchone()[0])


@contextmanager
def _maintenance_memory() -> Iterator[None]:
    """Index builds after a load sort in memory instead of on disk."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '2GB'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")


@contextmanager
def _unindexed(table: str, *, rebuild: Callable[[str], object]) -> Iterator[None]:
    """Load into `table` without maintaining its secondary indexes and checking its foreign keys
    row by row; afterwards build the indexes and constraints whose definition `rebuild` accepts,
    each in one pass."""
    droppable = _foreign_keys(table) + _secondary_indexes(table)
    with connection.cursor() as cursor:
        for drop, _create in droppable:
            cursor.execute(drop)
    yield
    with connection.cursor() as cursor:
        for _drop, create in reversed(droppable):  # indexes first, then the keys they serve
            if rebuild(create):
                cursor.execute(create)


def _foreign_keys(table: str) -> list[tuple[str, str]]:
    """(drop, create) of the foreign keys of `table`; none on SQLite, which cannot drop them."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        return [
            (
                f'ALTER TABLE {table} DROP CONSTRAINT "{name}"',
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}',
            )
            for name, definition in cursor.fetchall()
        ]


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(drop, create) of each index of `table` but its primary key; on SQLite only those not
    declared inline in the table (which cannot be dropped)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
            return [(f'DROP INDEX "{name}"', sql) for name, sql in cursor.fetchall()]
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname, "
            "pg_get_constraintdef(c.oid) FROM pg_index i LEFT JOIN pg_constraint c "
            "ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
            [table],
        )
        statements = []
        for name, index_sql, constraint, constraint_sql in cursor.fetchall():
            if constraint:
                statements.append(
                    (
                        f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"',
                        f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_sql}',
                    )
                )
            else:
                statements.append((f"DROP INDEX {name}", index_sql))
        return statements


def _write(table: str, columns: str, constants: dict[str, Any], rows: Iterator[Row]) -> None:
    """Insert `rows` (values of `columns`) with the same `constants` on every row, streaming."""
    names = ", ".join([columns, *constants])
    if connection.vendor == "postgresql":
        _copy(f"COPY {table} ({names}) FROM STDIN", constants, rows)
        return
    fixed = tuple(_sqlite_value(value) for value in constants.values())
    width = len(names.split(","))
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * width)})"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        while chunk := list(islice(rows, CHUNK)):
            cursor.executemany(sql, [row + fixed for row in chunk])


def _copy(sql: str, constants: dict[str, Any], rows: Iterator[Row]) -> None:
    # COPY's text format, written by hand: the generated values hold no tab, newline or backslash,
    # and formatting a line is several times faster than adapting each value.
    tail = "\t".join(_copy_text(value) for value in constants.values())
    end = f"\t{tail}\n" if tail else "\n"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        while chunk := list(islice(rows, CHUNK)):
            copy.write("".join("\t".join(map(str, row)) + end for row in chunk))


def _copy_text(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _after_load_postgres() -> None:
    with connection.cursor() as cursor:
        for table in (REG, APPS, EXCL):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), MAX(id)) FROM {table}",  # noqa: S608
                [table],
            )
            # Hint bits and statistics as a week-old table has them, so the timed run does not pay
            # for the first read after a bulk load.
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def _checkpoint(log: Callable[[str], None]) -> None:
    """Write out the pages dirtied so far, so that the next timed part does not compete with the
    background writing of the previous part's (or the load's) gigabytes."""
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as refused:  # needs superuser or pg_checkpoint
        log(f"no CHECKPOINT ({refused}); timings may include writing out earlier work")


# --- system ---------------------------------------------------------------------------------------


class _TimingsHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.timings: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.timings.update(getattr(record, "timings", {}))


@contextmanager
def _draw_timings() -> Iterator[dict[str, float]]:
    """The draw's seconds per phase, as `wave_select` logs them."""
    logger = logging.getLogger("prakerja.waves.selection")
    handler = _TimingsHandler()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.timings
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _phases(timings: dict[str, float], total: float) -> dict[str, float]:
    """The draw's phases, and the crediting and queueing as the rest of the system's time."""
    phases = {f"draw_{phase}": round(seconds, 3) for phase, seconds in timings.items()}
    phases["credit_and_queue"] = round(total - sum(timings.values()), 3)
    return phases


def _check(wave: Wave, *, selected: int, quota: int) -> int:
    """Refuse a run that did not do the whole job; returns the messages queued."""
    amount = wave.scheme.training_balance_idr
    participants = Participant.objects.filter(wave=wave)
    credited = Balance.objects.filter(
        account__kind=AccountKind.TRAINING_BALANCE,
        account__owner_id__in=participants.values("pk"),
        amount=amount,
    ).count()
    messages = Notification.objects.filter(kind=MESSAGE_KIND).count()
    report = ledger_integrity_report()
    problems = [
        f"{what}: {got} instead of {wanted}"
        for what, got, wanted in (
            ("selected", selected, quota),
            ("participants", participants.count(), quota),
            (f"training balances of {amount}", credited, quota),
            ("messages queued", messages, 2 * quota),
        )
        if got != wanted
    ] + [str(problem) for problem in report.problems[:5]]
    if problems:
        raise RuntimeError("bench selection did not finish the job: " + "; ".join(problems))
    return messages


# --- limit ----------------------------------------------------------------------------------------


def _limit(wave: Wave, quota: int, log: Callable[[str], None]) -> tuple[float, float]:
    """Seconds of the plain ranking query and of the raw insert of the same ledger rows."""
    log("limit: ORDER BY the HMAC rank LIMIT quota, then a raw insert of the same ledger rows")
    _checkpoint(log)
    ranked, ranking = _limit_ranking(wave.pk, quota)
    ledger = _limit_ledger(ranked, amount=wave.scheme.training_balance_idr, scheme=wave.scheme.code)
    log(f"limit: ranking {ranking:.1f} s, ledger insert {ledger:.1f} s")
    return ranking, ledger


def _limit_ranking(wave_id: int, quota: int) -> tuple[list[int], float]:
    rank_sql, rank_params = rank60_sql(connection.vendor, SEED, "id")
    sql = f"SELECT id FROM {APPS} WHERE wave_id = %s ORDER BY {rank_sql} LIMIT %s"  # noqa: S608
    with stopwatch() as watch, transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Room for the top-N sort of `quota` rows in memory, as a tuned plain query would have.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(sql, [wave_id, *rank_params, quota])
        ranked = [row[0] for row in cursor.fetchall()]
    return ranked, watch.seconds


def _limit_ledger(ranked: list[int], *, amount: int, scheme: str) -> float:
    """Seconds to insert one transaction and two legs per ranked application into copies of the
    ledger tables, against the budget and the training accounts the system created."""
    budget = Account.objects.get(kind=AccountKind.PROGRAM_BUDGET, owner_id=None).pk
    accounts = list(
        Account.objects.filter(kind=AccountKind.TRAINING_BALANCE)
        .order_by("pk")
        .values_list("pk", flat=True)[: len(ranked)]
    )
    _create_limit_tables()
    now = clock.now()
    with stopwatch() as watch, transaction.atomic(), connection.cursor() as cursor:
        transactions = (
            (i, f"training-credit:{scheme}:{application}", "training_credit", "", "bench", now)
            for i, application in enumerate(ranked, start=1)
        )
        legs = (
            leg
            for i, account in enumerate(accounts, start=1)
            for leg in ((i, budget, -amount), (i, account, amount))
        )
        _insert_rows(
            cursor,
            "bench_txn_limit",
            "id, idempotency_key, kind, memo, actor, created_at",
            transactions,
        )
        _insert_rows(cursor, "bench_leg_limit", "transaction_id, account_id, amount", legs)
    return watch.seconds


def _insert_rows(cursor: Any, table: str, columns: str, rows: Iterator[Row]) -> None:
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns.split(",")))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
    while chunk := [tuple(_sqlite_value(v) for v in row) for row in islice(rows, CHUNK)]:
        cursor.executemany(sql, chunk)


def _create_limit_tables() -> None:
    """Tables of the ledger's shape (columns, indexes, checks) without foreign keys or triggers."""
    T, L = Transaction._meta.db_table, Leg._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE bench_txn_limit (LIKE {T} INCLUDING ALL)")
            cursor.execute(f"CREATE TABLE bench_leg_limit (LIKE {L} INCLUDING ALL)")
            return
        cursor.execute(
            "CREATE TABLE bench_txn_limit (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "idempotency_key varchar(200) NOT NULL UNIQUE, kind varchar(40) NOT NULL, "
            "memo varchar(200) NOT NULL, actor varchar(150) NOT NULL, created_at datetime NOT NULL, "
            "reverses_id bigint NULL UNIQUE)"
        )
        cursor.execute("CREATE INDEX bench_txn_limit_kind ON bench_txn_limit (kind)")
        cursor.execute("CREATE INDEX bench_txn_limit_created ON bench_txn_limit (created_at)")
        cursor.execute(
            "CREATE TABLE bench_leg_limit (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "transaction_id bigint NOT NULL, account_id bigint NOT NULL, "
            "amount bigint NOT NULL CHECK (amount <> 0))"
        )
        cursor.execute("CREATE INDEX bench_leg_limit_t ON bench_leg_limit (transaction_id)")
        cursor.execute("CREATE INDEX bench_leg_limit_a ON bench_leg_limit (account_id)")
