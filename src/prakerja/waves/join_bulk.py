"""Many registrants joining the open wave at once: `wave_join`'s rules, set-based per chunk.

For batch work — a job centre's list of people who asked to join, the simulation — where one call
per person would cost a few statements each. Someone who may not join (not verified for this wave,
already a participant, blocked for life, already applied) is skipped, not refused: the count of
those who joined is the answer, and `wave_join` stays the way a person joins with a reason shown.
"""

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from prakerja.audit.services import AUDIT_TABLE
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.registration.models import LayerStatus, Registrant
from prakerja.waves.models import (
    ApplicationOutcome,
    LifetimeBlock,
    Participant,
    Verification,
    Wave,
    WaveApplication,
    WaveStatus,
)
from prakerja.waves.priorities import priority_case_sql
from prakerja.waves.services import WaveNotOpen

CHUNK = 1000
APPS = WaveApplication._meta.db_table
REG = Registrant._meta.db_table
PART = Participant._meta.db_table
BLOCK = LifetimeBlock._meta.db_table


def wave_join_bulk(*, wave: Wave, registrant_ids: Sequence[int], actor: Actor) -> int:
    """Apply each registrant who may to the open `wave`; returns how many applied now. Refuses
    WAVE_NOT_OPEN (nothing written) like `wave_join`."""
    wave = Wave.objects.get(pk=wave.pk)
    if wave.status != WaveStatus.OPEN:
        raise WaveNotOpen(details={"wave": wave.number, "status": wave.status})
    layers = ["email", "nik", "phone", "eligibility"]
    if wave.verification == Verification.FACE:
        layers.append("face")
    passed = " AND ".join(f"r.{layer}_status = %s" for layer in layers)
    case_sql, case_params = priority_case_sql(wave)
    ids = sorted(set(registrant_ids))
    joined = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows, rows_param = json_rows((("id", "bigint"),), [[pk] for pk in chunk])
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            # RETURNING is on both databases; the audit rows follow from what was inserted.
            cursor.execute(
                f"INSERT INTO {APPS} (wave_id, registrant_id, applied_at, carried_from_id, "  # noqa: S608
                "outcome, outcome_reason, province_code, priority) "
                f"SELECT %s, r.id, %s, NULL, %s, '', r.province_code, {case_sql} "
                f"FROM {rows} AS x JOIN {REG} r ON r.id = x.id "
                f"WHERE {passed} "
                f"AND NOT EXISTS (SELECT 1 FROM {PART} p WHERE p.registrant_id = r.id) "
                f"AND NOT EXISTS (SELECT 1 FROM {BLOCK} b WHERE b.nik_index = r.nik_index) "
                f"AND NOT EXISTS (SELECT 1 FROM {APPS} a WHERE a.wave_id = %s "
                "AND a.registrant_id = r.id) "
                "ORDER BY r.id ON CONFLICT DO NOTHING RETURNING id",
                [
                    wave.pk,
                    db_time(now),
                    ApplicationOutcome.PENDING,
                    *case_params,
                    *rows_param,
                    *([LayerStatus.PASSED] * len(layers)),
                    wave.pk,
                ],
            )
            inserted = sorted(row[0] for row in cursor.fetchall())
            if inserted:
                _audit(cursor, inserted, wave, actor, now)
            joined += len(inserted)
    return joined


def _audit(
    cursor: Any, application_ids: list[int], wave: Wave, actor: Actor, now: datetime.datetime
) -> None:
    """One `wave.applied` event per application, as `wave_join` writes it."""
    rows, param = json_rows((("subject_id", "text"),), [[str(pk)] for pk in application_ids])
    cursor.execute(
        f"INSERT INTO {AUDIT_TABLE} (occurred_at, actor_kind, actor_id, actor_label, event_type, "  # noqa: S608
        "subject_type, subject_id, details) "
        f"SELECT %s, %s, %s, %s, %s, %s, r.subject_id, %s FROM {rows} AS r",
        [
            db_time(now),
            actor.kind,
            actor.id,
            actor.label,
            "wave.applied",
            WaveApplication._meta.label_lower,
            connection.ops.adapt_json_value({"wave": wave.number}, None),
            *param,
        ],
    )
