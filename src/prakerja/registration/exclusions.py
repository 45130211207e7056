"""Exclusion lists: people who may not join (other social assistance, civil servants, legislators,
village officials…). The program office imports CSV files of NIKs; a registrant whose NIK is on
any list fails the eligibility layer, and so does one whose NIK arrives on a list imported later,
because checks look the lists up when they run.

NIKs are never stored: an entry keeps `blind_index(nik, purpose="nik")`, the same index the
registrant row carries, so the eligibility check and wave selection join on equal indexes.
"""

import csv
import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from django.db import connection, transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import blind_index_many
from prakerja.common.errors import ValidationFailed
from prakerja.common.sqlsets import value_rows
from prakerja.registration.eligibility import eligibility_recheck
from prakerja.registration.exclusion_lookup import (  # noqa: F401 - the lists' lookups, by their old name too
    excluded_indexes,
    exclusion_categories_for,
)
from prakerja.registration.models import (
    ExclusionEntry,
    ExclusionImport,
    LayerStatus,
    Registrant,
)
from prakerja.registration.nik import NikProblem, normalise_nik, parse_nik

NIK_PURPOSE = "nik"  # the registration code indexes NIKs under the same purpose
REJECTED_SAMPLE = 20  # rejected lines named in the audit event; the rest are only counted
CATEGORY_MAX = ExclusionEntry._meta.get_field("category").max_length or 40
SOURCE_MAX = ExclusionEntry._meta.get_field("source").max_length or 120
FILE_NAME_MAX = ExclusionImport._meta.get_field("file_name").max_length or 200

E = ExclusionEntry._meta.db_table

# Spreadsheets exported by ministries and regional offices name their columns in either language.
COLUMN_ALIASES = {
    "nik": ("nik", "no_nik", "nomor_nik"),
    "category": ("category", "kategori"),
    "source": ("source", "sumber"),
    "date": ("date", "tanggal", "listed_on"),
}


@dataclass(frozen=True)
class _Columns:
    nik: int
    category: int | None
    source: int | None
    date: int | None


def _column_key(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


def _columns(header: list[str]) -> _Columns:
    keys = [_column_key(name) for name in header]
    found: dict[str, int | None] = {}
    for column, aliases in COLUMN_ALIASES.items():
        found[column] = next((i for i, key in enumerate(keys) if key in aliases), None)
    nik = found["nik"]
    if nik is None:
        raise ValidationFailed(
            details={"file": f"the header has no nik column (found: {', '.join(keys) or 'none'})"}
        )
    return _Columns(nik, found["category"], found["source"], found["date"])


def _delimiter(header_line: str) -> str:
    # Excel in an Indonesian locale writes semicolons, since the comma is the decimal mark there.
    for candidate in (",", ";", "\t"):
        if candidate in header_line:
            return candidate
    return ","


ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def _parse_date(text: str) -> datetime.date:
    """YYYY-MM-DD or DD/MM/YYYY (the Indonesian order); anything else raises ValueError."""
    if match := ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := SLASH_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        raise ValueError(text)
    return datetime.date(int(year), int(month), int(day))


def _summary(values: set[str], limit: int) -> str:
    text = ", ".join(sorted(values))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exclusion_list_import(
    *,
    stream: TextIO,
    file_name: str,
    category: str | None,
    source: str = "",
    actor: Actor,
    chunk_size: int = 50_000,  # not a scheme value: rows per chunk
    progress: Callable[[int], None] | None = None,
) -> ExclusionImport:
    """Import one CSV exclusion list (header row; columns nik, and optionally category, source and
    date as YYYY-MM-DD or DD/MM/YYYY). `category` (and a non-empty `source`) overrides the column.

    Rows with a NIK that is not a valid 16-digit NIK, no category, or a bad date are counted as
    rejected and never stored. The file is streamed; each chunk of `chunk_size` rows is indexed and
    inserted set-based and commits on its own, so a crash mid-file keeps the finished chunks and a
    re-import adds nothing twice (a NIK is listed once per category). `progress`, when given, is
    called with the number of rows read since its previous call.
    """
    # Not one transaction, unlike other services: a list of millions of rows commits per chunk so
    # that a failure costs one chunk, and the unique (nik_index, category) makes a re-run harmless.
    category = category.strip() if category is not None else None
    source = source.strip()
    if category == "":
        category = None
    if category is not None and len(category) > CATEGORY_MAX:
        raise ValidationFailed(details={"category": f"at most {CATEGORY_MAX} characters"})
    if len(source) > SOURCE_MAX:
        raise ValidationFailed(details={"source": f"at most {SOURCE_MAX} characters"})
    if chunk_size < 1:
        raise ValidationFailed(details={"chunk_size": "must be at least 1"})

    header_line = stream.readline()
    if not header_line.strip():
        raise ValidationFailed(details={"file": "the file is empty: it needs a header row"})
    delimiter = _delimiter(header_line)
    columns = _columns(next(csv.reader([header_line], delimiter=delimiter)))
    if category is None and columns.category is None:
        raise ValidationFailed(
            details={"category": "give a category, or a category column in the file"}
        )

    file_name = file_name[:FILE_NAME_MAX]
    list_import = ExclusionImport.objects.create(
        category=category or "(from file)",
        source=source,
        file_name=file_name,
        actor=actor.label,
    )

    rows_read = rows_added = rows_rejected = reported = 0
    rejected_sample: list[dict[str, Any]] = []
    categories_seen: set[str] = set()
    sources_seen: set[str] = set()
    iso_dates: dict[str, str | None] = {"": None}  # lists repeat a few dates over many rows
    niks: list[str] = []
    chunk: list[tuple[str, str, str | None]] = []  # category, source, ISO date per NIK

    def reject(line: int, reason: str) -> None:
        nonlocal rows_rejected
        rows_rejected += 1
        if len(rejected_sample) < REJECTED_SAMPLE:
            rejected_sample.append({"line": line, "reason": reason})

    def flush() -> None:
        nonlocal rows_added, reported
        if niks:
            indexes = blind_index_many(niks, purpose=NIK_PURPOSE)
            with transaction.atomic(durable=True):
                rows_added += _insert_entries(
                    list_import_id=list_import.pk,
                    rows=[(index, *facts) for index, facts in zip(indexes, chunk, strict=True)],
                )
                _recheck_registrants(indexes, actor=actor)
            niks.clear()
            chunk.clear()
        if progress is not None and rows_read > reported:
            progress(rows_read - reported)
            reported = rows_read

    nik_at, category_at, source_at, date_at = (
        columns.nik,
        columns.category,
        columns.source,
        columns.date,
    )
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines are layout, not data
            rows_read += 1
            line = reader.line_num + 1  # the header line was read before the reader started
            width = len(row)
            nik = normalise_nik(row[nik_at]) if nik_at < width else ""
            try:
                parse_nik(nik)
            except NikProblem as problem:
                reject(line, problem.reason)
                continue
            row_category = category
            if row_category is None:
                row_category = (
                    row[category_at].strip()
                    if category_at is not None and category_at < width
                    else ""
                )
                if not row_category:
                    reject(line, "CATEGORY_MISSING")
                    continue
                if len(row_category) > CATEGORY_MAX:
                    reject(line, "CATEGORY_TOO_LONG")
                    continue
                if row_category not in categories_seen and len(categories_seen) < 100:
                    categories_seen.add(row_category)
            row_source = source
            if not row_source and source_at is not None and source_at < width:
                row_source = row[source_at].strip()
                if len(row_source) > SOURCE_MAX:
                    reject(line, "SOURCE_TOO_LONG")
                    continue
                if row_source and row_source not in sources_seen and len(sources_seen) < 100:
                    sources_seen.add(row_source)
            listed_on: str | None = None
            if date_at is not None and date_at < width:
                text = row[date_at].strip()
                if text in iso_dates:
                    listed_on = iso_dates[text]
                else:
                    try:
                        listed_on = _parse_date(text).isoformat()
                    except ValueError:
                        reject(line, "DATE_INVALID")
                        continue
                    iso_dates[text] = listed_on
            niks.append(nik)
            chunk.append((row_category, row_source, listed_on))
            if len(niks) >= chunk_size:
                flush()
        flush()
    except csv.Error as error:
        raise ValidationFailed(
            details={"file": f"line {reader.line_num + 1} is not valid CSV: {error}"}
        ) from None

    with transaction.atomic():
        list_import.category = category or _summary(categories_seen, CATEGORY_MAX) or "(none)"
        list_import.source = source or _summary(sources_seen, SOURCE_MAX)
        list_import.rows_read = rows_read
        list_import.rows_added = rows_added
        list_import.rows_rejected = rows_rejected
        list_import.finished_at = clock.now()
        list_import.save(
            update_fields=[
                "category",
                "source",
                "rows_read",
                "rows_added",
                "rows_rejected",
                "finished_at",
            ]
        )
        audit_record(
            actor=actor,
            event_type="exclusions.imported",
            subject=list_import,
            details={
                "file_name": file_name,
                "category": category,
                "categories": [category] if category else sorted(categories_seen),
                "source": list_import.source,
                "rows_read": rows_read,
                "rows_added": rows_added,
                "rows_rejected": rows_rejected,
                "rejected_lines": rejected_sample,
            },
        )
    return list_import


def _insert_entries(*, list_import_id: int, rows: list[tuple[str, str, str, str | None]]) -> int:
    """Insert (nik_index, category, source, ISO date) rows, skipping pairs already listed; returns
    how many were inserted."""
    # Both inserts go in index order: blind indexes are random, and sorted keys touch each page of
    # the unique index once per chunk instead of once per row (a quarter less time at a million).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is the fastest way into PostgreSQL; the temporary table lets the final INSERT
            # skip duplicates with ON CONFLICT, which COPY alone cannot.
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS registration_exclusion_load "
                "(nik_index text, category text, source text, listed_on date) "
                "ON COMMIT DELETE ROWS"
            )
            # Under an outer transaction (tests, a caller's atomic) the last chunk is still there.
            cursor.execute("TRUNCATE registration_exclusion_load")
            with cursor.cursor.copy(
                "COPY registration_exclusion_load (nik_index, category, source, listed_on) "
                "FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {E} (nik_index, category, source, listed_on, list_import_id) "  # noqa: S608 - names are model constants
                "SELECT nik_index, category, source, listed_on, %s "
                "FROM registration_exclusion_load ORDER BY nik_index "
                "ON CONFLICT (nik_index, category) DO NOTHING",
                [list_import_id],
            )
        else:
            # `WHERE true` lets SQLite tell the upsert clause from a join constraint.
            cursor.execute(
                f"INSERT INTO {E} (nik_index, category, source, listed_on, list_import_id) "  # noqa: S608
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
                "json_extract(value, '$[2]'), json_extract(value, '$[3]'), %s "
                "FROM json_each(%s) WHERE true ORDER BY 1 "
                "ON CONFLICT (nik_index, category) DO NOTHING",
                [list_import_id, json.dumps(rows)],
            )
        return max(cursor.rowcount, 0)


def _recheck_registrants(nik_indexes: list[str], *, actor: Actor) -> None:
    """Registrants this chunk names who already passed eligibility lose it now, with the reason
    (program.md §7: lists imported after the fact must still take effect)."""
    rows, param = value_rows(nik_indexes, "varchar")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Registrant._meta.db_table} WHERE eligibility_status = %s "  # noqa: S608
            f"AND nik_index IN {rows}",
            [LayerStatus.PASSED.value, param],
        )
        named = [row[0] for row in cursor.fetchall()]
    for registrant in Registrant.objects.filter(pk__in=named):
        eligibility_recheck(registrant=registrant, actor=actor)
