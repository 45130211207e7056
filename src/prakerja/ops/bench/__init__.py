"""Benchmarks by one contract (docs/engineering contract): each measures the system's way and the
fastest plain way (raw SQL, raw COPY, a bare endpoint) on the same data in the same run, and reports
seconds, the limit's seconds and their ratio, so a figure holds on a noisy machine."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BenchResult:
    seconds: float
    limit_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_contract(self, name: str, n: int) -> dict[str, Any]:
        return {
            "bench": name,
            "n": n,
            "seconds": round(self.seconds, 6),
            "per_second": round(n / self.seconds, 1) if self.seconds else None,
            "limit_seconds": round(self.limit_seconds, 6),
            "ratio_to_limit": round(self.seconds / self.limit_seconds, 3)
            if self.limit_seconds
            else None,
            **self.extra,
        }


# name -> (module, default n: the size its issue names). Each module has
# `run(n: int, log: Callable[[str], None]) -> BenchResult`; selection's also takes `quota=`.
BENCHMARKS: dict[str, tuple[str, int]] = {
    "ledger": ("prakerja.ops.bench.ledger", 2 * 10**5),
    "exclusions": ("prakerja.ops.bench.exclusions", 10**6),
    "registration": ("prakerja.ops.bench.registration", 2 * 10**4),
    "selection": ("prakerja.ops.bench.selection", 10**7),
    "catalog-search": ("prakerja.ops.bench.catalog_search", 10**5),
    "partner-api": ("prakerja.ops.bench.partner_api", 2 * 10**4),
    "orders": ("prakerja.ops.bench.orders", 2 * 10**5),
    "disbursement": ("prakerja.ops.bench.disbursement", 8 * 10**4),
    "dashboards": ("prakerja.ops.bench.dashboards", 20),
}


def runner(name: str) -> Callable[..., BenchResult]:
    module_name, _ = BENCHMARKS[name]
    return importlib.import_module(module_name).run
