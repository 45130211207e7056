"""`PUT/DELETE /trainings/{external_id}` of the partner API (partner-api.md, "Digital platforms"):
a platform publishes, changes and withdraws its trainings. Both calls are idempotent by
X-EXTERNAL-ID and refused to financial institutions (403 PARTNER_KIND_NOT_ALLOWED).

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import register_converter
from ninja import Field, Path, Router, Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from prakerja.catalog import services, training_data
from prakerja.common.actors import Actor
from prakerja.partners.api import answer_once, caller, errors
from prakerja.partners.fields import (
    WEB_ADDRESS_RULE,
    Flag,
    Line,
    Number,
    PathSegment,
    Text,
    WebAddress,
    Whole,
)
from prakerja.partners.models import PartnerKind
from prakerja.registration.regions import regencies

router: Router = Router(tags=["trainings"])


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


EXTERNAL_ID = Path(
    ...,
    min_length=1,
    max_length=training_data.EXTERNAL_ID_MAX,
    description="Your id of the training (unique per platform; another platform's training of the "
    "same id is a different training): one line of text, not only white space, without `/`, "
    "percent-encoded as one path segment.",
)


def _regency_codes() -> list[str]:
    """Every regency code of the region tables, dotted (`32.01`) and as four digits (`3201`)."""
    dotted = sorted(region.code for region in regencies())
    return [form for code in dotted for form in (code, code.replace(".", ""))]


REGENCY_CODES = _regency_codes()
_REGENCIES = frozenset(REGENCY_CODES)


def _known_regency(value: str) -> str:
    if value not in _REGENCIES:
        raise PydanticCustomError("regency_unknown", "not a regency code of the region tables")
    return value


# The list of codes is the schema (an enum): a code that matches a pattern but names no regency
# would otherwise pass the schema and be refused by the server.
RegencyCode = Annotated[
    str,
    Strict(),
    AfterValidator(_known_regency),
    WithJsonSchema({"type": "string", "enum": REGENCY_CODES}),
]


# The nested objects are plain pydantic models: a value that is not an object is refused as
# OBJECT_REQUIRED rather than read attribute by attribute.
class LocationIn(BaseModel):
    address: Line = Field(min_length=1, max_length=training_data.ADDRESS_MAX)
    regency_code: RegencyCode = Field(
        description="Kemendagri regency (kabupaten/kota) code of the region tables, e.g. `32.01` "
        "(`3201` is accepted). Anything else is `REGENCY_UNKNOWN`.",
        examples=["32.01"],
    )
    lat: Number = Field(ge=-90, le=90, description="Latitude, WGS 84.")
    lon: Number = Field(ge=-180, le=180, description="Longitude, WGS 84.")


class InstitutionIn(BaseModel):
    external_id: Line = Field(
        min_length=1,
        max_length=training_data.EXTERNAL_ID_MAX,
        description="Your id of the training institution (lembaga pelatihan).",
    )
    name: Line = Field(min_length=1, max_length=training_data.INSTITUTION_NAME_MAX)
    owned_by_platform: Flag = Field(
        description="True when the platform owns the institution: recorded and disclosed to "
        "participants (a conflict of interest); ranking never favours it.",
    )


# `location` is required exactly for offline delivery and refused otherwise: said to a JSON schema
# reader by if/then/else (see TrainingIn.model_config), checked by the field's validator.
_OFFLINE_RULE: dict[str, Any] = {
    "if": {"properties": {"delivery": {"const": "offline"}}, "required": ["delivery"]},
    # With the property's own schema (a LocationIn or null), "an object" leaves a LocationIn.
    "then": {"required": ["location"], "properties": {"location": {"type": "object"}}},
    "else": {"properties": {"location": {"type": "null"}}},
}


class TrainingIn(Schema):
    model_config = {"json_schema_extra": _OFFLINE_RULE}

    title: Line = Field(min_length=1, max_length=training_data.TITLE_MAX)
    category: Line = Field(min_length=1, max_length=training_data.CATEGORY_MAX)
    description: Text = Field(
        min_length=1,
        max_length=training_data.DESCRIPTION_MAX,
        description="Several lines allowed (tab, line feed, carriage return).",
    )
    price_idr: Whole = Field(
        ge=training_data.PRICE_MIN_IDR,
        le=training_data.PRICE_MAX_IDR,
        description="The price in the program, integer rupiah.",
    )
    price_outside_program_idr: Whole = Field(
        ge=1,
        le=training_data.OUTSIDE_PRICE_MAX_IDR,
        description="The price of the same training outside the program, integer rupiah. A "
        "program price above it is flagged for the PMO.",
    )
    duration_hours: Whole = Field(ge=1, le=training_data.DURATION_HOURS_MAX)
    sessions: Whole = Field(ge=1, le=training_data.SESSIONS_MAX)
    delivery: Literal["self_paced", "webinar", "offline"]
    institution: InstitutionIn
    location: LocationIn | None = Field(
        None,
        validate_default=True,
        description="Required for `offline` delivery (`REQUIRED`), refused otherwise "
        "(`OFFLINE_ONLY`): absent or null.",
    )
    url: WebAddress = Field(
        min_length=1,
        max_length=training_data.URL_MAX,
        description="The training's page on the platform. " + WEB_ADDRESS_RULE,
    )

    @field_validator("location")
    @classmethod
    def _offline_only(cls, value: LocationIn | None, info: ValidationInfo) -> LocationIn | None:
        delivery = info.data.get("delivery")  # absent when delivery itself was refused
        if delivery == "offline" and value is None:
            raise PydanticCustomError("missing", "required for offline delivery")
        if delivery in ("self_paced", "webinar") and value is not None:
            raise PydanticCustomError("offline_only", "only for offline delivery")
        return value


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
    request: HttpRequest, payload: TrainingIn, external_id: PathSegment = EXTERNAL_ID
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
def training_delete(request: HttpRequest, external_id: PathSegment = EXTERNAL_ID) -> HttpResponse:
    """Takes the training out of the catalog; vouchers already issued for it stay valid.
    Withdrawing a withdrawn training answers the same and changes nothing."""
    platform = caller(request, kind=PartnerKind.PLATFORM)

    def work() -> tuple[int, dict[str, Any]]:
        training = services.training_withdraw(
            platform=platform, external_id=external_id, actor=_actor(request)
        )
        return 200, {"status": training.status}

    return answer_once(request, work)
