"""Imported priority lists: people a wave may fill first (for example workers laid off by one
industry), named by a group that a wave lists in its `priority_order` (docs/selection.md).

NIKs are never stored: an entry keeps `blind_index(nik, purpose="nik")`, the index the registrant
row carries, so `waves.priorities` joins lists and registrants on equal indexes.
"""

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import blind_index_many
from prakerja.common.errors import ValidationFailed
from prakerja.registration.nik import NikProblem, normalise_nik, parse_nik
from prakerja.waves.models import PriorityEntry
from prakerja.waves.priorities import WORK_STATUS_GROUPS

NIK_PURPOSE = "nik"  # the registration code indexes NIKs under the same purpose
GROUP_MAX = PriorityEntry._meta.get_field("group").max_length or 40
GROUP_PATTERN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
NIK_COLUMNS = ("nik", "no_nik", "nomor_nik")
REJECTED_SAMPLE = 20  # rejected line numbers kept in the audit event; the rest are only counted
# Bounded by the `IN (...)` of the look-up of entries already listed: SQLite allows 32 766
# parameters per statement.
CHUNK = 5_000


@dataclass(frozen=True)
class PriorityImportResult:
    group: str
    rows_read: int
    rows_added: int
    rows_duplicate: int  # valid NIKs already on the list, or repeated in the file
    rows_rejected: int  # invalid NIKs: counted, never stored
    rejected_reasons: dict[str, int] = field(default_factory=dict)


def _group_problem(group: str) -> str | None:
    if not GROUP_PATTERN.fullmatch(group):
        return "GROUP_NOT_SLUG"
    if len(group) > GROUP_MAX:
        return "GROUP_TOO_LONG"
    if group in WORK_STATUS_GROUPS:
        # Those names already mean "declared this work status" in a wave's priority_order.
        return "GROUP_RESERVED"
    return None


def _nik_column(header_line: str) -> tuple[str, int]:
    # Excel in an Indonesian locale writes semicolons, since the comma is the decimal mark there.
    delimiter = next((d for d in (",", ";", "\t") if d in header_line), ",")
    header = next(csv.reader([header_line], delimiter=delimiter))
    keys = [
        re.sub(r"[\s.\-]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")
        for name in header
    ]
    at = next((i for i, key in enumerate(keys) if key in NIK_COLUMNS), None)
    if at is None:
        raise ValidationFailed(details={"file": "NIK_COLUMN_MISSING"})
    return delimiter, at


def priority_list_import(
    *, stream: TextIO, group: str, actor: Actor, chunk_size: int = CHUNK
) -> PriorityImportResult:
    """Add the NIKs of a CSV file (header row with a `nik` column) to the priority list `group`.

    Invalid NIKs are counted by reason and never stored; a NIK already on the list is not added
    again, so importing the same file twice adds nothing the second time. Set-based: per chunk one
    look-up of the entries already listed and one bulk insert.
    """
    group = group.strip()
    problem = _group_problem(group)
    if problem:
        raise ValidationFailed(details={"group": problem})
    if not 1 <= chunk_size <= CHUNK:
        raise ValidationFailed(details={"chunk_size": "CHUNK_SIZE_INVALID"})
    header_line = stream.readline()
    if not header_line.strip():
        raise ValidationFailed(details={"file": "FILE_EMPTY"})
    delimiter, nik_at = _nik_column(header_line)

    rows_read = rows_added = 0
    reasons: Counter[str] = Counter()
    rejected_lines: list[int] = []
    now = clock.now()
    niks: list[str] = []

    def flush() -> None:
        nonlocal rows_added
        if not niks:
            return
        indexes = sorted(set(blind_index_many(niks, purpose=NIK_PURPOSE)))
        niks.clear()
        listed = set(
            PriorityEntry.objects.filter(group=group, nik_index__in=indexes).values_list(
                "nik_index", flat=True
            )
        )
        new = [index for index in indexes if index not in listed]
        # ignore_conflicts: an import of the same group running at the same time may have added
        # some of them since the look-up; the unique constraint keeps each person listed once.
        PriorityEntry.objects.bulk_create(
            [PriorityEntry(group=group, nik_index=index, imported_at=now) for index in new],
            ignore_conflicts=True,
        )
        rows_added += len(new)

    # One transaction, unlike the exclusion lists: priority lists are small enough, and a draw
    # must never read a list half imported.
    with transaction.atomic(durable=True):
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines are layout, not data
                rows_read += 1
                nik = normalise_nik(row[nik_at]) if nik_at < len(row) else ""
                try:
                    parse_nik(nik)
                except NikProblem as invalid:
                    reasons[invalid.reason] += 1
                    if len(rejected_lines) < REJECTED_SAMPLE:
                        rejected_lines.append(reader.line_num + 1)  # +1: the header line
                    continue
                niks.append(nik)
                if len(niks) >= chunk_size:
                    flush()
            flush()
        except csv.Error:
            raise ValidationFailed(details={"file": "CSV_INVALID"}) from None
        rows_rejected = sum(reasons.values())
        result = PriorityImportResult(
            group=group,
            rows_read=rows_read,
            rows_added=rows_added,
            rows_duplicate=rows_read - rows_added - rows_rejected,
            rows_rejected=rows_rejected,
            rejected_reasons=dict(sorted(reasons.items())),
        )
        details: dict[str, Any] = {
            "group": group,
            "rows_read": result.rows_read,
            "rows_added": result.rows_added,
            "rows_duplicate": result.rows_duplicate,
            "rows_rejected": result.rows_rejected,
            "rejected_reasons": result.rejected_reasons,
            "rejected_lines": rejected_lines,  # line numbers only: a NIK never enters the trail
        }
        audit_record(actor=actor, event_type="priority_list.imported", details=details)
    return result
