"""Adapter to the population registry (Dukcapil): NIK look-up and face match.

`population_registry()` is what services call. In production and the demo it is the HTTP client
(`client.HttpPopulationRegistry`) at PRAKERJA_POPULATION_URL, which the demo serves with
`prakerja sandbox population`; tests and the registration benchmark may swap in another
implementation with `use_population_registry(...)`.
"""

from functools import lru_cache

from prakerja.config import env
from prakerja.integrations.population.client import HttpPopulationRegistry
from prakerja.integrations.population.records import (
    FaceResult,
    PopulationRegistry,
    RegistryRecord,
    RegistryUnavailable,
)
from prakerja.integrations.seam import AdapterSeam

__all__ = [
    "FaceResult",
    "PopulationRegistry",
    "RegistryRecord",
    "RegistryUnavailable",
    "population_registry",
    "use_population_registry",
]


@lru_cache(maxsize=4)
def _http_client(base_url: str, timeout: float) -> PopulationRegistry:
    return HttpPopulationRegistry(base_url, timeout=timeout)


def _from_settings() -> PopulationRegistry:
    return _http_client(
        env.get("PRAKERJA_POPULATION_URL"), float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S"))
    )


_seam: AdapterSeam[PopulationRegistry] = AdapterSeam(_from_settings)
population_registry = _seam.get
use_population_registry = _seam.use
