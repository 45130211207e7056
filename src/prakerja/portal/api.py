"""Participant JSON API for the mobile app: the same steps as the portal pages. OpenAPI at
/api/v1/docs and /api/v1/openapi.json. Errors use the partner API's body:
{"error": {"code", "message", "details"}}, the message in the Accept-Language language."""

import datetime
import hashlib
import secrets
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from ninja import Field, File, NinjaAPI, Path, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer
from pydantic import ConfigDict, Strict

from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.common.api_types import Day, Flag, OneLine, TrimmedLine, TrimmedText, Whole
from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.common.field_codes import field_codes
from prakerja.orders.errors import TrainingNotAvailable
from prakerja.orders.models import Order, Review
from prakerja.orders.reviews import (
    STARS_MAX,
    STARS_MIN,
    TEXT_MAX_CHARS,
    review_editable_until,
    review_submit,
)
from prakerja.orders.selectors import order_review, order_status_shown, participant_orders
from prakerja.orders.services import order_purchase
from prakerja.orders.vouchers import voucher_code_format
from prakerja.portal.session import client_ip
from prakerja.registration import services
from prakerja.registration.field_rules import (
    CODE_PATTERN,
    EMAIL_MAX,
    EMAIL_PATTERN,
    NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PASSWORD_PATTERN,
    PHONE_PATTERN,
    nik_pattern,
    regency_codes,
)
from prakerja.registration.models import (
    ApiToken,
    Education,
    Employment,
    Layer,
    LayerStatus,
    Registrant,
)
from prakerja.registration.selectors import registrant_layers
from prakerja.waves.models import Participant, ParticipantStatus, Wave, WaveApplication
from prakerja.waves.selectors import (
    Result,
    application_result,
    participant_card,
    registrant_applications,
    wave_open,
)
from prakerja.waves.services import wave_join


class Unauthenticated(ApplicationError):
    code = "UNAUTHENTICATED"
    http_status = 401
    message_id = "Silakan masuk terlebih dahulu."
    message_en = "Please sign in first."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Registrant | None:
        found = (
            ApiToken.objects.select_related("registrant")
            .filter(token_hash=_hash(token), revoked_at__isnull=True, registrant__is_active=True)
            .first()
        )
        return found.registrant if found else None


participant_api = NinjaAPI(
    title="Kartu Prakerja — participant API",
    version="1",
    urls_namespace="participant_api",
    description="Registration and verification for the participant mobile app, the waves the "
    "person joined with each result, the Kartu Prakerja card once selected, the catalog, and the "
    "trainings bought with their vouchers, and the incentives: the payment account, the schedule "
    "of payments with what holds any of them, and the surveys. "
    "Sign in with POST /auth/login and send the token as `Authorization: Bearer …`.",
)


def _language() -> str:
    return get_language() or "id"


@participant_api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = participant_api.create_response(
        request, error.body(_language()), status=error.http_status
    )
    for name, value in error.headers().items():
        response[name] = value
    return response


@participant_api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    fields = field_codes(list(error.errors))
    for name, code in fields.items():
        if code == "PATTERN_MISMATCH" and name in PATTERN_CODES:
            fields[name] = PATTERN_CODES[name]
    return application_error(request, ValidationFailed(details=fields))


# A field that misses its pattern, named with the code its service gives the same mistake.
PATTERN_CODES = {
    "email": "EMAIL_INVALID",
    "nik": "NIK_FORMAT",
    "phone": "PHONE_INVALID",
    "password": "PASSWORD_WEAK",
    "new_password": "PASSWORD_WEAK",
    "code": "CODE_FORMAT",
}


@participant_api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """ninja's own refusals in the contract's body: a body that is not JSON is a 422 naming it."""
    if error.status_code == 400:
        return application_error(request, ValidationFailed(details={"body": "JSON_INVALID"}))
    response = application_error(request, ApplicationError(details={"detail": error.message}))
    response.status_code = error.status_code
    return response


@participant_api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return application_error(request, NotFound())


@participant_api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return application_error(request, Unauthenticated())


def _me(request: HttpRequest) -> Registrant:
    registrant = request.auth  # type: ignore[attr-defined]
    assert isinstance(registrant, Registrant)
    return registrant


class ErrorDetail(Schema):
    code: str = Field(description="Stable, UPPER_SNAKE: branch on this.")
    message: str = Field(description="For people, in the Accept-Language language (id or en).")
    details: dict[str, Any] = Field(
        description="The facts: for VALIDATION_FAILED and FIELDS_DISAGREE the fields, each with "
        'a code (`{"nik": "NIK_FORMAT"}`); for RATE_LIMITED `retry_after_s`.'
    )


class ErrorBody(Schema):
    error: ErrorDetail


# Unknown keys are refused: the schema says additionalProperties: false.
STRICT_BODY = ConfigDict(extra="forbid")

EMAIL = Field(
    # The pattern alone (it bounds the length too), no `format: email` nor length bounds: a
    # generator that meets several draws from one and can miss the (stricter) pattern.
    pattern=EMAIL_PATTERN,
    description="Compared without regard to case.",
)
PASSWORD = Field(
    min_length=PASSWORD_MIN,
    max_length=PASSWORD_MAX,
    pattern=PASSWORD_PATTERN,
    description="At least 8 characters, not only digits; one not like the email or the name and "
    "not among the most common passwords (else 409 FIELDS_DISAGREE, `password`).",
)


class SignUpIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "siti.rahayu@example.com",
                    "password": "Kopi-Tubruk-2020",
                    "nik": "3201014105900001",
                    "full_name": "Siti Rahayu",
                    "birth_date": "1990-05-01",
                    "phone": "0813 1111 2222",
                    "regency_code": "32.01",
                    "education": "sma",
                    "employment": "laid_off",
                    "in_school": False,
                    "language": "id",
                }
            ]
        },
    )

    email: Annotated[str, Strict()] = EMAIL
    password: Annotated[str, Strict()] = PASSWORD
    nik: Annotated[str, Strict()] = Field(
        pattern=nik_pattern(),
        description="The 16 digits of the KTP: province and regency of the official tables, "
        "district, birth date DDMMYY (women add 40 to the day), serial (not 0000). The date must "
        "be the `birth_date` (else 409 FIELDS_DISAGREE, `nik`: NIK_BIRTH_DATE_MISMATCH).",
    )
    full_name: TrimmedLine = Field(min_length=2, max_length=NAME_MAX, description="As on the KTP.")
    birth_date: Day = Field(
        description="From 1900-01-01 to today (else 409 FIELDS_DISAGREE, `birth_date`)."
    )
    phone: Annotated[str, Strict()] = Field(
        pattern=PHONE_PATTERN,
        description="An Indonesian mobile number: 0812…, 62812… or +62812…, spaces or hyphens "
        "between the digits allowed.",
    )
    regency_code: Literal[tuple(regency_codes())] = Field(  # type: ignore[valid-type]
        description="Kemendagri regency (kabupaten/kota) of residence, dotted: `32.01`."
    )
    education: Education
    employment: Employment
    in_school: Flag
    language: Literal["id", "en"] = "id"


class LayerOut(Schema):
    layer: Layer
    name: str
    status: LayerStatus
    reason: str = Field(description="A reason code (empty when passed), e.g. NIK_TAKEN.")
    message: str
    todo: str
    can_retry: bool
    at: datetime.datetime | None


class StatusOut(Schema):
    registrant_id: int
    layers: list[LayerOut]


class LoginIn(Schema):
    model_config = STRICT_BODY

    email: OneLine = Field(min_length=1, max_length=EMAIL_MAX)
    password: Annotated[str, Strict()] = Field(min_length=1, max_length=PASSWORD_MAX)


class TokenOut(Schema):
    token: str
    registrant_id: int


CODE = Field(pattern=CODE_PATTERN, description="The 6 digits sent.")


class CodeIn(Schema):
    model_config = STRICT_BODY

    code: Annotated[str, Strict()] = CODE


class EmailIn(Schema):
    model_config = STRICT_BODY

    email: OneLine = Field(min_length=1, max_length=EMAIL_MAX)


class ResetConfirmIn(Schema):
    model_config = STRICT_BODY

    email: OneLine = Field(min_length=1, max_length=EMAIL_MAX)
    code: Annotated[str, Strict()] = CODE
    new_password: Annotated[str, Strict()] = PASSWORD


class PhoneIn(Schema):
    model_config = STRICT_BODY

    phone: Annotated[str, Strict()] = Field(pattern=PHONE_PATTERN)


class NikCorrectionIn(Schema):
    model_config = STRICT_BODY

    full_name: TrimmedLine = Field(min_length=2, max_length=NAME_MAX)
    birth_date: Day = Field(
        description="Must be the date the NIK encodes (else 409 FIELDS_DISAGREE, `birth_date`)."
    )


class Accepted(Schema):
    ok: bool = True


class SignUpOut(Schema):
    signup_token: str = Field(
        description="Finishes this sign-up with the emailed code (`POST /auth/signup/email`). "
        "Keep it on the device; it is valid until the code expires (24 hours)."
    )
    email: str = Field(description="The email as the system keeps it (trimmed, lower case).")


SIGNUP_TOKEN = Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="`signup_token` of the sign-up.")


class SignUpTokenIn(Schema):
    model_config = STRICT_BODY

    signup_token: Annotated[str, Strict()] = SIGNUP_TOKEN


class SignUpCodeIn(Schema):
    model_config = STRICT_BODY

    signup_token: Annotated[str, Strict()] = SIGNUP_TOKEN
    code: Annotated[str, Strict()] = CODE


BIGINT_MAX = 2**63 - 1  # ids are PostgreSQL bigints: a larger number names no object


def refusals(*statuses: int) -> dict[int, type[Schema]]:
    """The error body for each status an operation can refuse with (its description says the
    codes). A malformed body or parameter is 422; a missing or unknown bearer token 401."""
    return dict.fromkeys(statuses, ErrorBody)


ERRORS = refusals(401, 404, 409, 422, 429)  # routers added below that answer any of these


def _status(registrant: Registrant) -> dict:
    layers = registrant_layers(registrant, language=_language())
    return {"registrant_id": registrant.pk, "layers": [layer.__dict__ for layer in layers]}


SIGN_UP_DOC = (
    "Take a sign-up. The answer is the same whether or not the email, NIK or phone number already "
    "has an account, so that nobody can learn who is registered: `202` with a `signup_token`. "
    "Keep the token on the device and finish with `POST /auth/signup/email` and the 6-digit code "
    "sent to the email. If the email already has an account, its owner is told by email instead "
    "and the token finishes nothing. A NIK or phone number of another account is reported after "
    "the email is proved, on `GET /me/status` (`NIK_TAKEN`, `PHONE_TAKEN`). Errors: 422 "
    "VALIDATION_FAILED naming each field that breaks the schema; 409 FIELDS_DISAGREE naming "
    "fields that are well formed but do not fit together or with today (a birth date the NIK "
    "does not encode or in the future, a password like the email or name or a common one); 429 "
    "RATE_LIMITED."
)


@participant_api.post(
    "/auth/signup",
    response={202: SignUpOut, **refusals(422, 409, 429)},
    tags=["auth"],
    description=SIGN_UP_DOC,
    operation_id="sign_up",
)
def sign_up(request: HttpRequest, payload: SignUpIn) -> Status:
    receipt = services.registrant_sign_up(
        data=services.SignUp(**payload.dict()), client_ip=client_ip(request)
    )
    return Status(202, {"signup_token": receipt.token, "email": receipt.email})


@participant_api.post(
    "/auth/signup/email",
    response={200: TokenOut, **refusals(422, 401, 429)},
    tags=["auth"],
    description="Finish a sign-up with its `signup_token` and the code from the email: the email "
    "is proved and the answer is a bearer token, as `POST /auth/login` gives. 401 CODE_INVALID "
    "for a wrong, used-up or expired code and for a token that finishes nothing (one answer for "
    "all of them); 429 RATE_LIMITED.",
    operation_id="sign_up_email",
)
def sign_up_email(request: HttpRequest, payload: SignUpCodeIn) -> dict:
    registrant = services.sign_up_email_verify(
        token=payload.signup_token, code=payload.code, client_ip=client_ip(request)
    )
    return _token_for(registrant)


@participant_api.post(
    "/auth/signup/email/resend",
    response={202: Accepted, **refusals(422, 429)},
    tags=["auth"],
    description="Send the sign-up's email code again (at most once a minute and five times a "
    "day; the answer is `202` either way).",
    operation_id="sign_up_email_resend",
)
def sign_up_email_resend(request: HttpRequest, payload: SignUpTokenIn) -> Status:
    services.sign_up_email_resend(token=payload.signup_token, client_ip=client_ip(request))
    return Status(202, {"ok": True})


def _token_for(registrant: Registrant) -> dict:
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(registrant=registrant, token_hash=_hash(token))
    return {"token": token, "registrant_id": registrant.pk}


@participant_api.post(
    "/auth/login",
    response={200: TokenOut, **refusals(422, 401, 429)},
    tags=["auth"],
    operation_id="log_in",
)
def log_in(request: HttpRequest, payload: LoginIn) -> dict:
    registrant = services.registrant_authenticate(
        email=payload.email, password=payload.password, client_ip=client_ip(request)
    )
    return _token_for(registrant)


@participant_api.post(
    "/auth/logout",
    response={200: Accepted, **refusals(401)},
    auth=BearerToken(),
    tags=["auth"],
    operation_id="log_out",
)
def log_out(request: HttpRequest) -> dict:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    ApiToken.objects.filter(token_hash=_hash(token)).update(revoked_at=timezone.now())
    return {"ok": True}


@participant_api.post(
    "/auth/password-reset",
    response={202: Accepted, **refusals(422, 429)},
    tags=["auth"],
    operation_id="password_reset",
)
def reset_request(request: HttpRequest, payload: EmailIn) -> Status:
    services.password_reset_request(email=payload.email, client_ip=client_ip(request))
    return Status(202, {"ok": True})


@participant_api.post(
    "/auth/password-reset/confirm",
    response={200: Accepted, **refusals(422, 401, 409, 429)},
    tags=["auth"],
    operation_id="password_reset_confirm",
)
def reset_confirm(request: HttpRequest, payload: ResetConfirmIn) -> dict:
    services.password_reset_confirm(
        email=payload.email, code=payload.code, new_password=payload.new_password
    )
    return {"ok": True}


@participant_api.get(
    "/me/status",
    response={200: StatusOut, **refusals(401)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="status_get",
)
def status(request: HttpRequest) -> dict:
    return _status(_me(request))


@participant_api.post(
    "/me/nik/correct",
    response={200: StatusOut, **refusals(422, 401, 409)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="nik_correct",
)
def nik_correct(request: HttpRequest, payload: NikCorrectionIn) -> dict:
    registrant = services.nik_correct(
        registrant=_me(request), full_name=payload.full_name, birth_date=payload.birth_date
    )
    return _status(registrant)


@participant_api.post(
    "/me/phone/verify",
    response={200: StatusOut, **refusals(422, 401, 403, 409, 429)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="phone_verify",
)
def phone_verify(request: HttpRequest, payload: CodeIn) -> dict:
    registrant = services.phone_verify_code(
        registrant=_me(request), code=payload.code, client_ip=client_ip(request)
    )
    return _status(registrant)


@participant_api.post(
    "/me/phone/resend",
    response={202: Accepted, **refusals(401, 409, 429)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="phone_resend",
)
def phone_resend(request: HttpRequest) -> Status:
    services.phone_resend(registrant=_me(request), client_ip=client_ip(request))
    return Status(202, {"ok": True})


@participant_api.put(
    "/me/phone",
    response={200: StatusOut, **refusals(422, 401, 409, 429)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="phone_change",
)
def phone_change(request: HttpRequest, payload: PhoneIn) -> dict:
    registrant = services.phone_change(
        registrant=_me(request), phone=payload.phone, client_ip=client_ip(request)
    )
    return _status(registrant)


# The photo's part as the server reads it: 1 byte to 5 MB, a JPEG or PNG by its bytes (another
# file is 422 SELFIE_INVALID by the service; a part's own Content-Type is not relied on).
SELFIE_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "properties": {
                        "image": {
                            "minLength": 1,
                            "maxLength": services.SELFIE_MAX_BYTES,
                            "description": "A JPEG or PNG photo of your face, 1 byte to 5 MB.",
                        }
                    }
                },
                "encoding": {"image": {"contentType": "image/jpeg, image/png"}},
            }
        }
    }
}


@participant_api.post(
    "/me/selfie",
    response={200: StatusOut, **refusals(422, 401, 409)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="selfie_submit",
    openapi_extra=SELFIE_DOC,
)
def selfie(request: HttpRequest, image: UploadedFile = File(...)) -> dict:  # noqa: B008 - ninja's idiom
    registrant = services.face_submit(
        registrant=_me(request), image=image.read(services.SELFIE_MAX_BYTES + 1)
    )
    return _status(registrant)


class WaveOut(Schema):
    number: int
    status: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    verification: str


class ApplicationOut(Schema):
    wave: int
    wave_status: str = Field(
        description="draft, open, closed (the draw comes next), selected, announced, postponed "
        "(new dates; the application stays) or cancelled."
    )
    outcome: str
    applied_at: datetime.datetime
    result: Result = Field(
        description="What the person is told: waiting (for the draw), selected, not_selected "
        "(the wave is drawn and this application was not picked), ineligible (see `reason`) or "
        "cancelled (the wave was cancelled)."
    )
    reason: str | None = Field(
        description="Why the draw found the application ineligible, else null: "
        "ALREADY_PARTICIPANT, LIFETIME_BLOCK, EXCLUDED, ACCOUNT_CLOSED, IN_SCHOOL, UNDER_AGE, "
        "NOT_VERIFIED."
    )


def _application(application: WaveApplication) -> dict[str, Any]:
    return {
        "wave": application.wave.number,
        "wave_status": application.wave.status,
        "outcome": application.outcome,
        "applied_at": application.applied_at,
        "result": application_result(application),
        "reason": application.outcome_reason or None,
    }


class NoOpenWave(ApplicationError):
    code = "NO_OPEN_WAVE"
    http_status = 404
    message_id = "Belum ada gelombang yang dibuka. Coba lagi nanti."
    message_en = "No wave is open at the moment. Try again later."


@participant_api.get(
    "/waves/open",
    response={200: WaveOut, **refusals(404)},
    tags=["waves"],
    operation_id="wave_open_get",
)
def open_wave(request: HttpRequest) -> Wave:
    wave = wave_open()
    if wave is None:
        raise NoOpenWave()
    return wave


@participant_api.post(
    "/me/applications",
    response={201: ApplicationOut, **refusals(401, 404, 409)},
    auth=BearerToken(),
    tags=["waves"],
    operation_id="wave_apply",
)
def apply(request: HttpRequest) -> Status:
    wave = wave_open()
    if wave is None:
        raise NoOpenWave()
    registrant = _me(request)
    application = wave_join(
        wave=wave, registrant=registrant, actor=Actor.participant(registrant.pk)
    )
    application.wave = wave
    return Status(201, _application(application))


@participant_api.get(
    "/me/applications",
    response={200: list[ApplicationOut], **refusals(401)},
    auth=BearerToken(),
    tags=["waves"],
    operation_id="applications_list",
)
def applications(request: HttpRequest) -> list[dict]:
    """The person's applications, newest wave first, each with the result they are told."""
    return [_application(a) for a in registrant_applications(_me(request).pk)]


class NotAParticipant(NotFound):
    code = "NOT_A_PARTICIPANT"
    message_id = (
        "Anda belum menjadi peserta Kartu Prakerja. Ikuti gelombang yang dibuka dan tunggu hasil "
        "seleksinya."
    )
    message_en = (
        "You are not a Kartu Prakerja participant yet. Join an open wave and wait for its result."
    )


class ParticipantOut(Schema):
    card_number: str = Field(description="16 digits, the last a Luhn check digit.")
    status: ParticipantStatus = Field(
        description="active, or revoked: no training was bought by the deadline, the balance "
        "went back to the state and the NIK can never take part again."
    )
    wave: int = Field(description="Number of the wave the person was selected in.")
    balance_idr: int = Field(description="Training balance left, in whole rupiah.")
    purchase_deadline: datetime.datetime = Field(
        description="Deadline for the first training purchase (UTC); the end of a day in WIB."
    )
    days_left: int | None = Field(
        description="Calendar days (WIB) from today to the deadline's day: 0 on the last day; "
        "null when the countdown does not apply (a first training was bought, membership is "
        "revoked, or the deadline has passed)."
    )
    revoked_at: datetime.datetime | None = Field(description="When membership was revoked (UTC).")


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    return moment.astimezone(datetime.UTC) if moment is not None else None


@participant_api.get(
    "/me/participant",
    response={200: ParticipantOut, **refusals(401, 404)},
    auth=BearerToken(),
    tags=["waves"],
    operation_id="participant_get",
)
def participant(request: HttpRequest) -> dict:
    """The person's Kartu Prakerja: card number, standing, training balance and the first-purchase
    deadline. 404 NOT_A_PARTICIPANT until the person is selected in a wave."""
    card = participant_card(_me(request).pk)
    if card is None:
        raise NotAParticipant()
    p = card.participant
    return {
        "card_number": p.card_number,
        "status": p.status,
        "wave": p.wave.number,
        "balance_idr": card.balance_idr,
        "purchase_deadline": _utc(p.purchase_deadline),
        "days_left": card.days_left,
        "revoked_at": _utc(p.revoked_at),
    }


# --- orders: buying a training and "my trainings" ---------------------------------------------------


class OrderIn(Schema):
    model_config = STRICT_BODY

    training_id: Whole = Field(
        ge=1, le=BIGINT_MAX, description="The training's `id` in the catalog."
    )


class OrderTrainingOut(Schema):
    id: int
    title: str
    duration_hours: int
    url: str = Field(description="The training's page on its platform.")


class OrderPlatformOut(Schema):
    code: str
    name: str


class OrderOut(Schema):
    order_id: int
    status: str = Field(
        description="issued (redeem the voucher on the platform before `expires_at`), redeemed "
        "(the training is under way), completed, expired (not redeemed in time: the price went "
        "back to the balance), refunded or cancelled."
    )
    voucher_code: str = Field(
        description="The voucher code to give the platform, grouped as ABCD-EFGH-JKMN-P."
    )
    training: OrderTrainingOut
    platform: OrderPlatformOut
    price_idr: int
    issued_at: datetime.datetime
    expires_at: datetime.datetime = Field(description="Redeem the voucher before this (UTC).")
    redeemed_at: datetime.datetime | None
    percent: int = Field(description="Progress the platform reported, 0 to 100.")
    sessions_attended: int
    completed_at: datetime.datetime | None
    final_score: int | None
    certificate_number: str
    certificate_url: str = Field(description="The certificate, once completed; else empty.")
    review: "MyReviewOut | None" = Field(
        description="Your review of the training, once written (required before any incentive)."
    )


class ReviewIn(Schema):
    model_config = STRICT_BODY

    stars: Whole = Field(ge=STARS_MIN, le=STARS_MAX, description="1 to 5.")
    text: TrimmedText = Field(
        min_length=1,
        max_length=TEXT_MAX_CHARS,
        description="In your own words. Shorter than your scheme's minimum (20 characters in the "
        "2020 scheme) is 409 REVIEW_TOO_SHORT.",
    )


class MyReviewOut(Schema):
    stars: int
    text: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    editable_until: datetime.datetime = Field(description="You may change it until then (UTC).")


OrderOut.model_rebuild()


def _review(review: Review, participant: Participant) -> dict[str, Any]:
    return {
        "stars": review.stars,
        "text": review.text,
        "created_at": _utc(review.created_at),
        "updated_at": _utc(review.updated_at),
        "editable_until": _utc(review_editable_until(review, participant)),
    }


def _order(order: Order, participant: Participant) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "status": order_status_shown(order),
        "voucher_code": voucher_code_format(order.voucher_code),
        "training": {
            "id": order.training.pk,
            "title": order.training.title,
            "duration_hours": order.training.duration_hours,
            "url": order.training.url,
        },
        "platform": {"code": order.platform.code, "name": order.platform.name},
        "price_idr": order.price_idr,
        "issued_at": _utc(order.issued_at),
        "expires_at": _utc(order.expires_at),
        "redeemed_at": _utc(order.redeemed_at),
        "percent": order.percent,
        "sessions_attended": order.sessions_attended,
        "completed_at": _utc(order.completed_at),
        "final_score": order.final_score,
        "certificate_number": order.certificate_number,
        "certificate_url": order.certificate_url,
        "review": _review(review, participant) if (review := order_review(order)) else None,
    }


def _participant_of(registrant: Registrant) -> Participant:
    participant = Participant.objects.filter(registrant=registrant).select_related("scheme").first()
    if participant is None:
        raise NotAParticipant()
    return participant


@participant_api.post(
    "/orders",
    response={201: OrderOut, **refusals(422, 401, 404, 409)},
    auth=BearerToken(),
    tags=["orders"],
    operation_id="order_create",
)
def order_create(request: HttpRequest, payload: OrderIn) -> Status:
    """Buy a training with the training balance: one training per order. The answer holds the
    voucher code to redeem on the training's platform. Errors: 404 NOT_A_PARTICIPANT,
    TRAINING_NOT_AVAILABLE; 409 PARTICIPANT_NOT_ACTIVE, PURCHASE_WINDOW_OVER, BALANCE_EXPIRED,
    ORDER_ALREADY_OPEN (bought already, voucher still valid or training under way),
    INSUFFICIENT_BALANCE."""
    registrant = _me(request)
    participant = _participant_of(registrant)
    training = Training.objects.filter(pk=payload.training_id).first()
    if training is None:
        raise TrainingNotAvailable(details={"training_id": payload.training_id})
    order = order_purchase(
        participant=participant, training=training, actor=Actor.participant(registrant.pk)
    )
    order = Order.objects.select_related("training", "platform").get(pk=order.pk)
    return Status(201, _order(order, participant))


@participant_api.get(
    "/me/orders",
    response={200: list[OrderOut], **refusals(401, 404)},
    auth=BearerToken(),
    tags=["orders"],
    operation_id="orders_mine",
)
def my_orders(request: HttpRequest) -> list[dict[str, Any]]:
    """The person's trainings, newest purchase first: voucher, status, progress and certificate.
    404 NOT_A_PARTICIPANT until the person is selected in a wave."""
    participant = _participant_of(_me(request))
    return [_order(order, participant) for order in participant_orders(participant.pk)]


@participant_api.post(
    "/orders/{order_id}/review",
    response={200: MyReviewOut, 201: MyReviewOut, **refusals(422, 401, 404, 409)},
    auth=BearerToken(),
    tags=["orders"],
    operation_id="order_review_put",
)
def order_review_put(
    request: HttpRequest,
    payload: ReviewIn,
    order_id: int = Path(..., ge=1, le=BIGINT_MAX, description="`order_id` of your order."),
) -> Status:
    """Rate and review a completed training (201), or change your review within the scheme's edit
    window (200). Errors: 404 NOT_A_PARTICIPANT, ORDER_NOT_FOUND; 409 REVIEW_NOT_ALLOWED_YET (not
    completed yet), REVIEW_LOCKED (the edit window has passed); 422 VALIDATION_FAILED (stars
    OUT_OF_RANGE, text TOO_SHORT or TOO_LONG)."""
    registrant = _me(request)
    participant = _participant_of(registrant)
    existed = Review.objects.filter(order_id=order_id, participant=participant).exists()
    review = review_submit(
        participant=participant,
        order=order_id,
        stars=payload.stars,
        text=payload.text,
        actor=Actor.participant(registrant.pk),
    )
    return Status(200 if existed else 201, _review(review, participant))


participant_api.add_router("/trainings", "prakerja.catalog.participant_api.router")
# GET /me/incentives, POST /me/payment-account, POST /me/surveys/{sequence}
participant_api.add_router("/me", "prakerja.incentives.participant_api.router", auth=BearerToken())
participant_api.add_router("/me", "prakerja.grievances.participant_api.router", auth=BearerToken())
