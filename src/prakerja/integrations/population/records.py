"""What the population registry answers, and the one interface its adapters implement."""

import datetime
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RegistryRecord:
    nik: str
    kk_number: str
    full_name: str
    birth_date: datetime.date
    sex: str  # "M" | "F"
    regency_code: str  # dotted, e.g. "32.01"
    deceased: bool


@dataclass(frozen=True)
class FaceResult:
    matched: bool
    score: float  # 0..1, higher is more alike


class RegistryUnavailable(Exception):
    """The registry did not answer in time or answered with a server error: try again later."""


class PopulationRegistry(Protocol):
    def lookup(self, nik: str) -> RegistryRecord | None:
        """The registry's record of `nik`, or None when the NIK does not exist."""
        ...

    def face_match(self, nik: str, image: bytes) -> FaceResult:
        """Compare a selfie (JPEG/PNG bytes) with the registry photo of `nik`."""
        ...
