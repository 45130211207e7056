"""`GET /api/v1/trainings`: the catalog search of the participant API (catalog.search has the
rules). Public; with a participant's bearer token the distance is measured from the person's home
regency unless `home_regency` is given. (A training's reviews, `GET /api/v1/trainings/{id}/reviews`,
are the orders app's: orders/participant_api.py.)

Every parameter is checked alone, by the rule the OpenAPI document states (portal.api_params):
none depends on another, so no combination of valid parameters is refused."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from prakerja.catalog.models import Delivery, Training
from prakerja.catalog.search import (
    COUNT_CAP,
    PER_PAGE_DEFAULT,
    PER_PAGE_MAX,
    SORTS,
    TrainingHit,
    home_regency_codes,
    province_codes,
    regency_centroid,
    trainings_search,
)
from prakerja.common.api_types import OneLine
from prakerja.portal.api import ErrorBody, Unauthenticated
from prakerja.portal.api_params import ChoiceText, IntegerText, without_default
from prakerja.registration.api_tokens import BearerToken

router = Router(tags=["catalog"])

QUERY_MAX = 200  # a search box's words: only the first few words are used (search.query_words)
PRICE_MAX = 999_999_999_999_999  # far above any price; what the query string could ever say

Page = Annotated[int, IntegerText(minimum=1, maximum=COUNT_CAP, code="PAGE_INVALID")]
PerPage = Annotated[int, IntegerText(minimum=1, maximum=PER_PAGE_MAX, code="PAGE_INVALID")]
# Optional parameters: None only when left out (the validators never answer None, and the
# document states the type alone, since None cannot be written in a query).
Price = Annotated[int | None, IntegerText(minimum=0, maximum=PRICE_MAX, code="PRICE_INVALID")]
DeliveryChoice = Annotated[str | None, ChoiceText(Delivery.values)]
SortChoice = Annotated[str, ChoiceText(SORTS)]
Province = Annotated[str | None, ChoiceText(province_codes(), code="REGION_UNKNOWN")]
Regency = Annotated[str | None, ChoiceText(home_regency_codes(), code="REGION_UNKNOWN")]
# Catalog search, optional bearer token: anyone may search; a token only says where home is.
OPTIONAL_TOKEN: dict[str, Any] = {"security": [{}, {"BearerToken": []}]}


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


CATEGORY_MAX = Training._meta.get_field("category").max_length
PLATFORM_CODE_MAX = 40  # partners.Partner.code


class TrainingQuery(Schema):
    q: OneLine = Field(
        "",
        max_length=QUERY_MAX,
        description="Words; each must start a word of the title, category or description. "
        "Common words (dan, untuk, …) are left out; only the first 8 words count.",
    )
    category: OneLine = Field(
        "", max_length=CATEGORY_MAX, description="Exact category, e.g. Kuliner; empty: any."
    )
    platform: OneLine = Field(
        "",
        max_length=PLATFORM_CODE_MAX,
        description="Platform (partner) code, e.g. tokopedia; empty: any. An unknown code finds "
        "nothing.",
    )
    price_min: Price = Field(
        None,
        json_schema_extra=without_default,
        description="Lowest price in whole rupiah (inclusive).",
    )
    price_max: Price = Field(
        None,
        json_schema_extra=without_default,
        description="Highest price in whole rupiah (inclusive). Below `price_min`: nothing is "
        "found.",
    )
    delivery: DeliveryChoice = Field(
        None, json_schema_extra=without_default, description="Omitted: any."
    )
    province: Province = Field(
        None,
        json_schema_extra=without_default,
        description="Two-digit province code: offline trainings held in that province.",
    )
    sort: SortChoice = Field("relevance")
    home_regency: Regency = Field(
        None,
        json_schema_extra=without_default,
        description="Regency code (e.g. 32.73) to measure distances from; default: the signed-in "
        "participant's regency. Without either, no training has a distance, and the distance "
        "sort lists every training most bought first.",
    )
    page: Page = Field(1, description=f"Page number from 1 (pages stop at {COUNT_CAP} trainings).")
    per_page: PerPage = Field(PER_PAGE_DEFAULT, description="Trainings per page.")


@router.get(
    "",
    response={200: TrainingPageOut, 401: ErrorBody, 422: ErrorBody},
    summary="Search the training catalog",
    operation_id="trainings_search",
    openapi_extra=OPTIONAL_TOKEN,
)
def trainings(request: HttpRequest, params: Query[TrainingQuery]) -> dict[str, Any]:
    """Active trainings matching every filter given, sorted and paged. Relevance: every word in
    the title first, then matches in category or description, most bought first within each.
    Rating sort: trainings with enough reviews by Bayesian average, then the rest by buyers.
    Distance sort: offline trainings nearest first, then online ones by buyers (every training,
    when no home regency is known). Each parameter is checked alone, so no two can disagree: a
    price range from above its top finds nothing. Errors: 422 VALIDATION_FAILED naming each
    parameter that breaks its schema (CHARACTER_INVALID, TOO_LONG, CHOICE_INVALID, PRICE_INVALID,
    REGION_UNKNOWN, PAGE_INVALID); 401 UNAUTHENTICATED for an Authorization header that is not a
    valid bearer token (the token is optional)."""
    home = params.home_regency or _home_of_caller(request)
    found = trainings_search(
        q=params.q,
        category=params.category,
        platform=params.platform,
        price_min=params.price_min,
        price_max=params.price_max,
        delivery=params.delivery or "",
        province=params.province or "",
        sort=params.sort,
        home_regency=home,
        page=params.page,
        per_page=params.per_page,
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


def _home_of_caller(request: HttpRequest) -> str:
    """The regency of the participant whose bearer token came with the call, if any and if
    distances can be measured from it."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ""
    token = header.removeprefix("Bearer ").strip()
    registrant = (
        BearerToken().authenticate(request, token) if header.startswith("Bearer ") else None
    )
    if registrant is None:
        raise Unauthenticated()
    home = registrant.regency_code
    return home if regency_centroid(home) is not None else ""


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
