"""The partner API (partner-api.md), version 1, at /api/partner/v1: the signed, idempotent calls
digital platforms and financial institutions make. OpenAPI at /api/partner/v1/docs and
/api/partner/v1/openapi.json. Each capability adds its router here (catalog: trainings)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader

from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.partners.auth import partner_authenticate
from prakerja.partners.errors import SignatureInvalid
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
  `METHOD:PATH_WITH_QUERY:lowercase_hex(SHA-256(raw body)):X-TIMESTAMP:X-EXTERNAL-ID`.

Errors: `{"error": {"code", "message", "details"}}` — `401 SIGNATURE_INVALID`,
`401 TIMESTAMP_OUT_OF_RANGE`, `401 PARTNER_UNKNOWN`, `403 PARTNER_SUSPENDED`,
`422 VALIDATION_FAILED` (failing fields in `details`), `429 RATE_LIMITED` (with `Retry-After`).
You only ever see your own data: another partner's object is `404`, never `403`.
Money is integer rupiah (`*_idr`); times are ISO 8601 with offset.
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
    retry_after = error.details.get("retry_after_s") if error.http_status == 429 else None
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@partner_api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    fields = {
        ".".join(str(p) for p in e["loc"][2:]) or str(e["loc"][-1] if e["loc"] else "body"): e[
            "msg"
        ]
        for e in error.errors
    }
    return application_error(request, ValidationFailed(details=fields))


@partner_api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return application_error(request, SignatureInvalid())


def caller(request: HttpRequest) -> Partner:
    partner = request.auth  # type: ignore[attr-defined]
    assert isinstance(partner, Partner)
    return partner


def answer_once(request: HttpRequest, work: Any) -> HttpResponse:
    """Run a mutating call once per X-EXTERNAL-ID and answer with the first answer."""
    status, body = idempotent(request=request, partner=caller(request), work=work)
    return HttpResponse(body, status=status, content_type="application/json")
