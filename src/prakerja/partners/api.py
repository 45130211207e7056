"""The partner API (partner-api.md), version 1, at /api/partner/v1: the signed, idempotent calls
digital platforms and financial institutions make. OpenAPI at /api/partner/v1/docs and
/api/partner/v1/openapi.json. Each capability's router imports this module and is mounted where the
URLs are (config/urls.py), so nothing here imports an app."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader

from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.common.field_codes import FIELD_CODES as COMMON_FIELD_CODES
from prakerja.common.field_codes import field_codes
from prakerja.partners.auth import partner_authenticate
from prakerja.partners.errors import PartnerKindNotAllowed, SignatureInvalid
from prakerja.partners.idempotency import idempotent
from prakerja.partners.models import Partner

DESCRIPTION = """
The contract digital platforms and financial institutions integrate against (partner-api.md).

**Every request** carries four headers:

* `X-PARTNER-ID` — your partner code.
* `X-TIMESTAMP` — ISO 8601 with offset; refused when more than 5 minutes off the server clock.
* `X-EXTERNAL-ID` — unique per partner for 24 hours; the idempotency key of POST/PUT/DELETE: the
  same key with the same body returns the first answer again without acting twice; with a different
  body it is `409 IDEMPOTENCY_KEY_REUSED`.
* `X-SIGNATURE` — base64 of HMAC-SHA256 with your secret over
  `METHOD:PATH_WITH_QUERY:lowercase_hex(SHA-256(raw body)):X-TIMESTAMP:X-EXTERNAL-ID`, where
  `PATH_WITH_QUERY` is the request target exactly as you send it on the request line: percent-encoding
  unchanged (`%28` stays `%28`), the query string in its order, no scheme or host.

Errors: `{"error": {"code", "message", "details"}}` — `401 SIGNATURE_INVALID`,
`401 TIMESTAMP_OUT_OF_RANGE`, `401 PARTNER_UNKNOWN`, `403 PARTNER_SUSPENDED`,
`422 VALIDATION_FAILED` (failing fields in `details`), `429 RATE_LIMITED` (with `Retry-After`);
before any of these, `404 PATH_NOT_FOUND` (no such address), `405 METHOD_NOT_ALLOWED` (with
`Allow`), `413 REQUEST_TOO_LARGE` (a body over 6 MiB) and `400 BAD_REQUEST` (unreadable headers).
You only ever see your own data: another partner's object is `404`, never `403`.

**What the schema says is what the server checks.** A body or parameter valid against this
document is never refused `422`; one that is not valid always is, each failing field named in
`details` with a code:

* Types are strict: an integer is a JSON number without a fraction (`5`; `5.0` is the same
  number to JSON Schema; not `"5"`, not `5.5`), a boolean is `true` or `false` (not `"true"`), a
  number is a JSON number (not `"1.5"`), a time is a string (`INTEGER_REQUIRED`,
  `BOOLEAN_REQUIRED`, `NUMBER_REQUIRED`, `DATETIME_INVALID`).
* Text follows one policy, stated as each field's `pattern`: control characters (U+0000–U+001F
  but tab, line feed and carriage return; U+007F–U+009F), lone surrogates and the bidirectional
  embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) are refused as
  `CHARACTER_INVALID`; descriptions may hold several lines (tab, line feed, carriage return), every
  other text — names, titles, ids, codes, addresses, URLs — is one line. Required text of nothing but
  white space is `REQUIRED`; white space around text is dropped.
* Times you send (`completed_at`, `reported_at`, `updated_since`) are RFC 3339 with an offset
  (`2020-04-22T17:36:00+07:00`); whole seconds are enough. Compared with the system's own times to
  the second, a time before the voucher's redemption second or more than five minutes ahead of the
  server clock is `409 TIME_OUT_OF_RANGE` (no schema can state that), `details` naming the field.
* Money is integer rupiah (`*_idr`). Times in answers are ISO 8601 in WIB (`+07:00`).
* Voucher codes are answered grouped by four (`ABCD-EFGH-JKMN-P`) everywhere; you may send them
  with or without hyphens, in either case.
"""


class PartnerSignature(APIKeyHeader):
    """Documents X-SIGNATURE as the scheme; the check itself covers all four headers."""

    param_name = "X-SIGNATURE"

    def authenticate(self, request: HttpRequest, key: str | None) -> Partner:
        return partner_authenticate(request)


partner_api = NinjaAPI(
    title="Kartu Prakerja — partner API",
    version="1",
    urls_namespace="partner_api",
    description=DESCRIPTION,
    auth=PartnerSignature(),
)


@partner_api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = partner_api.create_response(request, error.body("en"), status=error.http_status)
    for name, value in error.headers().items():  # Retry-After on a 429
        response[name] = value
    return response


# The participant API's table of pydantic's error types (common/field_codes.py), but where the
# partner contract names other codes: a blank or too-short text is REQUIRED, a pattern refused is
# the text policy's CHARACTER_INVALID (partners/fields.py), and the partner API's own types. An
# unknown field keeps pydantic's name (EXTRA_FORBIDDEN), as partner-api.md has it.
FIELD_CODES = {
    **{k: v for k, v in COMMON_FIELD_CODES.items() if k != "extra_forbidden"},
    "blank": "REQUIRED",
    "string_too_short": "REQUIRED",
    "string_pattern_mismatch": "CHARACTER_INVALID",
    "url_invalid": "URL_INVALID",
    "out_of_range": "OUT_OF_RANGE",
    "list_type": "LIST_REQUIRED",
    "too_short": "TOO_SHORT",
    "too_long": "TOO_LONG",
    "regency_unknown": "REGENCY_UNKNOWN",
    "offline_only": "OFFLINE_ONLY",
    "cursor_invalid": "CURSOR_INVALID",
}


@partner_api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    fields = field_codes(list(error.errors), table=FIELD_CODES)
    return application_error(request, ValidationFailed(details=fields))


@partner_api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return application_error(request, SignatureInvalid())


@partner_api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """ninja's own refusals in the contract's body: a body that is not JSON is a 422 naming it."""
    if error.status_code == 400:
        return application_error(request, ValidationFailed(details={"body": "JSON_INVALID"}))
    generic = ApplicationError(details={"detail": error.message})
    response = application_error(request, generic)
    response.status_code = error.status_code
    return response


@partner_api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return application_error(request, NotFound())


# --- documentation shared by every router ----------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(description="Stable, UPPER_SNAKE; branch on this.", examples=["NOT_FOUND"])
    message: str = Field(description="Human text (English).")
    details: dict[str, Any] = Field(
        description="The facts: for VALIDATION_FAILED the failing fields, each with a code "
        '(`{"price_idr": "OUT_OF_RANGE"}`); for RATE_LIMITED `retry_after_s`.'
    )


class ErrorBody(Schema):
    error: ErrorDetail


# The refusals every signed call may get; a router adds its own (404, 409, 410) with `errors()`.
ERROR_DESCRIPTIONS = {
    401: "`SIGNATURE_INVALID` (also for missing headers), `TIMESTAMP_OUT_OF_RANGE`, "
    "`PARTNER_UNKNOWN`.",
    403: "`PARTNER_SUSPENDED`; `PARTNER_KIND_NOT_ALLOWED` when the call is for the other kind of "
    "partner.",
    409: "`IDEMPOTENCY_KEY_REUSED`: this X-EXTERNAL-ID was used with a different request.",
    422: "`VALIDATION_FAILED`: `details` names each failing field with a code.",
    429: "`RATE_LIMITED`: wait `Retry-After` seconds.",
}


SIGNED_HEADERS: list[dict[str, Any]] = [
    {
        "in": "header",
        "name": "X-PARTNER-ID",
        "required": True,
        "schema": {"type": "string"},
        "description": "Your partner code.",
    },
    {
        "in": "header",
        "name": "X-TIMESTAMP",
        "required": True,
        "schema": {"type": "string", "format": "date-time"},
        "description": "ISO 8601 with offset; refused when more than 5 minutes off the server "
        "clock.",
    },
    {
        "in": "header",
        "name": "X-EXTERNAL-ID",
        "required": True,
        "schema": {"type": "string", "maxLength": 64},
        "description": "Unique per partner for 24 hours; the idempotency key of POST, PUT and "
        "DELETE.",
    },
]


def errors(
    extra: dict[int, str] | None = None,
) -> tuple[dict[int, type[Schema]], dict[str, Any]]:
    """Error responses for an operation: ({status: ErrorBody}, openapi_extra with the signed
    headers and each status's codes). `extra` adds statuses or codes: errors({404: "`…`"})."""
    descriptions = dict(ERROR_DESCRIPTIONS)
    for status, text in (extra or {}).items():
        descriptions[status] = f"{descriptions[status]} {text}" if status in descriptions else text
    responses: dict[int, type[Schema]] = {status: ErrorBody for status in descriptions}
    openapi_extra: dict[str, Any] = {
        "parameters": list(SIGNED_HEADERS),
        "responses": {status: {"description": text} for status, text in descriptions.items()},
    }
    return responses, openapi_extra


def caller(request: HttpRequest, *, kind: str | None = None) -> Partner:
    """The authenticated partner; with `kind`, refused with 403 PARTNER_KIND_NOT_ALLOWED unless it
    is a partner of that kind (checked before any work, so nothing is stored for the key)."""
    partner = request.auth  # type: ignore[attr-defined]
    assert isinstance(partner, Partner)
    if kind is not None and partner.kind != kind:
        raise PartnerKindNotAllowed(details={"kind": partner.kind, "required": kind}, kind=kind)
    return partner


def answer_once(request: HttpRequest, work: Any) -> HttpResponse:
    """Run a mutating call once per X-EXTERNAL-ID and answer with the first answer."""
    status, body = idempotent(request=request, partner=caller(request), work=work)
    return HttpResponse(body, status=status, content_type="application/json")
