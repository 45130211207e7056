"""The dashboards as a latency benchmark: every dashboard page (the index, the five dashboards, the
public transparency page with its cache emptied first) requested n times through Django's test
client as a signed-in operator, against the limit of the plain SQL that reads the same page's
rows from its fact table, measured in the same run, page by page in alternating order.

The acceptance (issue 9): with 1:100 simulation data the slowest page answers in ≤ 1 s on
PostgreSQL — `max_page_ms` here.

Data: in a scratch database (the default) a small simulated 2020 is played first (SMOKE_SCALE,
about 1.200 registrants, not timed); with `--in-place` the configured database's own data is read
(e.g. a database a `prakerja simulate --scale 0.01` filled). Either way the facts are refreshed
first (timed apart: `refresh_seconds`); the operator the requests sign in as, their session and
second-factor device are made in a transaction rolled back at the end, so `--in-place` leaves only
the refreshed facts behind.
"""

import statistics
import time
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from prakerja.dashboards.facts import facts_refresh
from prakerja.dashboards.models import DisbursementDay, FunnelDay, MoneyDay, SurveyDay, WaveDay
from prakerja.dashboards.public_views import CACHE_KEY
from prakerja.dashboards.views import DASHBOARDS
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.timing import stopwatch

SMOKE_SCALE = 0.00005  # of 2020's 23,17 million registrants
SMOKE_SEED = 2020

FUNNEL = FunnelDay._meta.db_table
WAVES = WaveDay._meta.db_table
MONEY = MoneyDay._meta.db_table
DISBURSEMENT = DisbursementDay._meta.db_table
SURVEYS = SurveyDay._meta.db_table

# Per page: the plain SQL reading its rows from the facts (what the page must at least do).
LIMIT_SQL: dict[str, list[str]] = {
    "index": ["SELECT refreshed_at FROM dashboards_refreshstate WHERE id = 1"],
    "pendaftaran": [f"SELECT day, stage, SUM(count) FROM {FUNNEL} GROUP BY day, stage"],  # noqa: S608
    "gelombang": [
        f"SELECT wave_number, measure, SUM(count) FROM {WAVES} GROUP BY wave_number, measure"  # noqa: S608
    ],
    "dana": [
        f"SELECT day, measure, SUM(count), SUM(amount_idr) FROM {MONEY} GROUP BY day, measure"  # noqa: S608
    ],
    "penyaluran": [
        f"SELECT institution_id, status, reason_code, SUM(count), SUM(amount_idr) "  # noqa: S608
        f"FROM {DISBURSEMENT} GROUP BY institution_id, status, reason_code"
    ],
    "survei": [f"SELECT question, answer, SUM(count) FROM {SURVEYS} GROUP BY question, answer"],  # noqa: S608
    "transparansi": [
        f"SELECT stage, SUM(count) FROM {FUNNEL} GROUP BY stage",  # noqa: S608
        f"SELECT measure, SUM(count) FROM {WAVES} GROUP BY measure",  # noqa: S608
        f"SELECT measure, SUM(count), SUM(amount_idr) FROM {MONEY} GROUP BY measure",  # noqa: S608
        f"SELECT question, answer, SUM(count) FROM {SURVEYS} GROUP BY question, answer",  # noqa: S608
    ],
}


def _pages() -> dict[str, str]:
    pages = {"index": reverse("dashboards:index")}
    pages |= {d.slug: reverse("dashboards:page", kwargs={"slug": d.slug}) for d in DASHBOARDS}
    pages["transparansi"] = reverse("transparency:index")
    return pages


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _operator_client() -> Client:
    """A superuser signed in with a passed second factor (rolled back with the run)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.create_superuser(
        username="bench-dashboards", email="bench@example.invalid", password=None
    )
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def run(n: int, log: Callable[[str], None], in_place: bool = False) -> BenchResult:
    if not in_place:
        from prakerja.simulation.run import simulate

        with stopwatch() as setup:
            simulate(scale=SMOKE_SCALE, seed=SMOKE_SEED, log=lambda line: None)
        log(f"setup: a simulated 2020 at scale {SMOKE_SCALE:g} in {setup.seconds:.1f} s")
    with stopwatch() as refresh:
        outcome = facts_refresh()
    log(f"facts refreshed ({'full' if outcome.full else 'incremental'}) in {refresh.seconds:.2f} s")
    log("fact rows: " + ", ".join(f"{k} {v}" for k, v in outcome.rows.items()))
    if connection.vendor == "postgresql":  # statistics for the fact tables (autovacuum may be off)
        with connection.cursor() as cursor:
            for table in (FUNNEL, WAVES, MONEY, DISBURSEMENT, SURVEYS):
                cursor.execute(f"ANALYZE {table}")

    pages = _pages()
    system: dict[str, list[float]] = {name: [] for name in pages}
    limit: dict[str, list[float]] = {name: [] for name in pages}
    with transaction.atomic():
        client = _operator_client()
        for url in pages.values():  # warm-up, and every page answers
            cache.delete(CACHE_KEY)
            status = client.get(url).status_code
            if status != 200:
                raise RuntimeError(f"{url} answered {status}")
        with connection.cursor() as cursor:
            for i in range(n):
                order = list(pages.items())
                for name, url in order if i % 2 == 0 else reversed(order):
                    cache.delete(CACHE_KEY)
                    start = time.perf_counter()
                    client.get(url)
                    system[name].append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    for sql in LIMIT_SQL[name]:
                        cursor.execute(sql)
                        cursor.fetchall()
                    limit[name].append((time.perf_counter() - start) * 1000)
        transaction.set_rollback(True)

    per_page = {
        name: {
            "p95_ms": round(_percentile(times, 95), 2),
            "max_ms": round(max(times), 2),
            "limit_p95_ms": round(_percentile(limit[name], 95), 2),
        }
        for name, times in system.items()
    }
    every = [ms for times in system.values() for ms in times]
    every_limit = [ms for times in limit.values() for ms in times]
    slowest = max(every)
    log(
        f"slowest page {slowest:.1f} ms; "
        + ", ".join(f"{k} {v['max_ms']}" for k, v in per_page.items())
    )
    return BenchResult(
        seconds=sum(every) / 1000,
        limit_seconds=sum(every_limit) / 1000,
        extra={
            "database": connection.vendor,
            "in_place": in_place,
            "requests": len(every),
            "p50_ms": round(_percentile(every, 50), 2),
            "p95_ms": round(_percentile(every, 95), 2),
            "max_page_ms": round(slowest, 2),
            "pages": per_page,
            "refresh_seconds": round(refresh.seconds, 3),
            "refresh_full": outcome.full,
            "fact_rows": outcome.rows,
        },
    )
