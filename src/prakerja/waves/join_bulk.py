"""Registrants joining the open wave, set-based per chunk: the one statement of `wave_join`'s rules.

`wave_applications_join` answers each registrant in order with the new application's id or the
error `wave_join` raises for them after the earlier items (ALREADY_PARTICIPANT, NOT_VERIFIED,
ALREADY_APPLIED; NOT_FOUND for an id no registrant has); `wave_join` is its one-item call.
`wave_join_bulk` is for batch work — a job centre's list of people who asked to join, the
simulation — where someone who may not join is skipped, not refused: the count of those who joined
is the answer.

Per chunk: one SELECT of what the rules read, the rules in Python (`_refusal`), one INSERT of the
accepted, one INSERT of their audit events.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, id_list, json_rows
from prakerja.common.errors import ApplicationError, NotFound
from prakerja.common.refusals import Refused
from prakerja.registration.models import Registrant
from prakerja.waves.models import (
    ApplicationOutcome,
    LifetimeBlock,
    Participant,
    Wave,
    WaveApplication,
    WaveStatus,
)
from prakerja.waves.priorities import priority_case_sql
from prakerja.waves.services import (
    FACE_LAYERS,
    AlreadyApplied,
    AlreadyParticipant,
    NotVerified,
    WaveNotOpen,
    layers_missing,
)

CHUNK = 1000
APPS = WaveApplication._meta.db_table
REG = Registrant._meta.db_table
PART = Participant._meta.db_table
BLOCK = LifetimeBlock._meta.db_table
SUBJECT = WaveApplication._meta.label_lower
LAYERS = FACE_LAYERS  # every layer's status is read; the wave says which count


def wave_join_bulk(*, wave: Wave, registrant_ids: Sequence[int], actor: Actor) -> int:
    """Apply each registrant who may to the open `wave` (each id once, in id order); returns how
    many applied now. Refuses WAVE_NOT_OPEN (nothing written) like `wave_join`."""
    answers = wave_applications_join(
        wave=wave, registrant_ids=sorted(set(registrant_ids)), actor=actor
    )
    return sum(1 for answer in answers if not isinstance(answer, Refused))


def wave_applications_join(
    *, wave: Wave, registrant_ids: Sequence[int], actor: Actor
) -> list[int | Refused]:
    """`wave_join` for many registrants, in order: per item the application's id or Refused with
    the error `wave_join` raises for it after the earlier items. A chunk of CHUNK is one
    transaction (a savepoint inside the caller's). Raises WAVE_NOT_OPEN before writing anything."""
    wave = Wave.objects.get(pk=wave.pk)
    if wave.status != WaveStatus.OPEN:
        raise WaveNotOpen(details={"wave": wave.number, "status": wave.status})
    return wave_applications_record(wave=wave, registrant_ids=registrant_ids, actor=actor)


def wave_applications_record(
    *, wave: Wave, registrant_ids: Sequence[int], actor: Actor
) -> list[int | Refused]:
    """`wave_applications_join` without asking whether the wave is open: for a wave its caller
    holds closed on purpose (the sandbox's wave of its own, drawn at once), with the same rules,
    rows and audit events."""
    answers: list[int | Refused] = []
    for start in range(0, len(registrant_ids), CHUNK):
        with transaction.atomic():
            answers += _chunk(wave, list(registrant_ids[start : start + CHUNK]), start, actor)
    return answers


def _chunk(wave: Wave, ids: list[int], offset: int, actor: Actor) -> list[int | Refused]:
    facts = _facts(wave, ids)
    answers: list[int | Refused | None] = [None] * len(ids)
    accepted: dict[int, int] = {}  # registrant id -> item index
    rows = []
    for index, registrant_id in enumerate(ids):
        fact = facts.get(registrant_id)
        refusal = _refusal(wave, registrant_id, fact, registrant_id in accepted)
        if refusal is not None:
            answers[index] = Refused(offset + index, refusal)
            continue
        assert fact is not None
        accepted[registrant_id] = index
        rows.append([registrant_id, fact["province_code"], fact["priority"]])
    if rows:
        now = clock.now()
        inserted = _applications_insert(wave, rows, now)
        events = []
        details = {"wave": wave.number}  # one object: the events only read it
        for registrant_id, index in accepted.items():
            pk = inserted.get(registrant_id)
            if pk is None:  # applied meanwhile, by a concurrent call: the unique constraint held
                answers[index] = Refused(
                    offset + index, AlreadyApplied(details={"wave": wave.number})
                )
                continue
            answers[index] = pk
            events.append(AuditNew(actor, "wave.applied", SUBJECT, str(pk), details))
        audit_record_many(occurred_at=now, events=events)
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def _refusal(
    wave: Wave, registrant_id: int, fact: dict[str, Any] | None, earlier: bool
) -> ApplicationError | None:
    """The rules of joining a wave, in wave_join's order of checks: the error for this registrant
    (`earlier`: accepted before in the same call), or None."""
    if fact is None:
        return NotFound(details={"registrant_id": registrant_id})
    if fact["participant"]:
        return AlreadyParticipant(details={"wave": wave.number})
    missing = layers_missing(wave.verification, fact)
    if missing:
        return NotVerified(details={"layers": missing})
    if fact["applied"] or earlier:
        return AlreadyApplied(details={"wave": wave.number})
    return None


def _facts(wave: Wave, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the rules read about each registrant of the chunk, in one statement: the layers'
    statuses, a participant already (or blocked for life), already applied to `wave`, and the
    province and priority group the application would take."""
    case_sql, case_params = priority_case_sql(wave)
    among, among_param = id_list(ids)
    statuses = ", ".join(f"r.{layer}_status" for layer in LAYERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id, {statuses}, r.province_code, {case_sql}, "  # noqa: S608
            f"EXISTS (SELECT 1 FROM {PART} p WHERE p.registrant_id = r.id) "
            f"OR EXISTS (SELECT 1 FROM {BLOCK} b WHERE b.nik_index = r.nik_index), "
            f"EXISTS (SELECT 1 FROM {APPS} a WHERE a.wave_id = %s AND a.registrant_id = r.id) "
            f"FROM {REG} r WHERE r.id IN ({among})",
            [*case_params, wave.pk, *among_param],
        )
        found = cursor.fetchall()
    facts: dict[int, dict[str, Any]] = {}
    for pk, *values in found:
        fact = dict(zip(LAYERS, values, strict=False))  # the layers' statuses, then the rest
        fact["province_code"], fact["priority"], participant, applied = values[len(LAYERS) :]
        fact["participant"], fact["applied"] = bool(participant), bool(applied)
        facts[pk] = fact
    return facts


def _applications_insert(wave: Wave, rows: list[list[Any]], now: Any) -> dict[int, int]:
    """The accepted applications in one INSERT, in the items' order: registrant id -> application
    id. One that a concurrent call inserted first is skipped by the unique constraint."""
    table, param = json_rows(
        (("registrant_id", "bigint"), ("province_code", "text"), ("priority", "text")), rows
    )
    with connection.cursor() as cursor:
        # `WHERE true`: SQLite reads an ON CONFLICT after INSERT … SELECT … FROM as a join's ON
        # unless the SELECT has a WHERE clause.
        cursor.execute(
            f"INSERT INTO {APPS} (wave_id, registrant_id, applied_at, carried_from_id, "  # noqa: S608
            "outcome, outcome_reason, province_code, priority) "
            f"SELECT %s, r.registrant_id, %s, NULL, %s, '', r.province_code, r.priority "
            f"FROM {table} AS r WHERE true ON CONFLICT DO NOTHING RETURNING id, registrant_id",
            [wave.pk, db_time(now), ApplicationOutcome.PENDING, *param],
        )
        return {registrant_id: pk for pk, registrant_id in cursor.fetchall()}
