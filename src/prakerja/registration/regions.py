"""Indonesia's administrative regions, from the bundled official tables (2020 and 2025 codes).

Source: Kemendagri region codes as compiled in the MIT-licensed dataset `cahyadsn/wilayah`
(data/regions.csv merges `wilayah_2020.sql` and `wilayah.sql`; data/population-by-region.csv is
`wilayah_penduduk.sql`). A NIK's first six digits are province + regency + district without dots.
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Region:
    code: str  # dotted: "32", "32.01", "32.01.01"
    level: str  # province | regency | district
    name: str

    @property
    def digits(self) -> str:
        return self.code.replace(".", "")

    @property
    def province_code(self) -> str:
        return self.code[:2]


@cache
def _all() -> dict[str, Region]:
    with (DATA / "regions.csv").open(newline="", encoding="utf-8") as source:
        return {
            row["code"]: Region(row["code"], row["level"], row["name"])
            for row in csv.DictReader(source)
        }


def region(code: str) -> Region | None:
    return _all().get(code)


def provinces() -> list[Region]:
    return [r for r in _all().values() if r.level == "province"]


def regencies(province_code: str | None = None) -> list[Region]:
    return [
        r
        for r in _all().values()
        if r.level == "regency" and (province_code is None or r.province_code == province_code)
    ]


def districts(regency_code: str) -> list[Region]:
    return [
        r
        for r in _all().values()
        if r.level == "district" and r.code.startswith(regency_code + ".")
    ]


def regency_from_nik_digits(digits: str) -> Region | None:
    """The regency of a NIK's digits 1–4, e.g. '3201…' -> 32.01."""
    return region(f"{digits[0:2]}.{digits[2:4]}")


@cache
def regency_population() -> dict[str, int]:
    """Total population per regency code, for a realistic synthetic population and quotas."""
    with (DATA / "population-by-region.csv").open(newline="", encoding="utf-8") as source:
        return {
            row["code"]: int(row["total"])
            for row in csv.DictReader(source)
            if row["code"].count(".") == 1
        }
