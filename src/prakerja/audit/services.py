import datetime
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db import connection, models

from prakerja.audit.models import AuditEvent
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows


def audit_record(
    *,
    actor: Actor,
    event_type: str,
    subject: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        event_type=event_type,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        details=details or {},
    )


# The hot paths' way to the same rows: raw statements written once, since the ORM's insert cost
# more Python than the statement took to run.
AUDIT_TABLE = AuditEvent._meta.db_table
AUDIT_COLUMNS = tuple(str(f.column) for f in AuditEvent._meta.concrete_fields if not f.primary_key)
_INSERT = (
    f"INSERT INTO {AUDIT_TABLE} ({', '.join(AUDIT_COLUMNS)}) "  # noqa: S608 (the model's own table)
    f"VALUES ({', '.join(['%s'] * len(AUDIT_COLUMNS))})"
)


def audit_row(
    *, actor: Actor, event_type: str, subject_type: str, subject_id: str, details: dict[str, Any]
) -> dict[str, Any]:
    """The columns of the row audit_record would write, adapted for a raw statement."""
    return {
        "occurred_at": connection.ops.adapt_datetimefield_value(clock.now()),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "event_type": event_type,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": connection.ops.adapt_json_value(details, None),
    }


def audit_insert(row: dict[str, Any]) -> None:
    """Write the audit event of an audit_row by one raw INSERT."""
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [row[column] for column in AUDIT_COLUMNS])


class AuditNew(NamedTuple):
    """One audit event a set-based path writes, with the columns audit_record fills."""

    actor: Actor
    event_type: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]


def audit_record_many(*, occurred_at: datetime.datetime, events: Iterable[AuditNew]) -> int:
    """Write many audit events, in their order, by one INSERT from a JSON row set: the rows
    audit_record would write one by one, at one time (the chunk's). Call it inside the transaction
    of the changes they record. Returns how many were written."""
    rows = [
        [
            e.actor.kind,
            e.actor.id,
            e.actor.label,
            e.event_type,
            e.subject_type,
            e.subject_id,
            e.details,
        ]
        for e in events
    ]
    if not rows:
        return 0
    table, param = json_rows(
        (
            ("actor_kind", "text"),
            ("actor_id", "bigint"),
            ("actor_label", "text"),
            ("event_type", "text"),
            ("subject_type", "text"),
            ("subject_id", "text"),
            ("details", "jsonb"),
        ),
        rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AUDIT_TABLE} (occurred_at, actor_kind, actor_id, actor_label, "  # noqa: S608
            "event_type, subject_type, subject_id, details) SELECT %s, r.actor_kind, r.actor_id, "
            f"r.actor_label, r.event_type, r.subject_type, r.subject_id, r.details FROM {table} AS r",
            [db_time(occurred_at), *param],
        )
    return len(rows)
