"""`GET /api/v1/trainings`: the catalog search of the participant API (catalog.search has the
rules). Public; with a participant's bearer token the distance is measured from the person's home
regency unless `home_regency` is given. `GET /api/v1/trainings/{id}/reviews`: a training's reviews
(orders.reviews), public too."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from prakerja.catalog.search import (
    COUNT_CAP,
    PER_PAGE_DEFAULT,
    PER_PAGE_MAX,
    SORTS,
    TrainingHit,
    trainings_search,
)
from prakerja.common.errors import ValidationFailed
from prakerja.orders.reviews import PER_PAGE_DEFAULT as REVIEWS_PER_PAGE
from prakerja.orders.reviews import reviews_of_training

router = Router(tags=["catalog"])


class ErrorOut(Schema):
    error: dict


class PlatformOut(Schema):
    code: str
    name: str


class InstitutionOut(Schema):
    name: str
    owned_by_platform: bool = Field(
        description="The platform owns this institution: shown to participants as a disclosure."
    )


class TrainingOut(Schema):
    id: int
    title: str
    category: str
    description: str
    platform: PlatformOut
    institution: InstitutionOut
    delivery: str = Field(description="self_paced, webinar or offline.")
    price_idr: int = Field(description="Price in whole rupiah.")
    duration_hours: int
    url: str = Field(description="The training's page on its platform.")
    regency_code: str | None = Field(description="Where an offline training is held, else null.")
    rating: float | None = Field(
        description="Bayesian average of the reviews (1–5, two decimals), or null while the "
        "training has fewer reviews than `rating_min_reviews`."
    )
    rating_count: int
    buyers: int
    distance_km: float | None = Field(
        description="Distance in km (one decimal) from the home regency to an offline training; "
        "null for online trainings or without a home regency."
    )


class TrainingPageOut(Schema):
    items: list[TrainingOut]
    total: int = Field(description=f"Trainings found, counted up to {COUNT_CAP}.")
    total_capped: bool = Field(description=f"More than {COUNT_CAP} were found.")
    page: int
    pages: int
    per_page: int
    rating_min_reviews: int = Field(
        description="Reviews a training needs before its rating is shown (the scheme's setting)."
    )


class TrainingQuery(Schema):
    q: str = Field(
        "",
        description="Words; each must start a word of the title, category or description.",
    )
    category: str = Field("", description="Exact category, e.g. Kuliner.")
    platform: str = Field("", description="Platform (partner) code, e.g. tokopedia.")
    price_min: str = Field("", description="Lowest price in whole rupiah (digits).")
    price_max: str = Field("", description="Highest price in whole rupiah (digits).")
    delivery: str = Field("", description="self_paced, webinar or offline.")
    province: str = Field(
        "", description="Two-digit province code: offline trainings held in that province."
    )
    sort: str = Field("relevance", description="One of: " + ", ".join(SORTS) + ".")
    home_regency: str = Field(
        "",
        description="Regency code (e.g. 32.73) to measure distances from; default: the signed-in "
        "participant's regency. Required to sort by distance.",
    )
    page: str = Field("1", description="Page number from 1.")
    per_page: str = Field(
        str(PER_PAGE_DEFAULT), description=f"Trainings per page, 1 to {PER_PAGE_MAX}."
    )


@router.get(
    "",
    response={200: TrainingPageOut, 401: ErrorOut, 422: ErrorOut},
    summary="Search the training catalog",
)
def trainings(request: HttpRequest, params: Query[TrainingQuery]) -> dict[str, Any]:
    """Active trainings matching every filter given, sorted and paged. Relevance: every word in
    the title first, then matches in category or description, most bought first within each.
    Rating sort: trainings with enough reviews by Bayesian average, then the rest by buyers.
    Distance sort: offline trainings nearest first, then online ones by buyers. Errors: 422
    VALIDATION_FAILED with details by parameter (CHOICE_INVALID, PRICE_INVALID,
    PRICE_RANGE_INVALID, REGION_UNKNOWN, PAGE_INVALID, REQUIRED); 401 UNAUTHENTICATED for a
    bearer token that is not valid."""
    home = params.home_regency or _home_of_caller(request)
    numbers = _numbers(
        price_min=params.price_min,
        price_max=params.price_max,
        page=params.page,
        per_page=params.per_page,
    )
    found = trainings_search(
        q=params.q,
        category=params.category,
        platform=params.platform,
        delivery=params.delivery,
        province=params.province,
        sort=params.sort,
        home_regency=home,
        **numbers,
    )
    return {
        "items": [_training(hit) for hit in found.items],
        "total": found.total,
        "total_capped": found.total_capped,
        "page": found.page,
        "pages": found.pages,
        "per_page": found.per_page,
        "rating_min_reviews": found.rating_min_reviews,
    }


class ReviewOut(Schema):
    stars: int = Field(description="1 to 5.")
    text: str
    author: str = Field(description='The first letter of the writer\'s name, e.g. "S.".')
    created_at: datetime.datetime = Field(description="When it was written (UTC).")
    edited: bool = Field(description="Changed after it was written (allowed for a few days).")


class ReviewPageOut(Schema):
    training_id: int
    rating: float | None = Field(
        description="Bayesian average (1–5, two decimals) as in the search, or null while the "
        "training has fewer reviews than `rating_min_reviews`."
    )
    rating_count: int
    rating_min_reviews: int
    items: list[ReviewOut]
    total: int
    page: int
    pages: int
    per_page: int


@router.get(
    "/{training_id}/reviews",
    response={200: ReviewPageOut, 404: ErrorOut, 422: ErrorOut},
    summary="A training's reviews",
)
def training_reviews(
    request: HttpRequest, training_id: int, page: str = "1", per_page: str = str(REVIEWS_PER_PAGE)
) -> dict[str, Any]:
    """Reviews of an active training, newest first, by participants who completed it: stars,
    text and only the first letter of the writer's name. Errors: 404 NOT_FOUND for a training that
    is not in the catalog; 422 VALIDATION_FAILED (PAGE_INVALID) for a page, or a `per_page`
    outside 1 to 50 (orders.reviews.PER_PAGE_MAX)."""
    numbers = _numbers(page=page, per_page=per_page)
    found = reviews_of_training(training_id, **numbers)
    return {
        "training_id": found.training_id,
        "rating": round(found.rating, 2) if found.rating is not None else None,
        "rating_count": found.rating_count,
        "rating_min_reviews": found.rating_min_reviews,
        "items": [
            {
                "stars": r.stars,
                "text": r.text,
                "author": r.initial,
                "created_at": r.created_at.astimezone(datetime.UTC),
                "edited": r.edited,
            }
            for r in found.items
        ],
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "per_page": found.per_page,
    }


def _home_of_caller(request: HttpRequest) -> str:
    """The regency of the participant whose bearer token came with the call, if any."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ""
    from prakerja.portal.api import BearerToken, Unauthenticated

    token = header.removeprefix("Bearer ").strip()
    registrant = (
        BearerToken().authenticate(request, token) if header.startswith("Bearer ") else None
    )
    if registrant is None:
        raise Unauthenticated()
    return registrant.regency_code


def _numbers(**given: str) -> dict[str, Any]:
    """Whole numbers from the query string, each refused by its own name."""
    parsed: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, text in given.items():
        optional = name.startswith("price")
        if optional and text == "":
            parsed[name] = None
        elif text.isascii() and text.isdigit() and len(text) <= 15:
            parsed[name] = int(text)
        else:
            problems[name] = "PRICE_INVALID" if optional else "PAGE_INVALID"
    if problems:
        raise ValidationFailed(details=problems)
    return parsed


def _training(hit: TrainingHit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "title": hit.title,
        "category": hit.category,
        "description": hit.description,
        "platform": {"code": hit.platform_code, "name": hit.platform_name},
        "institution": {"name": hit.institution_name, "owned_by_platform": hit.owned_by_platform},
        "delivery": hit.delivery,
        "price_idr": hit.price_idr,
        "duration_hours": hit.duration_hours,
        "url": hit.url,
        "regency_code": hit.regency_code or None,
        "rating": round(hit.rating, 2) if hit.rating is not None else None,
        "rating_count": hit.rating_count,
        "buyers": hit.buyers,
        "distance_km": round(hit.distance_km, 1) if hit.distance_km is not None else None,
    }
