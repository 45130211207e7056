"""Adapter to the population registry (Dukcapil): NIK look-up and face match.

`population_registry()` is what services call. In production and the demo it is the HTTP client
(`client.HttpPopulationRegistry`) at PRAKERJA_POPULATION_URL, which the demo serves with
`prakerja sandbox population`; tests and the registration benchmark may swap in another
implementation with `use_population_registry(...)`.
"""

import datetime
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from prakerja.integrations.seam import AdapterSeam


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


@lru_cache(maxsize=4)
def _http_client(base_url: str, timeout: float) -> PopulationRegistry:
    from prakerja.integrations.population.client import HttpPopulationRegistry

    return HttpPopulationRegistry(base_url, timeout=timeout)


def _from_settings() -> PopulationRegistry:
    from prakerja.config import env

    return _http_client(
        env.get("PRAKERJA_POPULATION_URL"), float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S"))
    )


_seam: AdapterSeam[PopulationRegistry] = AdapterSeam(_from_settings)
population_registry = _seam.get
use_population_registry = _seam.use
