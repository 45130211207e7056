"""The participant API's incentives (registered under /api/v1/me with the bearer token of
portal/api.py, whose error body and handlers apply): what the incentive page shows, linking a
payment account, and sending a survey. Texts (`message`, `todo`) follow Accept-Language."""

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status
from pydantic import ConfigDict, Strict, WithJsonSchema

from prakerja.common.actors import Actor
from prakerja.incentives.accounts import (
    ACCOUNT_NUMBER_PATTERN,
    INSTITUTION_CODE_PATTERN,
    payment_account_link,
)
from prakerja.incentives.models import Entitlement, PaymentAccount
from prakerja.incentives.selectors import (
    ParticipantIncentives,
    Reason,
    participant_incentives,
    participant_of_registrant,
    reason_explained,
    survey_entitlement,
)
from prakerja.incentives.surveys import SURVEY_CODE_PATTERN, survey_submit
from prakerja.portal.api import ErrorBody, NotAParticipant, utc
from prakerja.portal.api_params import IntegerText
from prakerja.registration.api_tokens import me
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant

router = Router(tags=["incentives"])
SEQUENCE_MAX = 32767  # survey numbers are small integers (SurveyResponse.sequence)
Sequence = Annotated[
    int,
    IntegerText(minimum=1, maximum=SEQUENCE_MAX),
    Path(description="The survey's number (survey k opens with incentive k).", examples=[1]),
]


class IncentiveInstitutionOut(Schema):
    code: str = Field(description="bni (virtual account); linkaja, ovo, gopay (e-wallets).")
    name: str


class ReasonOut(Schema):
    code: str = Field(
        description="NIK_MISMATCH, NOT_UPGRADED, ACCOUNT_INACTIVE, ACCOUNT_NOT_FOUND, "
        "PHONE_CHANGED, REPLACED (accounts); NO_ACCOUNT, LIMIT_REACHED, ATTEMPTS_EXHAUSTED, "
        "EXCLUDED and the account codes (held payments)."
    )
    message: str = Field(description="Why, in the Accept-Language language.")
    todo: str = Field(description="What the participant can do about it.")


class PaymentAccountOut(Schema):
    institution: IncentiveInstitutionOut
    account_type: str = Field(description="virtual_account or e_wallet.")
    account_number: str = Field(
        description="The virtual account number, or the e-wallet's phone number (E.164)."
    )
    status: str = Field(
        description="checking (the institution has not answered yet), verified (incentives are "
        "paid into it), rejected (see `reason`) or unlinked (see `reason`)."
    )
    reason: ReasonOut | None = Field(description="Rejected or unlinked: why and what to do.")
    holder_name: str = Field(description="The holder's name as the institution reported it.")
    linked_at: datetime.datetime = Field(description="UTC.")
    checked_at: datetime.datetime | None = Field(description="When the institution answered (UTC).")


class EntitlementOut(Schema):
    kind: str = Field(description="incentive (monthly) or survey.")
    sequence: int = Field(description="Month number, or the survey's number.")
    amount_idr: int
    due_on: datetime.date = Field(description="The WIB date from which it is paid.")
    status: str = Field(description="due, held (see `hold`) or paid.")
    hold: ReasonOut | None = Field(description="Held: why and what to do.")
    paid_at: datetime.datetime | None = Field(description="UTC.")
    transfer_in_progress: bool = Field(
        description="A transfer has been sent and its result is not in yet."
    )


class SurveySentOut(Schema):
    sequence: int
    submitted_at: datetime.datetime = Field(description="UTC.")


class SurveyChoiceOut(Schema):
    code: str
    text_id: str
    text_en: str


class SurveyQuestionOut(Schema):
    code: str
    text_id: str
    text_en: str
    choices: list[SurveyChoiceOut]


class IncentivesOut(Schema):
    account: PaymentAccountOut | None = Field(
        description="The account being checked or verified, else the last one (rejected or "
        "unlinked); null if none was ever linked."
    )
    entitlements: list[EntitlementOut] = Field(
        description="Monthly incentives by number, then survey incentives by number."
    )
    surveys_open: list[int] = Field(
        description="Numbers of the surveys that may be sent now (survey k opens on the due date "
        "of incentive k)."
    )
    surveys_submitted: list[SurveySentOut]
    survey_questions: list[SurveyQuestionOut] = Field(
        description="The questions of every survey; answer each with one of its choice codes."
    )
    missing: list[str] = Field(
        description="Before the first incentive: TRAINING_REVIEWED (complete a training with its "
        "certificate and review it) and/or ACCOUNT_VERIFIED (link an account and have it "
        "verified); empty once the incentives are granted."
    )


class PaymentAccountIn(Schema):
    model_config = ConfigDict(extra="forbid")

    institution: Annotated[str, Strict()] = Field(
        pattern=INSTITUTION_CODE_PATTERN,
        description="Institution code: bni, linkaja, ovo or gopay (404 INSTITUTION_UNKNOWN for "
        "another).",
        examples=["ovo"],
    )
    account_number: Annotated[str, Strict()] = Field(
        pattern=ACCOUNT_NUMBER_PATTERN,
        description="A virtual account number (bni: 8 to 20 digits) or, for an e-wallet, your "
        "registered mobile number (0812…, 62812… or +62812…); a space or a hyphen may separate "
        "digits. A number of the other kind than the institution takes is 409 FIELDS_DISAGREE.",
        examples=["0812 3456 7890"],
    )


SurveyCode = Annotated[str, Strict(), Field(pattern=SURVEY_CODE_PATTERN)]
# pydantic would write the keys' rule as patternProperties, which lets any other key through:
# propertyNames says that every key is a code, as the validation does.
ANSWERS_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": SURVEY_CODE_PATTERN},
    "additionalProperties": {"type": "string", "pattern": SURVEY_CODE_PATTERN},
    "description": "Question code → choice code (`survey_questions` of GET /me/incentives), "
    "every question of the survey; answers that do not fit the questions are 409 "
    "SURVEY_ANSWERS_MISMATCH.",
    "examples": [
        {"employment_status": "employee", "training_helped": "yes", "training_effective": "yes"}
    ],
}


class SurveyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    answers: Annotated[dict[SurveyCode, SurveyCode], WithJsonSchema(ANSWERS_SCHEMA)]


class SurveyOut(Schema):
    sequence: int
    submitted_at: datetime.datetime = Field(description="UTC.")
    incentive: EntitlementOut | None = Field(
        description="The survey's incentive, due today; null if the scheme pays none."
    )


def _reason(reason: Reason | None) -> dict[str, str] | None:
    if reason is None:
        return None
    return {"code": reason.code, "message": reason.message, "todo": reason.todo}


def _account(account: PaymentAccount) -> dict[str, Any]:
    name = account.institution.name
    reason = (
        reason_explained(account.reason_code, institution=name) if account.reason_code else None
    )
    return {
        "institution": {"code": account.institution.code, "name": name},
        "account_type": account.account_type,
        "account_number": account.account_number,
        "status": account.status,
        "reason": _reason(reason),
        "holder_name": account.holder_name,
        "linked_at": utc(account.created_at),
        "checked_at": utc(account.checked_at),
    }


def _entitlement(
    entitlement: Entitlement, *, in_flight: bool = False, hold: Reason | None = None
) -> dict[str, Any]:
    return {
        "kind": entitlement.kind,
        "sequence": entitlement.sequence,
        "amount_idr": entitlement.amount_idr,
        "due_on": entitlement.due_on,
        "status": entitlement.status,
        "hold": _reason(hold),
        "paid_at": utc(entitlement.paid_at),
        "transfer_in_progress": in_flight,
    }


def _incentives(shown: ParticipantIncentives) -> dict[str, Any]:
    return {
        "account": _account(shown.account) if shown.account is not None else None,
        "entitlements": [
            _entitlement(item.entitlement, in_flight=item.in_flight, hold=item.hold)
            for item in shown.schedule
        ],
        "surveys_open": shown.surveys_open,
        "surveys_submitted": [
            {"sequence": s.sequence, "submitted_at": utc(s.submitted_at)}
            for s in shown.surveys_submitted
        ],
        "survey_questions": shown.participant.scheme.survey_questions,
        "missing": shown.missing,
    }


def _me(request: HttpRequest) -> tuple[Registrant, Participant]:
    registrant = me(request)
    participant = participant_of_registrant(registrant.pk)
    if participant is None:
        raise NotAParticipant()
    return registrant, participant


@router.get(
    "/incentives",
    response={200: IncentivesOut, 401: ErrorBody, 404: ErrorBody},
    summary="My incentives",
    operation_id="incentives_get",
)
def incentives(request: HttpRequest) -> dict[str, Any]:
    """The payment account (with why it was refused and what to do), the schedule of incentives
    (due, held with the reason and what to do, or paid; whether a transfer is in progress), the
    surveys open and sent with their questions, and what is missing before the first incentive.
    Errors: 401 UNAUTHENTICATED; 404 NOT_A_PARTICIPANT."""
    _, participant = _me(request)
    return _incentives(participant_incentives(participant))


@router.post(
    "/payment-account",
    response={201: PaymentAccountOut, **dict.fromkeys((401, 404, 409, 422), ErrorBody)},
    summary="Link a payment account",
    operation_id="payment_account_link",
)
def payment_account(request: HttpRequest, payload: PaymentAccountIn) -> Status:
    """Link a bank virtual account or an e-wallet in place of the current account, and check it
    with the institution: the answer's `status` is verified, rejected (with `reason`) or checking
    (the institution did not answer yet; asked again later). Errors: 401 UNAUTHENTICATED; 404
    NOT_A_PARTICIPANT, INSTITUTION_UNKNOWN; 409 MEMBERSHIP_NOT_ACTIVE, PHONE_NOT_REGISTERED (an
    e-wallet number that is not your registered one), FIELDS_DISAGREE with details
    {account_number: ACCOUNT_NUMBER_INVALID (the institution takes virtual accounts of 8 to 20
    digits) | PHONE_INVALID (it takes a mobile number)}; 422 VALIDATION_FAILED naming a field
    that breaks the schema."""
    registrant, participant = _me(request)
    account = payment_account_link(
        participant=participant,
        institution_code=payload.institution,
        account_number=payload.account_number,
        actor=Actor.participant(registrant.pk),
    )
    return Status(201, _account(account))


@router.post(
    "/surveys/{sequence}",
    response={201: SurveyOut, **dict.fromkeys((401, 404, 409, 422), ErrorBody)},
    summary="Send a survey",
    operation_id="survey_submit",
)
def survey(request: HttpRequest, sequence: Sequence, payload: SurveyIn) -> Status:
    """Answer survey `sequence` (once): its incentive is granted, due today. Errors: 401
    UNAUTHENTICATED; 404 NOT_A_PARTICIPANT; 409 SURVEY_NOT_OPEN (not open yet, or no such survey
    in your scheme), SURVEY_ALREADY_SUBMITTED, SURVEY_ANSWERS_MISMATCH with details by question
    code (REQUIRED, CHOICE_INVALID, UNKNOWN_QUESTION); 422 VALIDATION_FAILED naming a field that
    breaks the schema."""
    registrant, participant = _me(request)
    response = survey_submit(
        participant=participant,
        sequence=sequence,
        answers=payload.answers,
        actor=Actor.participant(registrant.pk),
    )
    incentive = survey_entitlement(participant, sequence)
    return Status(
        201,
        {
            "sequence": response.sequence,
            "submitted_at": utc(response.submitted_at),
            "incentive": _entitlement(incentive) if incentive is not None else None,
        },
    )
