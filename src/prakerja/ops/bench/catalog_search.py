"""Catalog search (`trainings_search`) over a catalog of n trainings, as a latency benchmark: a
fixed, seeded mix of searches — words with filters, filters alone, sorts by price, rating and
popularity, distance sorts within a province — each timed alone, against the limit of the same
mix answered by plain SQL over the same indexes — the capped count, then the page's ids with one
statement per tier of the order (relevance: title matches, then the rest; rating: trainings with
enough reviews, then the rest; distance: offline trainings, then online ones), just as the system
splits them — measured in the same run, query by query in alternating order.

The limit is the plainest SQL that gives the same answer: each of its pages must equal the
system's (same ids in the same order, same total), or the run fails. The system's extra time is
the scheme and catalog-mean look-ups, the ORM building the statements, and fetching the page's
trainings with their platforms and institutions.

Setup, not timed: the demo catalog generator (catalog.demo) at size n — 8 platforms, 104
institutions, n trainings — then the planner's statistics as a catalog in use would have them
(VACUUM ANALYZE on PostgreSQL, ANALYZE on SQLite).
"""

import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from prakerja.catalog.demo import TOPICS, demo_catalog_seed
from prakerja.catalog.models import Delivery, Training
from prakerja.catalog.search import (
    COUNT_CAP,
    Page,
    RatingPrior,
    province_regency_codes,
    query_words,
    rating_prior,
    regency_centroid,
    search_options,
    trainings_search,
)
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.timing import stopwatch

MIX_SEED = 2020
QUERIES = 400
KINDS = ("text", "filters", "sorts", "distance")
PER_PAGE = 20
EARTH_RADIUS_KM = 6371.0
T = Training._meta.db_table
FTS = "catalog_training_fts"


@dataclass
class Search:
    kind: str
    params: dict[str, Any]


@dataclass
class Timings:
    system_ms: list[float] = field(default_factory=list)
    limit_ms: list[float] = field(default_factory=list)


def run(n: int, log: Callable[[str], None]) -> BenchResult:
    with stopwatch() as setup:
        made = demo_catalog_seed(n=n)
        log(f"setup: {made.trainings} trainings, {made.institutions} institutions")
        with connection.cursor() as cursor:  # the statistics a catalog in use would have
            cursor.execute(
                f"VACUUM ANALYZE {T}" if connection.vendor == "postgresql" else "ANALYZE"
            )
    log(f"setup: {setup.seconds:.1f} s")

    mix = _mix(MIX_SEED, QUERIES)
    log(f"{len(mix)} searches: " + ", ".join(f"{k} {sum(s.kind == k for s in mix)}" for k in KINDS))
    for search in mix:  # warm-up, and the check that both answer the same
        _check_same(search, _system(search), _limit(search, rating_prior()))

    timings = {kind: Timings() for kind in KINDS}
    for i, search in enumerate(mix):
        prior = rating_prior()
        first, second = (_time_system, _time_limit) if i % 2 == 0 else (_time_limit, _time_system)
        first(search, prior, timings[search.kind])
        second(search, prior, timings[search.kind])

    system = [ms for t in timings.values() for ms in t.system_ms]
    limit = [ms for t in timings.values() for ms in t.limit_ms]
    p95, limit_p95 = _percentile(system, 95), _percentile(limit, 95)
    log(f"system p50 {_percentile(system, 50):.1f} ms, p95 {p95:.1f} ms")
    log(f"limit  p50 {_percentile(limit, 50):.1f} ms, p95 {limit_p95:.1f} ms")
    return BenchResult(
        seconds=sum(system) / 1000,
        limit_seconds=sum(limit) / 1000,
        extra={
            "database": connection.vendor,
            "queries": len(mix),
            "p50_ms": round(_percentile(system, 50), 3),
            "p95_ms": round(p95, 3),
            "limit_p50_ms": round(_percentile(limit, 50), 3),
            "limit_p95_ms": round(limit_p95, 3),
            "p95_ratio_to_limit": round(p95 / limit_p95, 3) if limit_p95 else None,
            "p95_ms_by_kind": {
                kind: [
                    round(_percentile(t.system_ms, 95), 2),
                    round(_percentile(t.limit_ms, 95), 2),
                ]
                for kind, t in timings.items()
            },
            "setup_seconds": round(setup.seconds, 1),
        },
    )


# --- the mix ------------------------------------------------------------------------------------


def _mix(seed: int, count: int) -> list[Search]:
    """`count` searches, a quarter of each kind, the same in every run for the same catalog."""
    rng = random.Random(seed)
    options = search_options()
    platforms = [code for code, _name in options.platforms]
    words = sorted({w for topics in TOPICS.values() for t in topics for w in query_words(t)})
    topics = [t for ts in TOPICS.values() for t in ts]
    provinces = sorted(
        {
            code[:2]
            for code in Training.objects.filter(delivery=Delivery.OFFLINE)
            .values_list("regency_code", flat=True)
            .distinct()
        }
    )
    mix = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        page = 1 if rng.random() < 0.7 else rng.randint(2, 3)
        params: dict[str, Any] = {"page": page, "per_page": PER_PAGE}
        if kind == "text":
            topic_words = query_words(rng.choice(topics))
            params["q"] = " ".join(topic_words[:2]) if rng.random() < 0.6 else rng.choice(words)
            if rng.random() < 0.3:
                params["category"] = rng.choice(options.categories)
            if rng.random() < 0.3:
                params["price_max"] = rng.choice([250, 300, 500, 750]) * 1000
            if rng.random() < 0.2:
                params["delivery"] = rng.choice(Delivery.values)
            if rng.random() < 0.2:
                params["platform"] = rng.choice(platforms)
            params["sort"] = "relevance" if rng.random() < 0.8 else "price_asc"
        elif kind == "filters":
            params["category"] = rng.choice(options.categories)
            if rng.random() < 0.5:
                params["platform"] = rng.choice(platforms)
            if rng.random() < 0.5:
                low = rng.choice([100, 150, 200, 300]) * 1000
                params |= {"price_min": low, "price_max": low + rng.choice([100, 200, 400]) * 1000}
            if rng.random() < 0.3:
                params["delivery"] = rng.choice(Delivery.values)
            params["sort"] = rng.choice(["price_asc", "price_desc", "popularity"])
        elif kind == "sorts":
            params["sort"] = rng.choice(["rating", "rating", "popularity", "price_asc"])
            if rng.random() < 0.5:
                params["category"] = rng.choice(options.categories)
            elif rng.random() < 0.5:
                params["delivery"] = rng.choice(Delivery.values)
        else:
            province = rng.choice(provinces)
            home = rng.choice([c for c in province_regency_codes(province) if regency_centroid(c)])
            params |= {"province": province, "home_regency": home, "sort": "distance"}
        mix.append(Search(kind, params))
    return mix


# --- timing --------------------------------------------------------------------------------------


def _system(search: Search) -> Page:
    return trainings_search(**search.params)


def _time_system(search: Search, prior: RatingPrior, timings: Timings) -> None:
    start = time.perf_counter()
    _system(search)
    timings.system_ms.append((time.perf_counter() - start) * 1000)


def _time_limit(search: Search, prior: RatingPrior, timings: Timings) -> None:
    start = time.perf_counter()
    _limit(search, prior)
    timings.limit_ms.append((time.perf_counter() - start) * 1000)


def _percentile(values: list[float], percent: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _check_same(search: Search, page: Page, limit: tuple[list[int], int]) -> None:
    ids, counted = limit
    if [hit.id for hit in page.items] != ids or page.total != min(counted, COUNT_CAP):
        raise RuntimeError(
            f"the limit's answer differs for {search.params}: "
            f"system {[h.id for h in page.items]} of {page.total}, limit {ids} of {counted}"
        )


# --- the limit: plain SQL ------------------------------------------------------------------------


def _limit(search: Search, prior: RatingPrior) -> tuple[list[int], int]:
    """The page's ids and the capped count by plain statements: the count, then the page from
    each tier of the order in turn (a tier counted only when the page starts past its end)."""
    p = search.params
    postgres = connection.vendor == "postgresql"
    words = query_words(p.get("q", ""))
    base, base_args = _limit_filters(p)
    text, text_args = _limit_text(words, postgres, title_only=False)
    found = f"{base} AND {text}" if words else base
    found_args = [*base_args, *text_args] if words else base_args
    per_page = p.get("per_page", PER_PAGE)
    offset = (p.get("page", 1) - 1) * per_page
    ids: list[int] = []
    with connection.cursor() as cursor:
        counted = _limit_count(cursor, found, found_args)
        if offset >= min(counted, COUNT_CAP):
            return ids, counted
        tiers = _limit_tiers(p, words, prior, postgres, (base, base_args), (found, found_args))
        for number, (condition, args, order, order_args) in enumerate(tiers):
            cursor.execute(
                f"SELECT {T}.id FROM {T} WHERE {condition} ORDER BY {order} LIMIT %s OFFSET %s",  # noqa: S608
                [*args, *order_args, per_page - len(ids), offset],
            )
            rows = [row[0] for row in cursor.fetchall()]
            if rows:
                ids += rows
                offset = 0
            elif number < len(tiers) - 1:
                offset -= _limit_count(cursor, condition, args)
            if len(ids) == per_page:
                break
    return ids, counted


def _limit_count(cursor: Any, condition: str, args: list[Any]) -> int:
    cursor.execute(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {T} WHERE {condition} LIMIT %s) counted",  # noqa: S608
        [*args, COUNT_CAP + 1],
    )
    return int(cursor.fetchone()[0])


def _limit_filters(p: dict[str, Any]) -> tuple[str, list[Any]]:
    where, args = [f"{T}.status = 'active'"], []
    for column in ("category", "delivery"):
        if p.get(column):
            where.append(f"{T}.{column} = %s")
            args.append(p[column])
    if p.get("platform"):
        where.append(f"{T}.platform_id = (SELECT id FROM partners_partner WHERE code = %s)")  # noqa: S608
        args.append(p["platform"])
    if p.get("price_min") is not None:
        where.append(f"{T}.price_idr >= %s")
        args.append(p["price_min"])
    if p.get("price_max") is not None:
        where.append(f"{T}.price_idr <= %s")
        args.append(p["price_max"])
    if p.get("province"):
        codes = province_regency_codes(p["province"])
        marks = ", ".join(["%s"] * len(codes))
        where.append(f"{T}.delivery = 'offline' AND {T}.regency_code IN ({marks})")
        args += codes
    return " AND ".join(where), args


def _limit_text(words: list[str], postgres: bool, *, title_only: bool) -> tuple[str, list[Any]]:
    if postgres:
        column = "title_vector" if title_only else "search_vector"
        return f"{T}.{column} @@ to_tsquery('simple', %s)", [" & ".join(f"{w}:*" for w in words)]
    terms = " AND ".join(f'"{w}"*' for w in words)
    match = f"title : ({terms})" if title_only else terms
    return f"{T}.id IN (SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s)", [match]  # noqa: S608


Tier = tuple[str, list[Any], str, list[Any]]  # condition, its arguments, order, its arguments


def _limit_tiers(
    p: dict[str, Any],
    words: list[str],
    prior: RatingPrior,
    postgres: bool,
    base: tuple[str, list[Any]],
    found: tuple[str, list[Any]],
) -> list[Tier]:
    popular = f"{T}.buyers DESC, {T}.id"
    sort = p.get("sort", "relevance")
    condition, args = found
    if sort == "price_asc":
        return [(condition, args, f"{T}.price_idr, {T}.id", [])]
    if sort == "price_desc":
        return [(condition, args, f"{T}.price_idr DESC, {T}.id DESC", [])]
    if sort == "rating":
        cast = "double precision" if postgres else "real"
        shown = f"{T}.rating_count >= {int(prior.weight)}"
        bayes = f"(%s + CAST({T}.rating_sum AS {cast})) / (%s + CAST({T}.rating_count AS {cast}))"
        return [
            (
                f"{condition} AND {shown}",
                args,
                f"{bayes} DESC, {T}.rating_count DESC, {T}.id",
                [prior.weight * prior.mean, float(prior.weight)],
            ),
            (f"{condition} AND NOT ({shown})", args, popular, []),
        ]
    if sort == "distance":
        lat0, lon0 = (math.radians(v) for v in regency_centroid(p["home_regency"]))  # type: ignore[union-attr]
        located = f"{T}.delivery = 'offline' AND {T}.lat IS NOT NULL AND {T}.lon IS NOT NULL"
        least = "LEAST" if postgres else "MIN"
        haversine = (
            f"%s * ASIN({least}(%s, SQRT(POWER(SIN((RADIANS({T}.lat) - %s) / %s), 2) "
            f"+ %s * COS(RADIANS({T}.lat)) * POWER(SIN((RADIANS({T}.lon) - %s) / %s), 2))))"
        )
        return [
            (
                f"{condition} AND {located}",
                args,
                f"{haversine}, {popular}",
                [2 * EARTH_RADIUS_KM, 1.0, lat0, 2.0, math.cos(lat0), lon0, 2.0],
            ),
            (f"{condition} AND NOT ({located})", args, popular, []),
        ]
    if sort == "relevance" and words:
        in_title, title_args = _limit_text(words, postgres, title_only=True)
        return [
            (f"{base[0]} AND {in_title}", [*base[1], *title_args], popular, []),
            (f"{condition} AND NOT ({in_title})", [*args, *title_args], popular, []),
        ]
    return [(condition, args, popular, [])]
