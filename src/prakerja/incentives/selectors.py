"""Reads of a participant's incentives, for the portal's incentive page and the participant API:
the payment account, the schedule of entitlements with any transfer in flight, the surveys, what is
still missing before any incentive, and the words that explain a refused account or a held payment
(why, and what the participant can do about it) in the active language."""

import datetime
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from prakerja.incentives.accounts import payment_account_current
from prakerja.incentives.entitlements import participant_has_reviewed_completion
from prakerja.incentives.models import (
    IN_FLIGHT,
    Entitlement,
    EntitlementKind,
    PaymentAccount,
    PaymentAccountStatus,
    SurveyResponse,
    TransferInstruction,
)
from prakerja.incentives.surveys import surveys_open
from prakerja.waves.models import Participant

# Codes of what is missing before the first incentive (the conditions of entitlements.py).
MISSING_TRAINING = "TRAINING_REVIEWED"  # a completed training with certificate, and its review
MISSING_ACCOUNT = "ACCOUNT_VERIFIED"  # a payment account the institution verified

# Why an account was refused or unlinked, or a payment held, and what to do: the institutions'
# reason codes (partner-api.md), REPLACED, and HoldReason. `%(institution)s` is the bank or
# e-wallet of the participant's account.
REASONS: dict[str, tuple[Promise, Promise]] = {
    "NO_ACCOUNT": (
        _("There is no verified bank account or e-wallet to pay into."),
        _("Link a bank account or e-wallet in your own name below."),
    ),
    "NIK_MISMATCH": (
        _("The account is in someone else's name: its owner's NIK is not yours."),
        _("Use an account in your own name, registered with your own NIK, and link it below."),
    ),
    "NOT_UPGRADED": (
        _("The e-wallet is not upgraded to premium (KYC), so it cannot receive the incentive."),
        _(
            "Upgrade the e-wallet to premium in its app (verify it with your ID card), then link "
            "it again below."
        ),
    ),
    "ACCOUNT_INACTIVE": (
        _("The account is not active."),
        _("Activate it at %(institution)s, then link it again below."),
    ),
    "ACCOUNT_NOT_FOUND": (
        _("The bank or e-wallet did not find this account."),
        _("Check the number and link it again below, or open an account first."),
    ),
    "PHONE_CHANGED": (
        _("Your mobile number changed, so the e-wallet of your old number can no longer be paid."),
        _("Link an e-wallet registered with your new number below."),
    ),
    "REPLACED": (
        _("You linked another account in its place."),
        _("Nothing: the incentives go to the account you linked last."),
    ),
    "LIMIT_REACHED": (
        _(
            "The e-wallet's balance or monthly limit was reached, so it could not receive the "
            "transfer."
        ),
        _(
            "Make room in the e-wallet (use some of its balance, or upgrade it), then link it "
            "again below, or link another account."
        ),
    ),
    "ATTEMPTS_EXHAUSTED": (
        _("The transfer failed several times."),
        _(
            "Ask %(institution)s whether the account can receive money, then link it again below, "
            "or link another account. The payment is tried again once the account is verified."
        ),
    ),
    "EXCLUDED": (
        _(
            "Your NIK is on a list of people the program cannot pay, for example recipients of "
            "other social assistance or civil servants."
        ),
        _("If you think this is a mistake, contact the Kartu Prakerja help desk."),
    ),
    # Completions in doubt (orders' flags): nothing the participant can fix, so the words say that
    # someone is looking and where to object.
    "FAST_COMPLETION": (
        _(
            "Your training was reported completed in less time than the training takes, so the "
            "program is checking the completion before paying the incentive."
        ),
        _(
            "Nothing for now: the Kartu Prakerja program management office is checking it and "
            "the incentive is paid if the completion stands. If you believe this is a mistake, "
            "file a complaint with the Kartu Prakerja help desk."
        ),
    ),
    "REVIEW_FLAGGED": (
        _(
            "Your training review has the same text as a review from another account, so the "
            "program is checking it before paying the incentive."
        ),
        _(
            "Nothing for now: the Kartu Prakerja program management office is checking it and "
            "the incentive is paid if the review stands. If you believe this is a mistake, file "
            "a complaint with the Kartu Prakerja help desk."
        ),
    ),
}
REASON_OTHER = (
    _("The payment could not be made (code %(code)s)."),
    _("Contact the Kartu Prakerja help desk and name this code."),
)


@dataclass(frozen=True)
class Reason:
    code: str
    message: str  # why, in the active language
    todo: str  # what to do


def reason_explained(code: str, *, institution: str = "") -> Reason:
    """The words for a reason code in the active language."""
    why, todo = REASONS.get(code, REASON_OTHER)
    values = {"code": code, "institution": institution or gettext("your bank or e-wallet")}
    return Reason(code=code, message=str(why) % values, todo=str(todo) % values)


@dataclass(frozen=True)
class ScheduleItem:
    entitlement: Entitlement
    in_flight: bool  # a transfer of it is sent and not yet settled
    hold: Reason | None  # held: why and what to do


@dataclass(frozen=True)
class SurveyDone:
    sequence: int
    submitted_at: datetime.datetime


@dataclass(frozen=True)
class ParticipantIncentives:
    participant: Participant
    account: PaymentAccount | None  # the current one, else the last one (refused or unlinked)
    account_reason: Reason | None  # refused or unlinked: why and what to do
    schedule: list[ScheduleItem]  # monthly incentives by sequence, then survey incentives
    surveys_open: list[int]
    surveys_submitted: list[SurveyDone]
    # Before the first incentive: MISSING_TRAINING and/or MISSING_ACCOUNT; empty once granted.
    missing: list[str] = field(default_factory=list)


def participant_of_registrant(registrant_id: int) -> Participant | None:
    return (
        Participant.objects.filter(registrant_id=registrant_id)
        .select_related("scheme", "registrant")
        .first()
    )


def participant_incentives(participant: Participant) -> ParticipantIncentives:
    account = payment_account_current(participant)
    institution = account.institution.name if account is not None else ""
    account_reason = None
    if account is not None and account.reason_code:
        account_reason = reason_explained(account.reason_code, institution=institution)
    in_flight = set(
        TransferInstruction.objects.filter(
            entitlement__participant=participant, status__in=IN_FLIGHT
        ).values_list("entitlement_id", flat=True)
    )
    entitlements = list(
        Entitlement.objects.filter(participant=participant).order_by("kind", "sequence")
    )
    schedule = [
        ScheduleItem(
            entitlement=e,
            in_flight=e.pk in in_flight,
            hold=reason_explained(e.hold_reason, institution=institution)
            if e.hold_reason
            else None,
        )
        for e in entitlements
    ]
    missing = []
    if not any(e.kind == EntitlementKind.INCENTIVE for e in entitlements):
        if not participant_has_reviewed_completion(participant.pk):
            missing.append(MISSING_TRAINING)
        if account is None or account.status != PaymentAccountStatus.VERIFIED:
            missing.append(MISSING_ACCOUNT)
    submitted = [
        SurveyDone(sequence=sequence, submitted_at=at)
        for sequence, at in SurveyResponse.objects.filter(participant=participant)
        .order_by("sequence")
        .values_list("sequence", "submitted_at")
    ]
    return ParticipantIncentives(
        participant=participant,
        account=account,
        account_reason=account_reason,
        schedule=schedule,
        surveys_open=surveys_open(participant),
        surveys_submitted=submitted,
        missing=missing,
    )


def survey_state(participant: Participant, sequence: int) -> str:
    """`submitted`, `open` (may be filled in now) or `not_open`."""
    if SurveyResponse.objects.filter(participant=participant, sequence=sequence).exists():
        return "submitted"
    return "open" if sequence in surveys_open(participant) else "not_open"


def survey_entitlement(participant: Participant, sequence: int) -> Entitlement | None:
    """The incentive survey `sequence` earned, once sent."""
    return Entitlement.objects.filter(
        participant=participant, kind=EntitlementKind.SURVEY, sequence=sequence
    ).first()


def survey_questions_shown(participant: Participant, language: str) -> list[dict[str, object]]:
    """The scheme's questions with the text of `language`: [{code, text, choices: [{code,
    text}]}]."""
    key = "text_en" if language.startswith("en") else "text_id"
    return [
        {
            "code": question["code"],
            "text": question[key],
            "choices": [
                {"code": choice["code"], "text": choice[key]} for choice in question["choices"]
            ],
        }
        for question in participant.scheme.survey_questions
    ]
