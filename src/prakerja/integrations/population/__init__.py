"""Adapter to the population registry (Dukcapil): NIK look-up and face match.

`population_registry()` is what services call. In production and the demo it is the HTTP client
(`client.HttpPopulationRegistry`) at PRAKERJA_POPULATION_URL, which the demo serves with
`prakerja sandbox population`; tests and the registration benchmark may swap in another
implementation with `use_population_registry(...)`.
"""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
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


_override: PopulationRegistry | None = None


def population_registry() -> PopulationRegistry:
    if _override is not None:
        return _override
    from prakerja.config import env

    return _http_registry(
        env.get("PRAKERJA_POPULATION_URL"), float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S"))
    )


@lru_cache(maxsize=4)
def _http_registry(base_url: str, timeout: float) -> PopulationRegistry:
    """One HTTP client (and its connection pool) per process and URL."""
    from prakerja.integrations.population.client import HttpPopulationRegistry

    return HttpPopulationRegistry(base_url, timeout=timeout)


@contextmanager
def use_population_registry(registry: PopulationRegistry) -> Iterator[PopulationRegistry]:
    global _override
    previous, _override = _override, registry
    try:
        yield registry
    finally:
        _override = previous
