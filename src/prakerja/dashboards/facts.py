"""The dashboards' daily facts, refreshed set-based: each table is recomputed for the WIB days a
change touched since the last refresh (DELETE those days, INSERT … SELECT … GROUP BY them back), so
a refresh costs what changed, never a row per record in Python, and running it twice changes
nothing.

How the touched days are found, per source:

* append-only sources (ledger transactions, verification steps, registrants' sign-ups, survey
  responses, participants' selection, disbursement runs) by an id watermark; the next refresh looks
  again from ID_MARGIN ids below it, so a transaction that took a lower id but committed after the
  last refresh read is still seen;
* mutable sources by their own timestamps (orders.updated_at, entitlements.updated_at,
  participants' first_purchase_at and revoked_at, instructions' result_at and reconciled_at,
  batches' sent_at): the latest one seen is the watermark, looked at again from TIME_MARGIN before
  it. Times are the rows' own (the simulation's travelled clock included), never the refresh's.
  Where a record's day can move (a registrant's layer passed again, a participant's first
  completion or first incentive), every day of that record's history is recomputed, so the day it
  left is corrected too;
* transfer instructions change status (sent, accepted) without a time of their own: the run dates
  of the last RECENT_RUN_DATES runs are always recomputed (a bounded recent window), besides the
  run dates whose batches, results or reconciliations moved.

`facts_refresh(full=True)` empties every table and recomputes all days: the reference an incremental
refresh must equal (tests/dashboards prove it after a simulated program).
"""

import datetime
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from prakerja.common import clock
from prakerja.common.bulk_sql import db_time
from prakerja.common.timeutil import WIB
from prakerja.dashboards.models import (
    DisbursementDay,
    FunnelDay,
    MoneyDay,
    RefreshState,
    SurveyDay,
    WaveDay,
)
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    SurveyResponse,
    TransferBatch,
    TransferInstruction,
)
from prakerja.ledger.models import Leg, Transaction
from prakerja.orders.models import Order
from prakerja.registration.models import LAYER_ORDER, Registrant, VerificationStep
from prakerja.waves.models import Participant, ProgramScheme, Wave

ID_MARGIN = 10_000
TIME_MARGIN = datetime.timedelta(hours=1)
RECENT_RUN_DATES = 7
SAFE_CODE = re.compile(r"[a-z0-9_]{1,40}")

REGISTRANTS = Registrant._meta.db_table
STEPS = VerificationStep._meta.db_table
PARTICIPANTS = Participant._meta.db_table
WAVES = Wave._meta.db_table
ORDERS = Order._meta.db_table
ENTITLEMENTS = Entitlement._meta.db_table
INSTRUCTIONS = TransferInstruction._meta.db_table
BATCHES = TransferBatch._meta.db_table
RUNS = DisbursementRun._meta.db_table
RESPONSES = SurveyResponse._meta.db_table
TRANSACTIONS = Transaction._meta.db_table
LEGS = Leg._meta.db_table

# The ledger key of an incentive transfer is "transfer:{instruction id}" (incentives/results.py).
TRANSFER_KEY_PREFIX = "transfer:"
TRANSFER_KIND = "incentive_transfer"

Days = set[datetime.date]
Marks = dict[str, Any]


@dataclass
class RefreshOutcome:
    full: bool
    days: dict[str, int] = field(default_factory=dict)  # fact -> days recomputed
    rows: dict[str, int] = field(default_factory=dict)  # fact -> rows it holds afterwards


# --- SQL pieces for both vendors -----------------------------------------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def day_sql(column: str) -> str:
    """The WIB date of a stored UTC time (WIB has no daylight saving: always UTC+7)."""
    if _postgres():
        return f"CAST(({column} AT TIME ZONE 'Asia/Jakarta') AS date)"
    return f"date({column}, '+7 hours')"


def _date_param(day: datetime.date) -> Any:
    return day if _postgres() else day.isoformat()


def _as_date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), WIB).astimezone(datetime.UTC)


def _ranges(days: Iterable[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Consecutive days joined: [(first, last), …]."""
    ranges: list[tuple[datetime.date, datetime.date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + datetime.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


Ranges = list[tuple[datetime.date, datetime.date]] | None  # None: every day


def _within_time(column: str, ranges: Ranges) -> tuple[str, list[Any]]:
    """A condition: the time falls on one of the WIB days (index-friendly bounds in UTC)."""
    if ranges is None:
        return f"{column} IS NOT NULL", []
    parts, params = [], []
    for first, last in ranges:
        parts.append(f"({column} >= %s AND {column} < %s)")
        params += [
            db_time(_day_start(first)),
            db_time(_day_start(last + datetime.timedelta(days=1))),
        ]
    return "(" + " OR ".join(parts) + ")", params


def _within_date(column: str, ranges: Ranges) -> tuple[str, list[Any]]:
    if ranges is None:
        return f"{column} IS NOT NULL", []
    parts, params = [], []
    for first, last in ranges:
        parts.append(f"({column} >= %s AND {column} <= %s)")
        params += [_date_param(first), _date_param(last)]
    return "(" + " OR ".join(parts) + ")", params


def _delete_days(cursor: Any, table: str, ranges: Ranges) -> None:
    if ranges is None:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        return
    condition, params = _within_date("day", ranges)
    cursor.execute(f"DELETE FROM {table} WHERE {condition}", params)  # noqa: S608


def _days(cursor: Any, sql: str, params: Sequence[Any]) -> Days:
    cursor.execute(sql, params)
    return {_as_date(row[0]) for row in cursor.fetchall() if row[0] is not None}


def _scalar(cursor: Any, sql: str) -> Any:
    cursor.execute(sql)
    return cursor.fetchone()[0]


def _time_mark(value: Any) -> str | None:
    """A time read back from the database, as a watermark (ISO text)."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return datetime.datetime.fromisoformat(str(value)).replace(tzinfo=datetime.UTC).isoformat()


def _since(mark: str | None) -> str | None:
    """The time to look again from: the watermark less the margin, as the database reads it."""
    if mark is None:
        return None
    return db_time(datetime.datetime.fromisoformat(mark) - TIME_MARGIN)


# --- one fact table each: what days a change touched, and how a day is computed ------------------


@dataclass(frozen=True)
class Fact:
    name: str
    table: str
    touched: Callable[[Any, Marks], Days]
    compute: Callable[[Any, Ranges], None]


# Funnel: registrants by the day they signed up / passed a layer, per province.


def _funnel_touched(cursor: Any, marks: Marks) -> Days:
    step_from = max(marks.get("step_id", 0) - ID_MARGIN, 0)
    registrant_from = max(marks.get("registrant_id", 0) - ID_MARGIN, 0)
    changed = f"SELECT registrant_id FROM {STEPS} WHERE id > %s"  # noqa: S608
    days = _days(
        cursor,
        f"SELECT DISTINCT {day_sql('created_at')} FROM {REGISTRANTS} WHERE id > %s",  # noqa: S608
        [registrant_from],
    )
    days |= _days(
        cursor,
        f"SELECT DISTINCT {day_sql('at')} FROM {STEPS} WHERE registrant_id IN ({changed})",  # noqa: S608
        [step_from],
    )
    for layer in LAYER_ORDER:
        column = f"{layer.value}_at"
        days |= _days(
            cursor,
            f"SELECT DISTINCT {day_sql(column)} FROM {REGISTRANTS} "  # noqa: S608
            f"WHERE id IN ({changed}) AND {column} IS NOT NULL",
            [step_from],
        )
    return days


def _funnel_compute(cursor: Any, ranges: Ranges) -> None:
    stages = [("registered", "created_at", "")] + [
        (layer.value, f"{layer.value}_at", f"AND {layer.value}_status = 'passed'")
        for layer in LAYER_ORDER
    ]
    table = FunnelDay._meta.db_table
    for stage, column, condition in stages:
        within, params = _within_time(column, ranges)
        cursor.execute(
            f"INSERT INTO {table} (day, province_code, stage, count) "  # noqa: S608
            f"SELECT {day_sql(column)}, province_code, %s, COUNT(*) FROM {REGISTRANTS} "
            f"WHERE {within} {condition} GROUP BY {day_sql(column)}, province_code",
            [stage, *params],
        )


# Waves: participants by the day of each milestone, per wave and province.

_PARTICIPANT_JOINS = (
    f"JOIN {WAVES} w ON w.id = p.wave_id JOIN {REGISTRANTS} r ON r.id = p.registrant_id"
)
_FIRST_COMPLETION = (
    f"SELECT participant_id, MIN(completed_at) AS at FROM {ORDERS} "  # noqa: S608
    "WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY participant_id"
)
_FIRST_INCENTIVE = (
    f"SELECT participant_id, MIN(paid_at) AS at FROM {ENTITLEMENTS} "  # noqa: S608
    "WHERE kind = 'incentive' AND status = 'paid' AND paid_at IS NOT NULL GROUP BY participant_id"
)


def _waves_touched(cursor: Any, marks: Marks) -> Days:
    participant_from = max(marks.get("participant_id", 0) - ID_MARGIN, 0)
    days = _days(
        cursor,
        f"SELECT DISTINCT {day_sql('selected_at')} FROM {PARTICIPANTS} WHERE id > %s",  # noqa: S608
        [participant_from],
    )
    for column in ("first_purchase_at", "revoked_at"):
        since = _since(marks.get(f"participant_{column}"))
        where = f"{column} >= %s" if since else f"{column} IS NOT NULL"
        days |= _days(
            cursor,
            f"SELECT DISTINCT {day_sql(column)} FROM {PARTICIPANTS} WHERE {where}",  # noqa: S608
            [since] if since else [],
        )
    # A participant whose orders or entitlements changed: every day of their completions and
    # payments, since their first one may have moved.
    for table, column, mark in (
        (ORDERS, "completed_at", "order_updated_at"),
        (ENTITLEMENTS, "paid_at", "entitlement_updated_at"),
    ):
        since = _since(marks.get(mark))
        where = " WHERE updated_at >= %s" if since else ""
        changed = f"SELECT participant_id FROM {table}{where}"  # noqa: S608
        days |= _days(
            cursor,
            f"SELECT DISTINCT {day_sql(column)} FROM {table} "  # noqa: S608
            f"WHERE participant_id IN ({changed}) AND {column} IS NOT NULL",
            [since] if since else [],
        )
    return days


def _waves_compute(cursor: Any, ranges: Ranges) -> None:
    table = WaveDay._meta.db_table
    insert = f"INSERT INTO {table} (day, wave_number, province_code, measure, count) "
    plain = [
        ("participants", "p.selected_at", ""),
        ("buyers", "p.first_purchase_at", ""),
        ("revoked", "p.revoked_at", "AND p.status = 'revoked'"),
    ]
    for measure, column, condition in plain:
        within, params = _within_time(column, ranges)
        cursor.execute(
            f"{insert} SELECT {day_sql(column)}, w.number, r.province_code, %s, COUNT(*) "  # noqa: S608
            f"FROM {PARTICIPANTS} p {_PARTICIPANT_JOINS} WHERE {within} {condition} "
            f"GROUP BY {day_sql(column)}, w.number, r.province_code",
            [measure, *params],
        )
    for measure, firsts in (
        ("completers", _FIRST_COMPLETION),
        ("incentive_recipients", _FIRST_INCENTIVE),
    ):
        within, params = _within_time("f.at", ranges)
        cursor.execute(
            f"{insert} SELECT {day_sql('f.at')}, w.number, r.province_code, %s, COUNT(*) "  # noqa: S608
            f"FROM ({firsts}) f JOIN {PARTICIPANTS} p ON p.id = f.participant_id "
            f"{_PARTICIPANT_JOINS} WHERE {within} "
            f"GROUP BY {day_sql('f.at')}, w.number, r.province_code",
            [measure, *params],
        )


# Money: ledger transactions per kind and day; incentive transfers split by entitlement kind.


def _money_touched(cursor: Any, marks: Marks) -> Days:
    return _days(
        cursor,
        f"SELECT DISTINCT {day_sql('created_at')} FROM {TRANSACTIONS} WHERE id > %s",  # noqa: S608
        [max(marks.get("transaction_id", 0) - ID_MARGIN, 0)],
    )


def _money_compute(cursor: Any, ranges: Ranges) -> None:
    table = MoneyDay._meta.db_table
    within, params = _within_time("t.created_at", ranges)
    measure = (
        f"CASE WHEN t.kind = '{TRANSFER_KIND}' "
        f"THEN t.kind || ':' || COALESCE(e.kind, 'unknown') ELSE t.kind END"
    )
    cursor.execute(
        f"INSERT INTO {table} (day, measure, count, amount_idr) "  # noqa: S608
        f"SELECT {day_sql('t.created_at')}, {measure}, COUNT(DISTINCT t.id), SUM(l.amount) "
        f"FROM {TRANSACTIONS} t JOIN {LEGS} l ON l.transaction_id = t.id AND l.amount > 0 "
        f"LEFT JOIN {INSTRUCTIONS} i ON t.kind = '{TRANSFER_KIND}' "
        f"AND i.instruction_id = SUBSTR(t.idempotency_key, {len(TRANSFER_KEY_PREFIX) + 1}) "
        f"LEFT JOIN {ENTITLEMENTS} e ON e.id = i.entitlement_id "
        f"WHERE {within} GROUP BY {day_sql('t.created_at')}, {measure}",
        params,
    )


# Disbursement: instructions per run date, institution, status and reason.


def _disbursement_touched(cursor: Any, marks: Marks) -> Days:
    run_from = max(marks.get("run_id", 0) - ID_MARGIN, 0)
    days = _days(cursor, f"SELECT run_date FROM {RUNS} WHERE id > %s", [run_from])  # noqa: S608
    cursor.execute(
        f"SELECT DISTINCT run_date FROM {RUNS} ORDER BY run_date DESC LIMIT %s",  # noqa: S608
        [RECENT_RUN_DATES],
    )
    days |= {_as_date(row[0]) for row in cursor.fetchall()}
    for column in ("approved_at", "finished_at"):
        since = _since(marks.get(f"run_{column}"))
        if since:
            days |= _days(
                cursor,
                f"SELECT run_date FROM {RUNS} WHERE {column} >= %s",  # noqa: S608
                [since],
            )
    since = _since(marks.get("batch_sent_at"))
    if since:
        days |= _days(
            cursor,
            f"SELECT DISTINCT r.run_date FROM {BATCHES} b JOIN {RUNS} r ON r.id = b.run_id "  # noqa: S608
            "WHERE b.sent_at >= %s",
            [since],
        )
    for column in ("result_at", "reconciled_at"):
        since = _since(marks.get(f"instruction_{column}"))
        if since:
            days |= _days(
                cursor,
                f"SELECT DISTINCT r.run_date FROM {INSTRUCTIONS} i "  # noqa: S608
                f"JOIN {BATCHES} b ON b.id = i.batch_id JOIN {RUNS} r ON r.id = b.run_id "
                f"WHERE i.{column} >= %s",
                [since],
            )
    return days


def _disbursement_compute(cursor: Any, ranges: Ranges) -> None:
    table = DisbursementDay._meta.db_table
    within, params = _within_date("r.run_date", ranges)
    cursor.execute(
        f"INSERT INTO {table} (day, institution_id, status, reason_code, count, amount_idr) "  # noqa: S608
        "SELECT r.run_date, i.institution_id, i.status, i.reason_code, COUNT(*), "
        f"SUM(i.amount_idr) FROM {INSTRUCTIONS} i JOIN {BATCHES} b ON b.id = i.batch_id "
        f"JOIN {RUNS} r ON r.id = b.run_id WHERE {within} "
        "GROUP BY r.run_date, i.institution_id, i.status, i.reason_code",
        params,
    )


# Surveys: answers per day, survey number, question and answer.


def survey_question_codes() -> list[str]:
    """Every question code of every scheme (a few, read from the schemes' data)."""
    codes: list[str] = []
    for questions in ProgramScheme.objects.order_by("pk").values_list(
        "survey_questions", flat=True
    ):
        for question in questions or []:
            code = str(question.get("code", ""))
            if SAFE_CODE.fullmatch(code) and code not in codes:
                codes.append(code)
    return codes


def answer_sql(code: str) -> str:
    """The answer to a question as SQL. The code is written into the statement (PostgreSQL must
    see the same expression in SELECT and GROUP BY), so only plain codes are accepted."""
    if not SAFE_CODE.fullmatch(code):
        raise ValueError(f"survey question code {code!r} is not a plain code")
    if _postgres():
        return f"(answers ->> '{code}')"
    return f"json_extract(answers, '$.\"{code}\"')"


def _surveys_touched(cursor: Any, marks: Marks) -> Days:
    return _days(
        cursor,
        f"SELECT DISTINCT {day_sql('submitted_at')} FROM {RESPONSES} WHERE id > %s",  # noqa: S608
        [max(marks.get("response_id", 0) - ID_MARGIN, 0)],
    )


def _surveys_compute(cursor: Any, ranges: Ranges) -> None:
    table = SurveyDay._meta.db_table
    within, params = _within_time("submitted_at", ranges)
    for code in survey_question_codes():
        answer = answer_sql(code)
        cursor.execute(
            f"INSERT INTO {table} (day, sequence, question, answer, count) "  # noqa: S608
            f"SELECT {day_sql('submitted_at')}, sequence, %s, CAST({answer} AS varchar(40)), "
            f"COUNT(*) FROM {RESPONSES} WHERE {within} AND {answer} IS NOT NULL "
            f"GROUP BY {day_sql('submitted_at')}, sequence, {answer}",
            [code, *params],
        )


FACTS = (
    Fact("funnel", FunnelDay._meta.db_table, _funnel_touched, _funnel_compute),
    Fact("waves", WaveDay._meta.db_table, _waves_touched, _waves_compute),
    Fact("money", MoneyDay._meta.db_table, _money_touched, _money_compute),
    Fact(
        "disbursement",
        DisbursementDay._meta.db_table,
        _disbursement_touched,
        _disbursement_compute,
    ),
    Fact("surveys", SurveyDay._meta.db_table, _surveys_touched, _surveys_compute),
)


# --- watermarks and the refresh ------------------------------------------------------------------


def _marks_now(cursor: Any) -> Marks:
    """The sources' watermarks as they stand, read before any day is recomputed: what changes
    after this read is looked at again next time."""
    ids = {
        "step_id": STEPS,
        "registrant_id": REGISTRANTS,
        "participant_id": PARTICIPANTS,
        "transaction_id": TRANSACTIONS,
        "run_id": RUNS,
        "response_id": RESPONSES,
    }
    marks: Marks = {
        name: int(_scalar(cursor, f"SELECT COALESCE(MAX(id), 0) FROM {table}"))  # noqa: S608
        for name, table in ids.items()
    }
    times = {
        "participant_first_purchase_at": (PARTICIPANTS, "first_purchase_at"),
        "participant_revoked_at": (PARTICIPANTS, "revoked_at"),
        "order_updated_at": (ORDERS, "updated_at"),
        "entitlement_updated_at": (ENTITLEMENTS, "updated_at"),
        "run_approved_at": (RUNS, "approved_at"),
        "run_finished_at": (RUNS, "finished_at"),
        "batch_sent_at": (BATCHES, "sent_at"),
        "instruction_result_at": (INSTRUCTIONS, "result_at"),
        "instruction_reconciled_at": (INSTRUCTIONS, "reconciled_at"),
    }
    for name, (table, column) in times.items():
        marks[name] = _time_mark(_scalar(cursor, f"SELECT MAX({column}) FROM {table}"))  # noqa: S608
    return marks


def facts_refresh(*, full: bool = False) -> RefreshOutcome:
    """Bring every fact table up to date in one transaction: the touched days (or, with `full`
    or on the first run, all days) deleted and computed again. Idempotent."""
    outcome = RefreshOutcome(full=full)
    with transaction.atomic():
        state = RefreshState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            state, _ = RefreshState.objects.get_or_create(pk=1)
            state = RefreshState.objects.select_for_update().get(pk=1)
        first = state.refreshed_at is None
        with connection.cursor() as cursor:
            marks = _marks_now(cursor)
            for fact in FACTS:
                ranges: Ranges = None
                if not (full or first):
                    ranges = _ranges(fact.touched(cursor, state.marks))
                    outcome.days[fact.name] = sum((b - a).days + 1 for a, b in ranges)
                    if not ranges:
                        continue
                _delete_days(cursor, fact.table, ranges)
                fact.compute(cursor, ranges)
            for fact in FACTS:
                outcome.rows[fact.name] = int(_scalar(cursor, f"SELECT COUNT(*) FROM {fact.table}"))  # noqa: S608
        if full or first:
            outcome.full = True
            outcome.days = {fact.name: -1 for fact in FACTS}
        state.marks = marks
        state.refreshed_at = clock.now()
        state.save(update_fields=["marks", "refreshed_at"])
    return outcome


def facts_refreshed_at() -> datetime.datetime | None:
    return RefreshState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
