"""Signed training upserts per second through the real HTTP stack: n `PUT
/api/partner/v1/trainings/{external_id}` calls, each a new training with a body of its own, signed by
a platform as partner-api.md says, sent over keep-alive connections by 8 client threads to the
project's web server (`prakerja serve`: gunicorn, 2 workers of 4 threads) on the scratch database —
against the limit of the same n signed calls, the same bodies, to a signed no-op endpoint in the same
server (partner_api_urls: the partner check and nothing else).

The target reads as a share of the no-op's throughput (`throughput_share` = system per second / limit
per second, ≥ 0,5); by the benchmarks' contract `ratio_to_limit` is still system seconds over limit
seconds (≤ 2). The client runs in this process on the same machine: both measurements pay for it.

A new training's near-duplicate check is not a part of the call (catalog.flags: a periodic job
compares new trainings with the catalog seconds later). After the calls the benchmark runs that check
over the n new trainings, in this process, and reports its seconds beside the calls'.
"""

import json
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from django.db import connection

from prakerja.catalog.demo import TOPICS
from prakerja.catalog.flags import near_duplicates_check_due
from prakerja.catalog.models import Training
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.partner_api_urls import NOOP_PREFIX
from prakerja.ops.bench.processes import web_server
from prakerja.ops.bench.timing import stopwatch
from prakerja.partners.models import Partner, PartnerKind
from prakerja.partners.services import partner_create
from prakerja.partners.signing import signed_headers
from prakerja.registration import regions

WEB_WORKERS = 2
CLIENT_THREADS = 8
WARM_UP_CALLS = 200  # no-op calls before timing: every worker thread imported and connected
PLATFORM = "bench-platform"
TRAININGS = "/api/partner/v1/trainings/"
INSTITUTIONS = 100  # the platform's training institutions the trainings are spread over
OFFLINE_EVERY = 7  # about 15 % offline, as in the demo catalog
DATA_SEED = 2020
SETTINGS_MODULE = "prakerja.ops.bench.partner_api_settings"


@dataclass
class _Run:
    seconds: float
    started: float = 0.0  # perf_counter() when the clock started
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # perf_counter() at each answer

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 2)

    def per_second_by_tenth(self) -> list[float]:
        """Answers per second in each tenth of the calls, in the order they were answered: how the
        rate changes as the catalog grows."""
        moments = [self.started, *sorted(self.finished)]
        size = len(self.finished) / 10
        rates = []
        for tenth in range(10):
            first, last = round(tenth * size), round((tenth + 1) * size)
            elapsed = moments[last] - moments[first]
            rates.append(round((last - first) / elapsed, 1) if elapsed > 0 else 0.0)
        return rates


def run(n: int, log: Callable[[str], None]) -> BenchResult:
    actor = Actor.system("bench.partner_api")
    partner, secret = partner_create(
        code=PLATFORM, name="Platform Benchmark", kind=PartnerKind.PLATFORM, actor=actor
    )
    # The calls come faster than the default limit of 600 a minute allows.
    Partner.objects.filter(pk=partner.pk).update(rate_limit_per_minute=2**31 - 1)
    log(f"setup: {n} training bodies")
    ids = [f"bench-{i:07d}" for i in range(n)]
    bodies = _bodies(n)
    call = _Caller(partner=PLATFORM, secret=secret)

    with (
        tempfile.TemporaryDirectory() as folder,
        web_server(
            Path(folder),
            log,
            workers=WEB_WORKERS,
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            CELERY_BROKER_URL="",  # any task runs inline, as in the embedded default
        ) as base_url,
    ):
        log(f"warm-up: {WARM_UP_CALLS} calls to the no-op")
        warm = call.drive(
            base_url, NOOP_PREFIX, [f"warm-{i}" for i in range(WARM_UP_CALLS)], bodies
        )
        _expect(warm, 200, "warm-up")
        log(f"limit: {n} signed PUT {NOOP_PREFIX}{{id}} (the partner check only)")
        limit = call.drive(base_url, NOOP_PREFIX, ids, bodies)
        _expect(limit, 200, "limit")
        log(f"system: {n} signed PUT {TRAININGS}{{id}}")
        system = call.drive(base_url, TRAININGS, ids, bodies)
        _expect(system, 201, "system")

    created = Training.objects.filter(platform=partner).count()  # a platform new to this database
    if created != n:
        raise RuntimeError(f"{created} trainings exist after {n} answers 201")
    # The near-duplicate check the calls left to the periodic job, run here once over all of them
    # (not a part of the timed calls: reported beside them, as the work that follows).
    log(f"near-duplicate check of the {n} new trainings")
    with stopwatch() as check:
        checked = near_duplicates_check_due()
    if checked != n:
        raise RuntimeError(f"the near-duplicate check took {checked} trainings, not {n}")
    return BenchResult(
        seconds=system.seconds,
        limit_seconds=limit.seconds,
        extra={
            "database": connection.vendor,
            "web_workers": WEB_WORKERS,
            "client_threads": CLIENT_THREADS,
            "trainings": created,
            "limit_per_second": round(n / limit.seconds, 1),
            "throughput_share": round(limit.seconds / system.seconds, 3),
            "p50_ms": system.percentile_ms(0.50),
            "p95_ms": system.percentile_ms(0.95),
            "limit_p50_ms": limit.percentile_ms(0.50),
            "limit_p95_ms": limit.percentile_ms(0.95),
            "per_second_by_tenth": system.per_second_by_tenth(),
            "near_duplicate_check_seconds": round(check.seconds, 2),
            "near_duplicate_checks_per_second": round(n / check.seconds, 1),
        },
    )


def _expect(result: _Run, status: int, what: str) -> None:
    if set(result.statuses) != {status}:
        raise RuntimeError(f"{what}: expected only {status} answers, got {dict(result.statuses)}")


# --- the client -------------------------------------------------------------------------------------


@dataclass
class _Caller:
    """A platform's backend: signs each call (fresh X-TIMESTAMP, unique X-EXTERNAL-ID) and sends it
    over one keep-alive connection per client thread."""

    partner: str
    secret: str
    calls: int = 0

    def drive(
        self, base_url: str, prefix: str, ids: Sequence[str], bodies: Sequence[bytes]
    ) -> _Run:
        """One PUT per id, `bodies[i]` for `ids[i]` (cycled), by CLIENT_THREADS threads at once;
        the clock runs from the moment all threads are ready to the last answer."""
        self.calls += 1
        key_prefix = f"{self.calls}-"
        ready = threading.Barrier(CLIENT_THREADS + 1)
        results: list[_Run] = [_Run(0.0) for _ in range(CLIENT_THREADS)]
        failures: list[BaseException] = []

        def work(slot: int) -> None:
            mine = results[slot]
            with httpx.Client(base_url=base_url, timeout=60.0) as client:
                ready.wait()
                try:
                    for i in range(slot, len(ids), CLIENT_THREADS):
                        body = bodies[i % len(bodies)]
                        request = client.build_request(
                            "PUT",
                            prefix + quote(ids[i], safe=""),
                            content=body,
                            headers={"Content-Type": "application/json"},
                        )
                        # Signed over the target exactly as it goes on the request line.
                        request.headers.update(
                            signed_headers(
                                partner=self.partner,
                                secret=self.secret,
                                method="PUT",
                                path_with_query=request.url.raw_path.decode("ascii"),
                                body=body,
                                timestamp=clock.now().astimezone(WIB).isoformat(timespec="seconds"),
                                external_id=key_prefix + ids[i],
                            )
                        )
                        started = time.perf_counter()
                        answer = client.send(request)
                        done = time.perf_counter()
                        mine.latencies.append(done - started)
                        mine.finished.append(done)
                        mine.statuses[answer.status_code] += 1
                except BaseException as failure:  # reported after the others finish
                    failures.append(failure)

        threads = [threading.Thread(target=work, args=(slot,)) for slot in range(CLIENT_THREADS)]
        for thread in threads:
            thread.start()
        ready.wait()
        started = time.perf_counter()
        with stopwatch() as watch:
            for thread in threads:
                thread.join()
        if failures:
            raise RuntimeError(f"client failed: {failures[0]!r}") from failures[0]
        total = _Run(watch.seconds, started=started)
        for result in results:
            total.statuses.update(result.statuses)
            total.latencies.extend(result.latencies)
            total.finished.extend(result.finished)
        return total


def _bodies(n: int) -> list[bytes]:
    """n valid, distinct `PUT /trainings/{id}` bodies (as tests/catalog/kit.py builds them): the
    demo catalog's categories and topics, a description that names the class, institutions of the
    platform, prices in whole thousands, one in OFFLINE_EVERY offline in a real regency."""
    rng = random.Random(DATA_SEED)
    topics = [(category, topic) for category, names in TOPICS.items() for topic in names]
    regencies = [r.code for r in regions.regencies()]
    bodies = []
    for i in range(n):
        category, topic = rng.choice(topics)
        price = rng.randrange(100, 1001) * 1000
        institution = i % INSTITUTIONS
        body: dict[str, Any] = {
            "title": f"{topic} Angkatan {i}",
            "category": category,
            "description": (
                f"Kelas {topic} angkatan {i} mengajarkan {topic.lower()} dari dasar sampai siap "
                f"kerja. Peserta angkatan {i} berlatih langsung dengan tugas mingguan, "
                f"mendapat umpan balik dari instruktur, dan menyusun portofolio. Kode kelas "
                f"{i:07d}; kuota {rng.randrange(20, 200)} peserta; jadwal ke-{i % 97 + 1}."
            ),
            "price_idr": price,
            "price_outside_program_idr": price + rng.randrange(0, 500) * 1000,
            "duration_hours": rng.randrange(4, 60),
            "sessions": rng.randrange(1, 20),
            "delivery": rng.choice(["self_paced", "self_paced", "webinar"]),
            "institution": {
                "external_id": f"bench-lpk-{institution:03d}",
                "name": f"LPK Benchmark {institution:03d}",
                "owned_by_platform": institution == 0,
            },
            "url": f"https://platform.example/kelas/bench-{i:07d}",
        }
        if i % OFFLINE_EVERY == 0:
            body["delivery"] = "offline"
            body["location"] = {
                "address": f"Jl. Pelatihan No. {i % 300 + 1}",
                "regency_code": rng.choice(regencies),
                "lat": round(rng.uniform(-8.5, 3.5), 5),
                "lon": round(rng.uniform(95.5, 140.5), 5),
            }
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies
