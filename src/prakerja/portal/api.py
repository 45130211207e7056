"""Participant JSON API for the mobile app: the same steps as the portal pages. OpenAPI at
/api/v1/docs and /api/v1/openapi.json. Errors use the partner API's body:
{"error": {"code", "message", "details"}}, the message in the Accept-Language language.

This module holds the API object and what every app's endpoints share (error body and handlers,
refusals, strict bodies); it imports no app. Each app's endpoints are a router in its
`participant_api.py`, mounted where the URLs are (config/urls.py); the bearer token is
registration's (registration/api_tokens.py)."""

import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict

from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.common.field_codes import field_codes


class Unauthenticated(ApplicationError):
    code = "UNAUTHENTICATED"
    http_status = 401
    message_id = "Silakan masuk terlebih dahulu."
    message_en = "Please sign in first."


class NotAParticipant(NotFound):
    code = "NOT_A_PARTICIPANT"
    message_id = (
        "Anda belum menjadi peserta Kartu Prakerja. Ikuti gelombang yang dibuka dan tunggu hasil "
        "seleksinya."
    )
    message_en = (
        "You are not a Kartu Prakerja participant yet. Join an open wave and wait for its result."
    )


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


def answer_language() -> str:
    """The language of this answer's messages: Accept-Language's, Indonesian by default."""
    return get_language() or "id"


@participant_api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = participant_api.create_response(
        request, error.body(answer_language()), status=error.http_status
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


def refusals(*statuses: int) -> dict[int, type[Schema]]:
    """The error body for each status an operation can refuse with (its description says the
    codes). A malformed body or parameter is 422; a missing or unknown bearer token 401."""
    return dict.fromkeys(statuses, ErrorBody)


def utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """Times in answers are UTC (the pages show WIB)."""
    return moment.astimezone(datetime.UTC) if moment is not None else None
