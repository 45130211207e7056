"""Importing an exclusion list of n NIKs through exclusion_list_import (parse, check, blind-index,
insert skipping duplicates), against loading the same file's raw NIK strings into a table with a
unique index (COPY on PostgreSQL, executemany on SQLite): the same load without the system's work.
"""

import csv
import datetime
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from django.db import connection, transaction

from prakerja.common.actors import Actor
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.timing import stopwatch
from prakerja.registration import regions
from prakerja.registration.exclusions import exclusion_list_import
from prakerja.registration.nik import make_nik

CHUNK = 50_000  # not a scheme value: rows per import chunk
DAYS = 20 * 365  # birth dates spread over twenty years
FIRST_BIRTH_DATE = datetime.date(1980, 1, 1)


def synthetic_niks(n: int) -> Iterator[str]:
    """n distinct valid NIKs: each i maps to its own (district, birth date, sex, serial)."""
    districts = [d.code for r in regions.regencies()[:10] for d in regions.districts(r.code)]
    for i in range(n):
        rest, district = divmod(i, len(districts))
        rest, day = divmod(rest, DAYS)
        serial, sex = divmod(rest, 2)
        if serial >= 9999:
            raise ValueError(f"n={n} exceeds the synthetic NIK space")
        yield make_nik(
            districts[district],
            FIRST_BIRTH_DATE + datetime.timedelta(days=day),
            "F" if sex else "M",
            serial + 1,
        )


def run(n: int, log: Callable[[str], None]) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="prakerja-bench-exclusions-") as folder:
        csv_path = Path(folder) / "exclusions.csv"
        log(f"setup: a CSV of {n} distinct valid NIKs")
        with csv_path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["nik", "category", "source", "date"])
            writer.writerows([nik, "bansos", "bench", "15/01/2024"] for nik in synthetic_niks(n))

        log("system: exclusion_list_import")
        with (
            stopwatch() as system,
            csv_path.open(encoding="utf-8-sig", newline="") as stream,
        ):
            result = exclusion_list_import(
                stream=stream,
                file_name=csv_path.name,
                category=None,
                actor=Actor.system("bench.exclusions"),
                chunk_size=CHUNK,
            )
        if (result.rows_read, result.rows_added, result.rows_rejected) != (n, n, 0):
            raise RuntimeError(
                f"bench exclusions imported wrongly: {result.rows_read} read, "
                f"{result.rows_added} added, {result.rows_rejected} rejected of {n}"
            )

        log("limit: the raw NIK strings of the same file into a table with a unique index")
        _create_limit_table()
        with stopwatch() as limit, csv_path.open(encoding="utf-8", newline="") as stream:
            _load_raw(stream)
    return BenchResult(
        seconds=system.seconds,
        limit_seconds=limit.seconds,
        extra={"database": connection.vendor, "rows_added": result.rows_added, "chunk": CHUNK},
    )


def _create_limit_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_exclusion_limit (nik varchar(16) NOT NULL)")
        cursor.execute(
            "CREATE UNIQUE INDEX bench_exclusion_limit_nik ON bench_exclusion_limit (nik)"
        )


def _load_raw(stream: TextIO) -> None:
    rows = csv.reader(stream)
    next(rows)
    if connection.vendor == "postgresql":
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy("COPY bench_exclusion_limit (nik) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row((row[0],))
        return
    batch: list[tuple[str]] = []
    for row in rows:
        batch.append((row[0],))
        if len(batch) == CHUNK:
            _insert_batch(batch)
            batch = []
    if batch:
        _insert_batch(batch)


def _insert_batch(batch: list[tuple[str]]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany("INSERT INTO bench_exclusion_limit (nik) VALUES (%s)", batch)
