"""Provider evaluation (program.md §4: "the PMO evaluates trainings, institutions and platforms from
ratings and reviews"; §7: ownership conflicts, price parity, fast completions, suspicious reviews).

One row per training, per institution or per platform, with:

* **orders**: the orders (buyers) of any status;
* **redemption rate**: redeemed-or-completed orders / orders;
* **completion rate**: completed orders / redeemed-or-completed orders;
* **expiry rate**: expired orders / orders;
* **median hours to complete**: the median of completed_at - redeemed_at over the completed orders,
  in hours (the mean of the two middle values for an even count);
* **rating**: the catalog's Bayesian average (catalog.search.bayesian_rating, the active scheme's
  rating_min_reviews as m and the catalog's mean star as C) of the level's summed rating_sum and
  rating_count; none below m reviews, as in the catalog. `mean_stars` is the plain mean;
* **flags**: ownership conflicts (trainings of an institution its platform owns), price parity
  (trainings whose price exceeds the price outside the program), fast completions (orders
  completed sooner after redemption than the training's duration), review anomalies (reviews
  flagged for identical text or a burst).

A rate with nothing to divide by is None (shown empty). Rates are rounded to 4 decimals, hours, stars
and ratings to 2: the console and its CSV show these very numbers.

Set-based: for a level, one GROUP BY over the trainings (or institutions or platforms), one over
the orders, one over the flagged reviews, and one ordered scan of the completion times whose
medians are picked on the way, keeping two values per group: five queries whatever the number of
trainings (the prior C is cached by the catalog).
"""

import csv
import datetime
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import astuple, dataclass, fields
from typing import IO, Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum

from prakerja.catalog.models import Institution, Training
from prakerja.catalog.search import RatingPrior, bayesian_rating, rating_prior
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.partners.models import Partner, PartnerKind

LEVELS = ("training", "institution", "platform")
DEFAULT_SORT = "-orders"


@dataclass(frozen=True)
class EvaluationRow:
    level: str
    id: int
    name: str  # the training's title, the institution's or the platform's name
    platform: str  # the platform's code
    institution: str  # the institution's name (training level), else ""
    status: str  # the training's status (training level), else ""
    trainings: int
    orders: int
    redeemed: int  # redeemed or completed
    completed: int
    expired: int
    redemption_rate: float | None
    completion_rate: float | None
    expiry_rate: float | None
    median_hours_to_complete: float | None
    reviews: int
    mean_stars: float | None
    rating: float | None
    ownership_conflicts: int
    price_parity_flags: int
    fast_completions: int
    review_anomalies: int


COLUMNS = tuple(f.name for f in fields(EvaluationRow))
# Columns a table can be sorted by (all but the level).
SORTABLE = tuple(c for c in COLUMNS if c != "level")


@dataclass(frozen=True)
class _Keys:
    """How each query groups for a level."""

    orders: str
    reviews: str


_KEYS = {
    "training": _Keys(orders="training_id", reviews="training_id"),
    "institution": _Keys(orders="training__institution_id", reviews="training__institution_id"),
    "platform": _Keys(orders="platform_id", reviews="training__platform_id"),
}
_REDEEMED = (OrderStatus.REDEEMED, OrderStatus.COMPLETED)
_TIMED = Q(status=OrderStatus.COMPLETED, completed_at__isnull=False, redeemed_at__isnull=False)


def provider_evaluation(level: str, *, sort: str = DEFAULT_SORT) -> list[EvaluationRow]:
    """Every training, institution or platform (`level`) with its figures, sorted by a column of
    EvaluationRow (`-` first for descending); empty values last either way, then by name and id.
    Refuses an unknown level or sort with ValueError (the console offers only valid ones)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    descending = sort.startswith("-")
    column = sort.removeprefix("-")
    if column not in SORTABLE:
        raise ValueError(f"unknown sort {sort!r}")
    keys = _KEYS[level]
    orders = _order_figures(keys.orders)
    medians = _medians(keys.orders, {k: v["timed"] for k, v in orders.items()})
    anomalies = dict(
        Review.objects.filter(Q(flag_identical_text=True) | Q(flag_burst=True))
        .values(keys.reviews)
        .annotate(n=Count("id"))
        .order_by()
        .values_list(keys.reviews, "n")
    )
    prior = rating_prior()
    rows = [
        _row(level, entity, orders.get(entity["id"], {}), medians, anomalies, prior)
        for entity in _entities(level)
    ]
    return _sorted(rows, column, descending)


def evaluation_csv(rows: Iterable[EvaluationRow], out: IO[str]) -> None:
    """The rows as CSV with a header of COLUMNS: numbers as the rows hold them, empty for None."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in astuple(row)])


# --- the queries --------------------------------------------------------------------------------


def _entities(level: str) -> Iterator[dict[str, Any]]:
    """The level's rows with their catalog figures: one query."""
    if level == "training":
        for t in Training.objects.values(
            "id",
            "title",
            "status",
            "platform__code",
            "institution__name",
            "institution__owned_by_platform",
            "flag_price_above_outside",
            "rating_sum",
            "rating_count",
        ).order_by():
            yield {
                "id": t["id"],
                "name": t["title"],
                "platform": t["platform__code"],
                "institution": t["institution__name"],
                "status": t["status"],
                "trainings": 1,
                "rating_sum": t["rating_sum"],
                "rating_count": t["rating_count"],
                "ownership_conflicts": int(t["institution__owned_by_platform"]),
                "price_parity_flags": int(t["flag_price_above_outside"]),
            }
        return
    catalog = {
        "n_trainings": Count("trainings"),
        "stars": Sum("trainings__rating_sum", default=0),
        "n_reviews": Sum("trainings__rating_count", default=0),
        "n_price_flags": Count("trainings", filter=Q(trainings__flag_price_above_outside=True)),
    }
    if level == "institution":
        institutions: Iterable[Mapping[str, Any]] = (
            Institution.objects.values("id", "name", "platform__code", "owned_by_platform")
            .annotate(**catalog)
            .order_by()
        )
        for i in institutions:
            yield {
                "id": i["id"],
                "name": i["name"],
                "platform": i["platform__code"],
                "institution": "",
                "status": "",
                "trainings": i["n_trainings"],
                "rating_sum": i["stars"],
                "rating_count": i["n_reviews"],
                "ownership_conflicts": i["n_trainings"] if i["owned_by_platform"] else 0,
                "price_parity_flags": i["n_price_flags"],
            }
        return
    platforms: Iterable[Mapping[str, Any]] = (
        Partner.objects.filter(kind=PartnerKind.PLATFORM)
        .values("id", "name", "code")
        .annotate(
            **catalog,
            n_owned=Count("trainings", filter=Q(trainings__institution__owned_by_platform=True)),
        )
        .order_by()
    )
    for p in platforms:
        yield {
            "id": p["id"],
            "name": p["name"],
            "platform": p["code"],
            "institution": "",
            "status": "",
            "trainings": p["n_trainings"],
            "rating_sum": p["stars"],
            "rating_count": p["n_reviews"],
            "ownership_conflicts": p["n_owned"],
            "price_parity_flags": p["n_price_flags"],
        }


def _order_figures(key: str) -> dict[int, dict[str, int]]:
    """Order counts grouped by `key`: one query."""
    found = (
        Order.objects.values(key)
        .annotate(
            orders=Count("id"),
            redeemed=Count("id", filter=Q(status__in=_REDEEMED)),
            completed=Count("id", filter=Q(status=OrderStatus.COMPLETED)),
            expired=Count("id", filter=Q(status=OrderStatus.EXPIRED)),
            fast=Count("id", filter=Q(flag_fast_completion=True)),
            timed=Count("id", filter=_TIMED),
        )
        .order_by()
    )
    return {row.pop(key): row for row in found}


def _medians(key: str, counts: dict[int, int]) -> dict[int, float]:
    """The median hours from redemption to completion per group: one scan ordered by group and
    time, keeping the one or two middle values of each group (its size is in `counts`)."""
    took = ExpressionWrapper(F("completed_at") - F("redeemed_at"), output_field=DurationField())
    scan = (
        Order.objects.filter(_TIMED)
        .annotate(took=took)
        .order_by(key, "took")
        .values_list(key, "took")
    )
    medians: dict[int, float] = {}
    group: int | None = None
    index = 0
    middle: list[datetime.timedelta] = []
    for found, duration in scan.iterator(chunk_size=10_000):
        if found != group:
            group, index, middle = found, 0, []
        n = counts.get(found, 0)
        if index in ((n - 1) // 2, n // 2):
            middle.append(duration)
            if index == n // 2:
                seconds = sum(d.total_seconds() for d in middle) / len(middle)
                medians[found] = round(seconds / 3600, 2)
        index += 1
    return medians


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(
    level: str,
    entity: dict[str, Any],
    orders: dict[str, int],
    medians: dict[int, float],
    anomalies: dict[int, int],
    prior: RatingPrior,
) -> EvaluationRow:
    n = orders.get("orders", 0)
    redeemed = orders.get("redeemed", 0)
    completed = orders.get("completed", 0)
    expired = orders.get("expired", 0)
    rating_sum, rating_count = int(entity["rating_sum"]), int(entity["rating_count"])
    rating = bayesian_rating(rating_sum=rating_sum, rating_count=rating_count, prior=prior)
    return EvaluationRow(
        level=level,
        id=entity["id"],
        name=entity["name"],
        platform=entity["platform"],
        institution=entity["institution"],
        status=entity["status"],
        trainings=entity["trainings"],
        orders=n,
        redeemed=redeemed,
        completed=completed,
        expired=expired,
        redemption_rate=_rate(redeemed, n),
        completion_rate=_rate(completed, redeemed),
        expiry_rate=_rate(expired, n),
        median_hours_to_complete=medians.get(entity["id"]),
        reviews=rating_count,
        mean_stars=round(rating_sum / rating_count, 2) if rating_count else None,
        rating=round(rating, 2) if rating is not None else None,
        ownership_conflicts=entity["ownership_conflicts"],
        price_parity_flags=entity["price_parity_flags"],
        fast_completions=orders.get("fast", 0),
        review_anomalies=anomalies.get(entity["id"], 0),
    )


def _sorted(rows: list[EvaluationRow], column: str, descending: bool) -> list[EvaluationRow]:
    # Stable sorts from the last key to the first: name and id ascending, then the column in its
    # direction with empty values after the others.
    rows = sorted(rows, key=lambda r: (r.name.casefold(), r.id))
    present = [r for r in rows if getattr(r, column) is not None]
    empty = [r for r in rows if getattr(r, column) is None]
    present.sort(key=lambda r: _sort_value(getattr(r, column)), reverse=descending)
    return present + empty


def _sort_value(value: object) -> Any:
    return value.casefold() if isinstance(value, str) else value
