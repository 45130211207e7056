"""Catalog search for participants (program.md §4 and §7): full text, filters, sorts and pages.

Only ``active`` trainings are found. The rules a participant sees:

- **Full text** over title, category and description. Every word of the query must be the start of
  a word of the training: "jahit" finds "Jahitan" but not "Menjahit" (no stemming: Indonesian
  affixes are not removed). Words are split on anything that is not a letter or a digit, so
  "e-commerce" is the two words "e" and "commerce", in the query and in the text alike. Common
  function words ("untuk", "dan", "di", …, ``STOPWORDS``) are left out of the query; a query of
  nothing else finds every training. PostgreSQL matches generated ``tsvector`` columns (the
  ``simple`` configuration) through GIN indexes; SQLite an FTS5 table kept in step by triggers.
  Both are made by migration ``catalog.0002_training_search``.
- **Relevance** (the default sort): trainings with every word in the *title* first, then the
  other matches (a word found only in the category or description); within each, most bought
  first. Without a query, relevance is simply most bought first. The same rule on both databases.
  No order looks at who owns the institution: a platform's own trainings are disclosed, never
  favoured (program.md §7).
- **Filters**: category (exact), platform (partner code), price range (whole rupiah, inclusive),
  delivery, and province — which means *offline trainings held in that province* (an online
  training has no place, so the province filter leaves it out).
- **Rating**: a training's rating is shown only once it has at least the active scheme's
  ``rating_min_reviews`` (m) reviews, and what is shown is the Bayesian average
  ``(m × C + sum of stars) / (m + number of reviews)``, where C is the mean star of all reviews of
  all active trainings (``Σ rating_sum / Σ rating_count``; 3, the middle of the 1–5 scale, while
  there are no reviews). A training with few reviews is pulled towards the catalog's mean, so a
  handful of five-star reviews does not outrank hundreds averaging 4,7. C is cached for
  ``RATING_PRIOR_SECONDS``.
- **Sort by rating**: the trainings whose rating is shown, best Bayesian average first (then more
  reviews first); after them the others, most bought first.
- **Sort by distance** from the participant's home regency (its reference point in
  ``data/regency-centroids.csv``) to an offline training's coordinates: the haversine formula on a
  sphere of radius 6.371 km. Online trainings have no distance: they are **listed after** the
  offline ones, most bought first, rather than left out, so that changing the sort never changes
  what is found. Filter by delivery or province to see offline trainings only. Without a home
  regency no training has a distance, so all of them come in that second tier: most bought first
  (rather than a refusal, which would make the sort depend on another parameter).
- A price range whose lowest price is above its highest simply finds nothing.
- **Prices** sort cheapest or dearest first; **popularity** is the number of buyers.
- **Pages** of ``per_page`` (at most ``PER_PAGE_MAX``). Ties are broken by id, so pages never
  overlap. The total is counted up to ``COUNT_CAP``; above it ``total`` is ``COUNT_CAP`` and
  ``total_capped`` is true (the page says "more than 1.000"), and pages stop there: nobody pages through
  a thousand trainings on a phone, and counting a hundred thousand would cost every search.

A sort in two tiers (relevance, rating, distance) reads its first tier and, when the page reaches
past it, the second: each tier is one index-friendly query, where ordering by "first tier, then
the rest" in one query would evaluate the whole catalog. One more query fetches the page's
trainings with their platforms and institutions.
"""

import csv
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.core.cache import cache as django_cache
from django.db import connection
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt

from prakerja.catalog.models import Delivery, Training, TrainingStatus
from prakerja.common.errors import ValidationFailed
from prakerja.registration import regions

SORTS = ("relevance", "price_asc", "price_desc", "rating", "popularity", "distance")
PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 50
COUNT_CAP = 1000
MAX_QUERY_WORDS = 8
MAX_WORD_LENGTH = 40
# Function words that would match nearly every title ("… untuk Pemula"), Indonesian and English.
_STOPWORD_TEXT = (
    "dan di ke dari untuk yang dengan bagi dalam atau pada secara sampai oleh the of and for to in"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
EARTH_RADIUS_KM = 6371.0
RATING_PRIOR_SECONDS = 60
RATING_PRIOR_WITHOUT_REVIEWS = 3.0  # the middle of the 1–5 star scale
RATING_PRIOR_CACHE_KEY = "catalog:rating-prior"
OPTIONS_SECONDS = 300
OPTIONS_CACHE_KEY = "catalog:search-options"
CENTROIDS = Path(__file__).resolve().parent / "data" / "regency-centroids.csv"
WORD = re.compile(r"[^\W_]+")
FTS = "catalog_training_fts"


@dataclass(frozen=True)
class TrainingHit:
    """One training as a participant sees it in the results."""

    id: int
    title: str
    category: str
    description: str
    platform_code: str
    platform_name: str
    institution_name: str
    owned_by_platform: bool  # disclosed: the platform sells its own institution's training
    delivery: str
    price_idr: int
    duration_hours: int
    url: str
    regency_code: str  # offline only
    rating: float | None  # the Bayesian average, or None while too few reviews
    rating_count: int
    buyers: int
    distance_km: float | None  # offline only, and only when a home regency is known


@dataclass(frozen=True)
class Page:
    items: list[TrainingHit]
    total: int  # at most COUNT_CAP
    total_capped: bool  # more than COUNT_CAP were found
    page: int
    pages: int
    per_page: int
    rating_min_reviews: int


@dataclass(frozen=True)
class SearchOptions:
    """What the filters offer: the categories and platforms of active trainings."""

    categories: list[str]
    platforms: list[tuple[str, str]]  # (code, name)


@dataclass(frozen=True)
class RatingPrior:
    mean: float  # C
    weight: int  # m, the scheme's rating_min_reviews


def trainings_search(
    *,
    q: str = "",
    category: str = "",
    platform: str = "",
    price_min: int | None = None,
    price_max: int | None = None,
    delivery: str = "",
    province: str = "",
    sort: str = "relevance",
    home_regency: str = "",
    page: int = 1,
    per_page: int = PER_PAGE_DEFAULT,
) -> Page:
    """Active trainings matching every given filter, sorted and paged (see the module's rules).

    Refuses with ValidationFailed, details by parameter: CHOICE_INVALID, PRICE_INVALID,
    REGION_UNKNOWN, PAGE_INVALID. Each is a rule of its parameter alone: no two parameters can
    disagree (a distance sort without home regency sorts by buyers, an empty price range finds
    nothing)."""
    home = _validate(
        category=category,
        price_min=price_min,
        price_max=price_max,
        delivery=delivery,
        province=province,
        sort=sort,
        home_regency=home_regency,
        page=page,
        per_page=per_page,
    )
    words = query_words(q)
    prior = rating_prior()
    base = _filtered(
        category=category,
        platform=platform,
        price_min=price_min,
        price_max=price_max,
        delivery=delivery,
        province=province,
    )
    found = base.filter(_text_match(words, title_only=False)) if words else base
    counted = _capped_count(found)
    total = min(counted, COUNT_CAP)
    pages = max(1, math.ceil(total / per_page))
    offset = (page - 1) * per_page
    ids = (
        _page_ids(_tiers(base, found, words, sort=sort, home=home, prior=prior), offset, per_page)
        if offset < total
        else []
    )
    return Page(
        items=_hits(ids, home, prior),
        total=total,
        total_capped=counted > COUNT_CAP,
        page=page,
        pages=pages,
        per_page=per_page,
        rating_min_reviews=prior.weight,
    )


def search_options() -> SearchOptions:
    """The categories and the platforms that have active trainings, by name (cached)."""
    options = django_cache.get(OPTIONS_CACHE_KEY)
    if options is None:
        active = Training.objects.filter(status=TrainingStatus.ACTIVE)
        categories = sorted(set(active.values_list("category", flat=True).distinct()))
        platforms = sorted(
            set(active.values_list("platform__code", "platform__name").distinct()),
            key=lambda platform: (platform[1].lower(), platform[0]),
        )
        options = SearchOptions(categories=categories, platforms=platforms)
        django_cache.set(OPTIONS_CACHE_KEY, options, OPTIONS_SECONDS)
    return options


def query_words(q: str) -> list[str]:
    """The words of a query as both databases split text (letters and digits; anything else
    separates), lower-cased, without STOPWORDS, at most MAX_QUERY_WORDS of MAX_WORD_LENGTH."""
    words = [w[:MAX_WORD_LENGTH] for w in WORD.findall(q.lower()) if w not in STOPWORDS]
    return words[:MAX_QUERY_WORDS]


def bayesian_rating(*, rating_sum: int, rating_count: int, prior: RatingPrior) -> float | None:
    """The rating a participant is shown, or None below the scheme's minimum number of reviews."""
    if rating_count < prior.weight:
        return None
    return (prior.weight * prior.mean + rating_sum) / (prior.weight + rating_count)


def rating_prior() -> RatingPrior:
    """m from the active scheme; C, the mean star over all reviews of active trainings (cached)."""
    from prakerja.waves.selectors import scheme_active

    weight = max(1, scheme_active().rating_min_reviews)
    mean = django_cache.get(RATING_PRIOR_CACHE_KEY)
    if mean is None:
        totals = Training.objects.filter(
            status=TrainingStatus.ACTIVE, rating_count__gt=0
        ).aggregate(stars=Sum("rating_sum"), reviews=Sum("rating_count"))
        reviews = totals["reviews"] or 0
        mean = totals["stars"] / reviews if reviews else RATING_PRIOR_WITHOUT_REVIEWS
        django_cache.set(RATING_PRIOR_CACHE_KEY, mean, RATING_PRIOR_SECONDS)
    return RatingPrior(mean=float(mean), weight=weight)


def search_cache_forget() -> None:
    """Drop the cached C and filter options, e.g. after trainings or reviews were loaded in bulk."""
    django_cache.delete_many([RATING_PRIOR_CACHE_KEY, OPTIONS_CACHE_KEY])


@cache
def regency_centroids() -> dict[str, tuple[float, float]]:
    """Regency code ("32.73") -> (lat, lon) of its reference point; see data/README.md."""
    with CENTROIDS.open(newline="", encoding="utf-8") as source:
        return {
            row["code"]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(source)
        }


def regency_centroid(code: str) -> tuple[float, float] | None:
    return regency_centroids().get(code)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km, the formula the database evaluates for a distance sort."""
    (lat1, lon1), (lat2, lon2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def province_regency_codes(province: str) -> list[str]:
    """Every regency code of a province, in the 2020 and the current tables."""
    return _province_regency_codes(province)


def province_codes() -> list[str]:
    """The province codes the province filter takes (those with regencies), for the API's enum."""
    candidates = {p.code for p in regions.provinces()} | {c[:2] for c in regency_centroids()}
    return sorted(code for code in candidates if _province_regency_codes(code))


def home_regency_codes() -> list[str]:
    """The regency codes distances can be measured from (those with a reference point)."""
    return sorted(regency_centroids())


# --- validation and filters ----------------------------------------------------------------------


def _validate(
    *,
    category: str,
    price_min: int | None,
    price_max: int | None,
    delivery: str,
    province: str,
    sort: str,
    home_regency: str,
    page: int,
    per_page: int,
) -> tuple[float, float] | None:
    problems: dict[str, str] = {}
    if sort not in SORTS:
        problems["sort"] = "CHOICE_INVALID"
    if delivery and delivery not in Delivery.values:
        problems["delivery"] = "CHOICE_INVALID"
    if province and not _province_regency_codes(province):
        problems["province"] = "REGION_UNKNOWN"
    if len(category) > Training._meta.get_field("category").max_length:  # type: ignore[operator]
        problems["category"] = "CHOICE_INVALID"
    for name, price in (("price_min", price_min), ("price_max", price_max)):
        if price is not None and (
            isinstance(price, bool) or not isinstance(price, int) or price < 0
        ):
            problems[name] = "PRICE_INVALID"
    if page < 1:
        problems["page"] = "PAGE_INVALID"
    if not 1 <= per_page <= PER_PAGE_MAX:
        problems["per_page"] = "PAGE_INVALID"
    home = None
    if home_regency:
        home = regency_centroid(home_regency)
        if home is None:
            problems["home_regency"] = "REGION_UNKNOWN"
    if problems:
        raise ValidationFailed(details=problems)
    return home


@cache
def _province_regency_codes(province: str) -> list[str]:
    if len(province) != 2 or not province.isdigit():
        return []
    known = {r.code for r in regions.regencies(province)} | set(regency_centroids())
    return sorted(code for code in known if code.startswith(f"{province}."))


def _filtered(
    *,
    category: str,
    platform: str,
    price_min: int | None,
    price_max: int | None,
    delivery: str,
    province: str,
) -> QuerySet[Training]:
    found = Training.objects.filter(status=TrainingStatus.ACTIVE)
    if category:
        found = found.filter(category=category)
    if platform:
        found = found.filter(platform__code=platform)
    if price_min is not None:
        found = found.filter(price_idr__gte=price_min)
    if price_max is not None:
        found = found.filter(price_idr__lte=price_max)
    if delivery:
        found = found.filter(delivery=delivery)
    if province:
        # By the province's regency codes ("32.73", …) rather than LIKE '32.%', which a btree
        # index serves on PostgreSQL only with a pattern operator class.
        found = found.filter(
            delivery=Delivery.OFFLINE, regency_code__in=_province_regency_codes(province)
        )
    return found


def _text_match(words: list[str], *, title_only: bool) -> Q:
    """Every word starts a word of the title (title_only) or of title, category or description."""
    if connection.vendor == "postgresql":
        column = "title_vector" if title_only else "search_vector"
        query = " & ".join(f"{word}:*" for word in words)
        return Q(
            RawSQL(  # noqa: S611 - a constant column name; the words are a parameter
                f"catalog_training.{column} @@ to_tsquery('simple', %s)",
                [query],
                output_field=BooleanField(),
            )
        )
    terms = " AND ".join(f'"{word}"*' for word in words)
    match = f"title : ({terms})" if title_only else terms
    sql = f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s"  # noqa: S608 - constant table name
    return Q(id__in=RawSQL(sql, [match]))  # noqa: S611 - the words are a parameter


# --- order and pages -----------------------------------------------------------------------------


def _tiers(
    base: QuerySet[Training],
    found: QuerySet[Training],
    words: list[str],
    *,
    sort: str,
    home: tuple[float, float] | None,
    prior: RatingPrior,
) -> list[QuerySet[Training]]:
    """The result in order: one ordered query, or two whose concatenation is the order.
    `found` is `base` (the filters) and the text match, if any."""
    popular = ("-buyers", "id")
    if sort == "price_asc":
        return [found.order_by("price_idr", "id")]
    if sort == "price_desc":
        return [found.order_by("-price_idr", "-id")]
    if sort == "rating":
        shown = Q(rating_count__gte=prior.weight)
        return [
            found.filter(shown)
            .alias(bayesian=_bayesian(prior))
            .order_by("-bayesian", "-rating_count", "id"),
            found.exclude(shown).order_by(*popular),
        ]
    if sort == "distance" and home is not None:
        located = Q(delivery=Delivery.OFFLINE, lat__isnull=False, lon__isnull=False)
        return [
            found.filter(located).alias(distance=_distance(home)).order_by("distance", *popular),
            found.exclude(located).order_by(*popular),
        ]
    if sort == "relevance" and words:
        # A title with every word matches the text too: the first tier needs no second index.
        in_title = _text_match(words, title_only=True)
        return [
            base.filter(in_title).order_by(*popular),
            found.exclude(in_title).order_by(*popular),
        ]
    return [found.order_by(*popular)]


def _page_ids(tiers: list[QuerySet[Training]], offset: int, limit: int) -> list[int]:
    """The ids at [offset, offset + limit) of the tiers' concatenation. A tier is counted only when
    the page starts past its end (offset < COUNT_CAP, so that count is exact)."""
    ids: list[int] = []
    for tier in tiers:
        rows = list(tier.values_list("id", flat=True)[offset : offset + limit - len(ids)])
        if rows:
            ids += rows
            offset = 0
        elif tier is not tiers[-1]:
            offset -= _capped_count(tier)
        if len(ids) == limit:
            break
    return ids


def _capped_count(found: QuerySet[Training]) -> int:
    """The number of rows, counted up to COUNT_CAP + 1 (more means "more than COUNT_CAP")."""
    return found.order_by()[: COUNT_CAP + 1].count()


def _bayesian(prior: RatingPrior) -> Any:
    # In floating point: a decimal literal would make PostgreSQL compute in (slow) numeric.
    return ExpressionWrapper(
        (Value(prior.weight * prior.mean) + Cast("rating_sum", FloatField()))
        / (Value(float(prior.weight)) + Cast("rating_count", FloatField())),
        output_field=FloatField(),
    )


def _distance(home: tuple[float, float]) -> Any:
    """Haversine from `home` to the training's coordinates, in km."""
    lat, lon = math.radians(home[0]), math.radians(home[1])
    half_dlat = (Radians("lat") - Value(lat)) / Value(2.0)
    half_dlon = (Radians("lon") - Value(lon)) / Value(2.0)
    h = Power(Sin(half_dlat), 2) + Value(math.cos(lat)) * Cos(Radians("lat")) * Power(
        Sin(half_dlon), 2
    )
    return ExpressionWrapper(
        Value(2 * EARTH_RADIUS_KM) * ASin(Least(Value(1.0), Sqrt(h))), output_field=FloatField()
    )


def _hits(
    ids: list[int], home: tuple[float, float] | None, prior: RatingPrior
) -> list[TrainingHit]:
    if not ids:
        return []
    rows = {
        t.pk: t
        for t in Training.objects.filter(pk__in=ids).select_related("platform", "institution")
    }
    hits = []
    for pk in ids:
        t = rows[pk]
        located = t.delivery == Delivery.OFFLINE and t.lat is not None and t.lon is not None
        distance = haversine_km(home, (t.lat, t.lon)) if home and located else None  # type: ignore[arg-type]
        hits.append(
            TrainingHit(
                id=t.pk,
                title=t.title,
                category=t.category,
                description=t.description,
                platform_code=t.platform.code,
                platform_name=t.platform.name,
                institution_name=t.institution.name,
                owned_by_platform=t.institution.owned_by_platform,
                delivery=t.delivery,
                price_idr=t.price_idr,
                duration_hours=t.duration_hours,
                url=t.url,
                regency_code=t.regency_code,
                rating=bayesian_rating(
                    rating_sum=t.rating_sum, rating_count=t.rating_count, prior=prior
                ),
                rating_count=t.rating_count,
                buyers=t.buyers,
                distance_km=distance,
            )
        )
    return hits
