"""`PUT/DELETE /trainings/{external_id}` of the partner API (partner-api.md, "Digital platforms"):
a platform publishes, changes and withdraws its trainings. Both calls are idempotent by
X-EXTERNAL-ID and refused to financial institutions (403 PARTNER_KIND_NOT_ALLOWED).

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import register_converter
from ninja import Field, Path, Router, Schema
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from prakerja.catalog import services
from prakerja.common.actors import Actor
from prakerja.partners.api import answer_once, caller, errors
from prakerja.partners.models import PartnerKind

router: Router = Router(tags=["trainings"])


def _storable(value: str) -> str:
    """Text a database can keep: PostgreSQL refuses NUL (U+0000) in any text column, so a field
    holding one is refused here (422 CHARACTER_INVALID) rather than failing at the INSERT (a 500)."""
    if "\x00" in value:
        raise PydanticCustomError("character_invalid", "NUL (U+0000) is not allowed in text")
    return value


Text = Annotated[str, AfterValidator(_storable)]

# An external_id is one path segment: it cannot hold "/" (an encoded %2F is decoded before routing).
EXTERNAL_ID_PATTERN = r"^[^/\x00]+$"


class _AnyText:
    """The rest of the path, whatever it holds (Django's `path` stops at a line break), so that
    every external_id reaches the call and a malformed one is refused as 422 naming the field,
    never a non-JSON 404 of the web server's router. It matches "/" too: a later route below
    /trainings/{external_id}/… must be registered before the two here."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_AnyText, "partner_external_id")


def _external_id() -> Any:
    return Path(
        ...,
        min_length=1,
        max_length=services.EXTERNAL_ID_MAX,
        pattern=EXTERNAL_ID_PATTERN,
        description="Your id of the training (unique per platform; another platform's training "
        "of the same id is a different training). Any characters but `/` and NUL, percent-encoded "
        "as one path segment.",
    )


# The nested objects are plain pydantic models: a value that is not an object is refused as
# OBJECT_REQUIRED rather than read attribute by attribute.
class LocationIn(BaseModel):
    address: Text = Field(min_length=1, max_length=services.ADDRESS_MAX)
    regency_code: Text = Field(
        description="Kemendagri regency (kabupaten/kota) code, e.g. `32.01` (`3201` is accepted).",
        examples=["32.01"],
    )
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS 84.")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS 84.")


class InstitutionIn(BaseModel):
    external_id: Text = Field(
        min_length=1,
        max_length=services.EXTERNAL_ID_MAX,
        description="Your id of the training institution (lembaga pelatihan).",
    )
    name: Text = Field(min_length=1, max_length=services.INSTITUTION_NAME_MAX)
    owned_by_platform: bool = Field(
        strict=True,
        description="True when the platform owns the institution: recorded and disclosed to "
        "participants (a conflict of interest); ranking never favours it.",
    )


class TrainingIn(Schema):
    title: Text = Field(min_length=1, max_length=services.TITLE_MAX)
    category: Text = Field(min_length=1, max_length=services.CATEGORY_MAX)
    description: Text = Field(min_length=1, max_length=services.DESCRIPTION_MAX)
    price_idr: int = Field(
        strict=True,
        ge=services.PRICE_MIN_IDR,
        le=services.PRICE_MAX_IDR,
        description="The price in the program, integer rupiah.",
    )
    price_outside_program_idr: int = Field(
        strict=True,
        ge=1,
        le=services.OUTSIDE_PRICE_MAX_IDR,
        description="The price of the same training outside the program, integer rupiah. A "
        "program price above it is flagged for the PMO.",
    )
    duration_hours: int = Field(strict=True, ge=1, le=services.DURATION_HOURS_MAX)
    sessions: int = Field(strict=True, ge=1, le=services.SESSIONS_MAX)
    delivery: Literal["self_paced", "webinar", "offline"]
    institution: InstitutionIn
    location: LocationIn | None = Field(
        None,
        description="Required for `offline` delivery, refused (`OFFLINE_ONLY`) otherwise.",
    )
    url: Text = Field(
        min_length=1,
        max_length=services.URL_MAX,
        description="The training's page on the platform (http or https).",
        json_schema_extra={"format": "uri"},
    )


class TrainingOut(Schema):
    external_id: str
    training_id: int = Field(description="The system's id of the training.")
    status: str = Field(
        description="`pending_review` until the PMO approves; then `active`, `rejected`, "
        "`suspended` or `withdrawn`. Changes are also sent as `training.status_changed` events.",
        examples=["pending_review"],
    )


class WithdrawnOut(Schema):
    status: Literal["withdrawn"]


PUT_ERRORS, PUT_DOCS = errors()
PUT_DOCS["responses"].update(
    {
        201: {"description": "A new training, `pending_review`."},
        200: {"description": "A training you had published: changed, or the same as before."},
    }
)
DELETE_ERRORS, DELETE_DOCS = errors({404: "`TRAINING_NOT_FOUND`: not a training of yours."})
DELETE_DOCS["responses"][200] = {"description": "Withdrawn (now or before)."}


def _actor(request: HttpRequest) -> Actor:
    platform = caller(request)
    return Actor.partner(platform.pk, platform.code)


@router.put(
    "/{partner_external_id:external_id}",
    response={200: TrainingOut, 201: TrainingOut, **PUT_ERRORS},
    openapi_extra=PUT_DOCS,
    summary="Publish or change a training",
    operation_id="training_put",
)
def training_put(
    request: HttpRequest, payload: TrainingIn, external_id: str = _external_id()
) -> HttpResponse:
    """`201` for a new training, `200` for a known one (changed or not). A new training is
    `pending_review` until the PMO approves it; a change of price or content sends an active (or
    rejected) training back to `pending_review`; the same body again changes nothing; a withdrawn
    training published again goes back to review. Price parity (price above the price outside the
    program) is flagged for the PMO at once; a new training's near-duplicates among other
    institutions' trainings are looked for seconds after the answer."""
    platform = caller(request, kind=PartnerKind.PLATFORM)
    data = payload.dict()

    def work() -> tuple[int, dict[str, Any]]:
        training, created = services.training_upsert(
            platform=platform, external_id=external_id, data=data, actor=_actor(request)
        )
        body = {
            "external_id": training.external_id,
            "training_id": training.pk,
            "status": training.status,
        }
        return (201 if created else 200), body

    return answer_once(request, work)


@router.delete(
    "/{partner_external_id:external_id}",
    response={200: WithdrawnOut, **DELETE_ERRORS},
    openapi_extra=DELETE_DOCS,
    summary="Withdraw a training",
    operation_id="training_delete",
)
def training_delete(request: HttpRequest, external_id: str = _external_id()) -> HttpResponse:
    """Takes the training out of the catalog; vouchers already issued for it stay valid.
    Withdrawing a withdrawn training answers the same and changes nothing."""
    platform = caller(request, kind=PartnerKind.PLATFORM)

    def work() -> tuple[int, dict[str, Any]]:
        training = services.training_withdraw(
            platform=platform, external_id=external_id, actor=_actor(request)
        )
        return 200, {"status": training.status}

    return answer_once(request, work)
