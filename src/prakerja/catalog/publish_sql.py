"""The raw statements on the partner API's hot path (services.py decides; this module only reads
and writes the rows): the lock on the body's institution that every training upsert starts with,
and a new training's insert (its near-duplicate check comes later: catalog.flags).

Written once at import rather than built by the ORM on each call, since compiling the ORM's
statements cost more than running them. They write what the ORM would: the same columns, each value
adapted by its model field.
"""

from typing import Any

from django.db import connection

from prakerja.audit.services import AUDIT_COLUMNS, AUDIT_TABLE, audit_insert
from prakerja.catalog.models import Institution, Training

_TRAINING = Training._meta.db_table
_COLUMNS = [f for f in Training._meta.concrete_fields if not f.primary_key]

# The body's institution, locked, and whether the training exists, in one statement.
_INSTITUTION_LOCKED = (
    f"SELECT i.id, i.name, i.owned_by_platform, EXISTS (SELECT 1 FROM {_TRAINING} t "  # noqa: S608 (models' own table names)
    "WHERE t.platform_id = %s AND t.external_id = %s) "
    f"FROM {Institution._meta.db_table} i WHERE i.platform_id = %s AND i.external_id = %s"
)

# A training that a concurrent call created a moment ago is left alone (no id comes back): the
# caller then changes it as a known training.
_INSERT = (
    f"INSERT INTO {_TRAINING} ({', '.join(str(f.column) for f in _COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
    "ON CONFLICT (platform_id, external_id) DO NOTHING RETURNING id"
)

# PostgreSQL: the training and its audit event in one statement (a data-modifying CTE, one round
# trip fewer); neither when the training exists.
_INSERT_WITH_AUDIT = (
    f"WITH t AS ({_INSERT}), "  # noqa: S608
    f"a AS (INSERT INTO {AUDIT_TABLE} ({', '.join(AUDIT_COLUMNS)}) SELECT "
    + ", ".join("t.id::text" if column == "subject_id" else "%s" for column in AUDIT_COLUMNS)
    + " FROM t) SELECT id FROM t"
)


def institution_locked(
    *, platform_id: int, institution_external_id: str, training_external_id: str
) -> tuple[int, str, bool, bool] | None:
    """(id, name, owned_by_platform, whether the platform has the training) of the platform's
    institution, locked; None when there is no such institution. The training may have been
    created by a call whose lock on the institution this one waited for: its insert then finds it."""
    sql = _INSTITUTION_LOCKED
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [platform_id, training_external_id, platform_id, institution_external_id]
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], bool(row[2]), bool(row[3]))


def training_insert(training: Training, *, audit: dict[str, Any]) -> bool:
    """Insert an unsaved training (it gets its id) with the audit event `audit` (an audit_row whose
    subject_id becomes the new id); False when the training exists."""
    values = [f.get_db_prep_save(getattr(training, f.attname), connection) for f in _COLUMNS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            audit_values = [audit[column] for column in AUDIT_COLUMNS if column != "subject_id"]
            cursor.execute(_INSERT_WITH_AUDIT, [*values, *audit_values])
        else:
            cursor.execute(_INSERT, values)
        row = cursor.fetchone()
    if row is None:
        return False
    training.pk = row[0]
    training._state.adding = False
    training._state.db = connection.alias
    if connection.vendor != "postgresql":
        audit_insert({**audit, "subject_id": str(training.pk)})
    return True
