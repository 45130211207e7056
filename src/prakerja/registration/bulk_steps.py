"""What every set-based step of registration shares: a layer change as `layers.layer_set` records
it (its VerificationStep and audit event, written for a whole chunk by one INSERT each), and the
guarded UPDATE … RETURNING that moves a chunk's registrants."""

import datetime
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.registration.layers import layer_event_details, layer_event_type
from prakerja.registration.models import Layer, Registrant, VerificationStep
from prakerja.registration.rules import REGISTRY_ACTOR, phone_opening

R = Registrant._meta.db_table
STEPS = VerificationStep._meta.db_table
SUBJECT_TYPE = Registrant._meta.label_lower
# How the phone layer opens once the NIK passes (rules.phone_opening), for the row's own phone.
PHONE_OPENS = (
    f"(CASE WHEN phone IS NULL THEN '{phone_opening(None)}' ELSE '{phone_opening('+62')}' END)"
)


class Change(NamedTuple):
    """One layer change, recorded as layer_set records it. A tuple, not a frozen dataclass: a
    national day makes millions of them."""

    registrant_id: int
    layer: Layer
    status: str
    reason: str = ""
    details: dict[str, Any] | None = None
    actor: Actor = REGISTRY_ACTOR


def record(now: datetime.datetime, changes: list[Change]) -> None:
    """The VerificationStep and audit event `layer_set` writes for each change, in the changes'
    order: one INSERT for the steps and one for the audit events."""
    if not changes:
        return
    step_rows = [
        [c.registrant_id, c.layer.value, str(c.status), c.reason, c.details or {}] for c in changes
    ]
    steps, steps_param = json_rows(
        (
            ("rid", "bigint"),
            ("layer", "text"),
            ("outcome", "text"),
            ("reason", "text"),
            ("details", "jsonb"),
        ),
        step_rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STEPS} (registrant_id, layer, outcome, reason, at, details) "  # noqa: S608
            f"SELECT r.rid, r.layer, r.outcome, r.reason, %s, r.details FROM {steps} AS r",
            [db_time(now), *steps_param],
        )
    audit_record_many(
        occurred_at=now,
        events=(
            AuditNew(
                c.actor,
                layer_event_type(c.layer, c.status),
                SUBJECT_TYPE,
                str(c.registrant_id),
                layer_event_details(c.reason, c.details),
            )
            for c in changes
        ),
    )


def returning(sql: str, params: list[Any]) -> dict[int, Any]:
    """Run a guarded UPDATE … RETURNING id[, value]: the registrants it moved (id -> value)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1] if len(row) > 1 else None for row in cursor.fetchall()}


def plain(column: str) -> str:
    """A status column in the guard of an UPDATE … FROM a chunk's rows. SQLite would drive the
    statement by the column's index (every registrant in that state, each matched against the whole
    JSON row set: 0,4 s for a chunk of 1.000) where `+column`, the same value, leaves it the primary
    key; PostgreSQL joins by the primary key anyway and has no unary + for text."""
    return f"+{column}" if connection.vendor == "sqlite" else column


def in_list(values: Sequence[str]) -> str:
    return f"({', '.join(['%s'] * len(values))})"
