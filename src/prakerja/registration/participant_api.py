"""The participant API's registration and verification endpoints (/api/v1/auth/…, /me/status, the
NIK, phone and selfie steps): they parse the body, call one registration service and answer the
person's layers."""

import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict, Strict

from prakerja.common.api_types import Day, Flag, OneLine, TrimmedLine
from prakerja.common.client_address import client_address
from prakerja.portal.api import STRICT_BODY, answer_language, refusals
from prakerja.registration import services
from prakerja.registration.api_tokens import BearerToken, api_token_issue, api_token_revoke, me
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
from prakerja.registration.models import Education, Employment, Layer, LayerStatus, Registrant
from prakerja.registration.selectors import registrant_layers

router = Router()

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


def _status(registrant: Registrant) -> dict:
    layers = registrant_layers(registrant, language=answer_language())
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


@router.post(
    "/auth/signup",
    response={202: SignUpOut, **refusals(422, 409, 429)},
    tags=["auth"],
    description=SIGN_UP_DOC,
    operation_id="sign_up",
)
def sign_up(request: HttpRequest, payload: SignUpIn) -> Status:
    receipt = services.registrant_sign_up(
        data=services.SignUp(**payload.dict()), client_ip=client_address(request)
    )
    return Status(202, {"signup_token": receipt.token, "email": receipt.email})


@router.post(
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
        token=payload.signup_token, code=payload.code, client_ip=client_address(request)
    )
    return _token_for(registrant)


@router.post(
    "/auth/signup/email/resend",
    response={202: Accepted, **refusals(422, 429)},
    tags=["auth"],
    description="Send the sign-up's email code again (at most once a minute and five times a "
    "day; the answer is `202` either way).",
    operation_id="sign_up_email_resend",
)
def sign_up_email_resend(request: HttpRequest, payload: SignUpTokenIn) -> Status:
    services.sign_up_email_resend(token=payload.signup_token, client_ip=client_address(request))
    return Status(202, {"ok": True})


def _token_for(registrant: Registrant) -> dict:
    return {"token": api_token_issue(registrant=registrant), "registrant_id": registrant.pk}


@router.post(
    "/auth/login",
    response={200: TokenOut, **refusals(422, 401, 429)},
    tags=["auth"],
    operation_id="log_in",
)
def log_in(request: HttpRequest, payload: LoginIn) -> dict:
    registrant = services.registrant_authenticate(
        email=payload.email, password=payload.password, client_ip=client_address(request)
    )
    return _token_for(registrant)


@router.post(
    "/auth/logout",
    response={200: Accepted, **refusals(401)},
    auth=BearerToken(),
    tags=["auth"],
    operation_id="log_out",
)
def log_out(request: HttpRequest) -> dict:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    api_token_revoke(token=token)
    return {"ok": True}


@router.post(
    "/auth/password-reset",
    response={202: Accepted, **refusals(422, 429)},
    tags=["auth"],
    operation_id="password_reset",
)
def reset_request(request: HttpRequest, payload: EmailIn) -> Status:
    services.password_reset_request(email=payload.email, client_ip=client_address(request))
    return Status(202, {"ok": True})


@router.post(
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


@router.get(
    "/me/status",
    response={200: StatusOut, **refusals(401)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="status_get",
)
def status(request: HttpRequest) -> dict:
    return _status(me(request))


@router.post(
    "/me/nik/correct",
    response={200: StatusOut, **refusals(422, 401, 409)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="nik_correct",
)
def nik_correct(request: HttpRequest, payload: NikCorrectionIn) -> dict:
    registrant = services.nik_correct(
        registrant=me(request), full_name=payload.full_name, birth_date=payload.birth_date
    )
    return _status(registrant)


@router.post(
    "/me/phone/verify",
    response={200: StatusOut, **refusals(422, 401, 403, 409, 429)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="phone_verify",
)
def phone_verify(request: HttpRequest, payload: CodeIn) -> dict:
    registrant = services.phone_verify_code(
        registrant=me(request), code=payload.code, client_ip=client_address(request)
    )
    return _status(registrant)


@router.post(
    "/me/phone/resend",
    response={202: Accepted, **refusals(401, 409, 429)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="phone_resend",
)
def phone_resend(request: HttpRequest) -> Status:
    services.phone_resend(registrant=me(request), client_ip=client_address(request))
    return Status(202, {"ok": True})


@router.put(
    "/me/phone",
    response={200: StatusOut, **refusals(422, 401, 409, 429)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="phone_change",
)
def phone_change(request: HttpRequest, payload: PhoneIn) -> dict:
    registrant = services.phone_change(
        registrant=me(request), phone=payload.phone, client_ip=client_address(request)
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


@router.post(
    "/me/selfie",
    response={200: StatusOut, **refusals(422, 401, 409)},
    auth=BearerToken(),
    tags=["verification"],
    operation_id="selfie_submit",
    openapi_extra=SELFIE_DOC,
)
def selfie(request: HttpRequest, image: UploadedFile = File(...)) -> dict:  # noqa: B008 - ninja's idiom
    registrant = services.face_submit(
        registrant=me(request), image=image.read(services.SELFIE_MAX_BYTES + 1)
    )
    return _status(registrant)
