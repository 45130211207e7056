"""The NIK's own structure (program.md §2): 16 digits = province (2) + regency (2) + district (2) +
birth date DDMMYY, where women add 40 to the day + a 4-digit serial that is not 0000.

Checked before any call to the population registry, so a typo is caught at once and costs nothing.
"""

import datetime
import re
from dataclasses import dataclass

from prakerja.registration.regions import regency_from_nik_digits, region

NIK_PATTERN = re.compile(r"^\d{16}$")


@dataclass(frozen=True)
class NikFacts:
    regency_code: str
    birth_day: int
    birth_month: int
    birth_year_2digits: int
    sex: str  # "F" or "M"


class NikProblem(ValueError):
    """A reason code from the list in `REASONS`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


REASONS = {
    "NIK_FORMAT": "not 16 digits",
    "NIK_REGION_UNKNOWN": "digits 1-4 are not a province and regency in the official tables",
    "NIK_BIRTH_DATE_INVALID": "digits 7-12 are not a date (women add 40 to the day)",
    "NIK_SERIAL_INVALID": "digits 13-16 are 0000",
    "NIK_BIRTH_DATE_MISMATCH": "the date encoded in the NIK differs from the birth date given",
}


def normalise_nik(raw: str) -> str:
    """People type NIKs with spaces or dots from their card; keep the digits only."""
    return re.sub(r"[\s.\-]", "", raw or "")


def parse_nik(nik: str) -> NikFacts:
    if not NIK_PATTERN.match(nik):
        raise NikProblem("NIK_FORMAT")
    regency = regency_from_nik_digits(nik)
    if regency is None or region(nik[0:2]) is None:
        raise NikProblem("NIK_REGION_UNKNOWN")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "F" if day > 40 else "M"
    if sex == "F":
        day -= 40
    try:
        # Any leap year admits 29 Feb; the century is settled against the given birth date.
        datetime.date(2000, month, day)
    except ValueError:
        raise NikProblem("NIK_BIRTH_DATE_INVALID") from None
    if nik[12:16] == "0000":
        raise NikProblem("NIK_SERIAL_INVALID")
    return NikFacts(regency.code, day, month, year, sex)


def check_nik(nik: str, birth_date: datetime.date) -> NikFacts:
    """Structure and birth date together: raises NikProblem with the reason, or returns the facts."""
    facts = parse_nik(nik)
    if (facts.birth_day, facts.birth_month, facts.birth_year_2digits) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        raise NikProblem("NIK_BIRTH_DATE_MISMATCH")
    return facts


def make_nik(district_code: str, birth_date: datetime.date, sex: str, serial: int) -> str:
    """The inverse, for synthetic populations and tests: a NIK that passes `check_nik`."""
    day = birth_date.day + (40 if sex == "F" else 0)
    return (
        f"{district_code.replace('.', '')}{day:02d}{birth_date.month:02d}"
        f"{birth_date.year % 100:02d}{serial:04d}"
    )
