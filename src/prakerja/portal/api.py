"""Participant JSON API for the mobile app: the same steps as the portal pages. OpenAPI at
/api/v1/docs and /api/v1/openapi.json. Errors use the partner API's body:
{"error": {"code", "message", "details"}}, the message in the Accept-Language language."""

import datetime
import hashlib
import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from ninja import Field, File, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer

from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.common.api_types import OneLine
from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.orders.errors import TrainingNotAvailable
from prakerja.orders.models import Order, Review
from prakerja.orders.reviews import review_editable_until, review_submit
from prakerja.orders.selectors import order_review, order_status_shown, participant_orders
from prakerja.orders.services import order_purchase
from prakerja.orders.vouchers import voucher_code_format
from prakerja.portal.session import client_ip
from prakerja.registration import services
from prakerja.registration.models import ApiToken, Registrant
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
    # ninja locates body fields as ("body", "<parameter name>", field, …): report the field path.
    fields = {".".join(str(p) for p in e["loc"][2:]) or "body": e["msg"] for e in error.errors}
    return application_error(request, ValidationFailed(details=fields))


@participant_api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """ninja's own refusals in the contract's body: a body that is not JSON is a 422 naming it."""
    if error.status_code == 400:
        return application_error(request, ValidationFailed(details={"body": "JSON_INVALID"}))
    response = application_error(request, ApplicationError(details={"detail": error.message}))
    response.status_code = error.status_code
    return response


@participant_api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return application_error(request, Unauthenticated())


def _me(request: HttpRequest) -> Registrant:
    registrant = request.auth  # type: ignore[attr-defined]
    assert isinstance(registrant, Registrant)
    return registrant


class ErrorBody(Schema):
    error: dict


class SignUpIn(Schema):
    email: str
    password: str
    nik: str
    full_name: str
    birth_date: datetime.date
    phone: str
    regency_code: str
    education: str
    employment: str
    in_school: bool
    language: str = "id"


class LayerOut(Schema):
    layer: str
    name: str
    status: str
    reason: str
    message: str
    todo: str
    can_retry: bool
    at: datetime.datetime | None


class StatusOut(Schema):
    registrant_id: int
    layers: list[LayerOut]


class LoginIn(Schema):
    email: str
    password: str


class TokenOut(Schema):
    token: str
    registrant_id: int


class CodeIn(Schema):
    code: str


class EmailIn(Schema):
    email: str


class ResetConfirmIn(Schema):
    email: str
    code: str
    new_password: str


class PhoneIn(Schema):
    phone: str


class NikCorrectionIn(Schema):
    full_name: str
    birth_date: datetime.date


class Accepted(Schema):
    ok: bool = True


class SignUpOut(Schema):
    signup_token: str = Field(
        description="Finishes this sign-up with the emailed code (`POST /auth/signup/email`). "
        "Keep it on the device; it is valid until the code expires (24 hours)."
    )
    email: str = Field(description="The email as the system keeps it (trimmed, lower case).")


class SignUpTokenIn(Schema):
    signup_token: OneLine = Field(min_length=1, max_length=100)


class SignUpCodeIn(Schema):
    signup_token: OneLine = Field(min_length=1, max_length=100)
    code: OneLine = Field(min_length=1, max_length=20, description="The 6 digits from the email.")


ERRORS = {400: ErrorBody, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody}


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
    "VALIDATION_FAILED naming each field; 429 RATE_LIMITED."
)


@participant_api.post(
    "/auth/signup",
    response={202: SignUpOut, **ERRORS},
    tags=["auth"],
    description=SIGN_UP_DOC,
)
def sign_up(request: HttpRequest, payload: SignUpIn) -> Status:
    receipt = services.registrant_sign_up(
        data=services.SignUp(**payload.dict()), client_ip=client_ip(request)
    )
    return Status(202, {"signup_token": receipt.token, "email": receipt.email})


@participant_api.post(
    "/auth/signup/email",
    response={200: TokenOut, **ERRORS},
    tags=["auth"],
    description="Finish a sign-up with its `signup_token` and the code from the email: the email "
    "is proved and the answer is a bearer token, as `POST /auth/login` gives. 400 CODE_INVALID "
    "for a wrong, used-up or expired code and for a token that finishes nothing (one answer for "
    "all of them); 429 RATE_LIMITED.",
)
def sign_up_email(request: HttpRequest, payload: SignUpCodeIn) -> dict:
    registrant = services.sign_up_email_verify(
        token=payload.signup_token, code=payload.code, client_ip=client_ip(request)
    )
    return _token_for(registrant)


@participant_api.post(
    "/auth/signup/email/resend",
    response={202: Accepted, **ERRORS},
    tags=["auth"],
    description="Send the sign-up's email code again (at most once a minute and five times a "
    "day; the answer is `202` either way).",
)
def sign_up_email_resend(request: HttpRequest, payload: SignUpTokenIn) -> Status:
    services.sign_up_email_resend(token=payload.signup_token, client_ip=client_ip(request))
    return Status(202, {"ok": True})


def _token_for(registrant: Registrant) -> dict:
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(registrant=registrant, token_hash=_hash(token))
    return {"token": token, "registrant_id": registrant.pk}


@participant_api.post("/auth/login", response={200: TokenOut, **ERRORS}, tags=["auth"])
def log_in(request: HttpRequest, payload: LoginIn) -> dict:
    registrant = services.registrant_authenticate(
        email=payload.email, password=payload.password, client_ip=client_ip(request)
    )
    return _token_for(registrant)


@participant_api.post(
    "/auth/logout", response={200: Accepted, **ERRORS}, auth=BearerToken(), tags=["auth"]
)
def log_out(request: HttpRequest) -> dict:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    ApiToken.objects.filter(token_hash=_hash(token)).update(revoked_at=timezone.now())
    return {"ok": True}


@participant_api.post("/auth/password-reset", response={202: Accepted, **ERRORS}, tags=["auth"])
def reset_request(request: HttpRequest, payload: EmailIn) -> Status:
    services.password_reset_request(email=payload.email, client_ip=client_ip(request))
    return Status(202, {"ok": True})


@participant_api.post(
    "/auth/password-reset/confirm", response={200: Accepted, **ERRORS}, tags=["auth"]
)
def reset_confirm(request: HttpRequest, payload: ResetConfirmIn) -> dict:
    services.password_reset_confirm(
        email=payload.email, code=payload.code, new_password=payload.new_password
    )
    return {"ok": True}


@participant_api.get(
    "/me/status", response={200: StatusOut, **ERRORS}, auth=BearerToken(), tags=["verification"]
)
def status(request: HttpRequest) -> dict:
    return _status(_me(request))


@participant_api.post(
    "/me/nik/correct",
    response={200: StatusOut, **ERRORS},
    auth=BearerToken(),
    tags=["verification"],
)
def nik_correct(request: HttpRequest, payload: NikCorrectionIn) -> dict:
    registrant = services.nik_correct(
        registrant=_me(request), full_name=payload.full_name, birth_date=payload.birth_date
    )
    return _status(registrant)


@participant_api.post(
    "/me/phone/verify",
    response={200: StatusOut, **ERRORS},
    auth=BearerToken(),
    tags=["verification"],
)
def phone_verify(request: HttpRequest, payload: CodeIn) -> dict:
    registrant = services.phone_verify_code(
        registrant=_me(request), code=payload.code, client_ip=client_ip(request)
    )
    return _status(registrant)


@participant_api.post(
    "/me/phone/resend",
    response={202: Accepted, **ERRORS},
    auth=BearerToken(),
    tags=["verification"],
)
def phone_resend(request: HttpRequest) -> Status:
    services.phone_resend(registrant=_me(request), client_ip=client_ip(request))
    return Status(202, {"ok": True})


@participant_api.put(
    "/me/phone", response={200: StatusOut, **ERRORS}, auth=BearerToken(), tags=["verification"]
)
def phone_change(request: HttpRequest, payload: PhoneIn) -> dict:
    registrant = services.phone_change(
        registrant=_me(request), phone=payload.phone, client_ip=client_ip(request)
    )
    return _status(registrant)


@participant_api.post(
    "/me/selfie", response={200: StatusOut, **ERRORS}, auth=BearerToken(), tags=["verification"]
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
    "/waves/open", response={200: WaveOut, 404: ErrorBody, **ERRORS}, tags=["waves"]
)
def open_wave(request: HttpRequest) -> Wave:
    wave = wave_open()
    if wave is None:
        raise NoOpenWave()
    return wave


@participant_api.post(
    "/me/applications", response={201: ApplicationOut, **ERRORS}, auth=BearerToken(), tags=["waves"]
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
    response={200: list[ApplicationOut], **ERRORS},
    auth=BearerToken(),
    tags=["waves"],
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
    response={200: ParticipantOut, 404: ErrorBody, 401: ErrorBody},
    auth=BearerToken(),
    tags=["waves"],
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
    training_id: int = Field(ge=1, le=2**63 - 1, description="The training's `id` in the catalog.")


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
    review: "ReviewOut | None" = Field(
        description="Your review of the training, once written (required before any incentive)."
    )


class ReviewIn(Schema):
    stars: int = Field(description="1 to 5.")
    text: str = Field(description="At least the scheme's minimum number of characters (20).")


class ReviewOut(Schema):
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
    response={201: OrderOut, 404: ErrorBody, **ERRORS},
    auth=BearerToken(),
    tags=["orders"],
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
    response={200: list[OrderOut], 404: ErrorBody, 401: ErrorBody},
    auth=BearerToken(),
    tags=["orders"],
)
def my_orders(request: HttpRequest) -> list[dict[str, Any]]:
    """The person's trainings, newest purchase first: voucher, status, progress and certificate.
    404 NOT_A_PARTICIPANT until the person is selected in a wave."""
    participant = _participant_of(_me(request))
    return [_order(order, participant) for order in participant_orders(participant.pk)]


@participant_api.post(
    "/orders/{order_id}/review",
    response={200: ReviewOut, 201: ReviewOut, 404: ErrorBody, 409: ErrorBody, **ERRORS},
    auth=BearerToken(),
    tags=["orders"],
)
def order_review_put(request: HttpRequest, order_id: int, payload: ReviewIn) -> Status:
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
