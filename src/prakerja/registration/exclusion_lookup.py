"""Who is on the exclusion lists, looked up by NIK blind index: one person (the per-request
eligibility check) or a batch (the set-based one). The lists themselves are exclusions.py's."""

import json
from collections.abc import Iterable

from django.db import connection

from prakerja.registration.models import ExclusionEntry

LOOKUP_CHUNK = 10_000
E = ExclusionEntry._meta.db_table


def exclusion_categories_for(nik_index: str) -> list[str]:
    """The categories of every list the NIK behind `nik_index` is on, sorted; empty if none."""
    return list(
        ExclusionEntry.objects.filter(nik_index=nik_index)
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def excluded_indexes(nik_indexes: Iterable[str]) -> dict[str, list[str]]:
    """For a batch of NIK blind indexes, those on any list, each with its sorted categories."""
    wanted = sorted(set(nik_indexes))
    found: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            part = wanted[start : start + LOOKUP_CHUNK]
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT nik_index, category FROM {E} WHERE nik_index = ANY(%s)",  # noqa: S608
                    [part],
                )
            else:
                cursor.execute(
                    f"SELECT nik_index, category FROM {E} "  # noqa: S608
                    "WHERE nik_index IN (SELECT value FROM json_each(%s))",
                    [json.dumps(part)],
                )
            for index, row_category in cursor.fetchall():
                found.setdefault(index, set()).add(row_category)
    return {index: sorted(categories) for index, categories in found.items()}
