"""The participant's incentive pages (program.md §5 and §7): the payment account and the form to
link one, the schedule of incentives with what holds any of them and what to do, and the
post-training surveys. Views parse input, call one service and render; refusals are shown on the
form they concern, in the participant's language."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.money import format_rupiah
from prakerja.incentives.accounts import payment_account_link
from prakerja.incentives.entitlements import today_wib
from prakerja.incentives.errors import ParticipantNotEntitled, SurveyAlreadySubmitted, SurveyNotOpen
from prakerja.incentives.institutions import INSTITUTIONS, account_type_of, institutions_active
from prakerja.incentives.models import AccountType, PaymentAccountStatus
from prakerja.incentives.selectors import (
    participant_incentives,
    participant_of_registrant,
    reason_explained,
    survey_questions_shown,
    survey_state,
)
from prakerja.incentives.surveys import survey_submit
from prakerja.portal.account_views import registrant_required
from prakerja.registration.field_errors import field_error_text
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant, ParticipantStatus

# Reason codes of the account number that registration's field messages do not cover.
ACCOUNT_NUMBER_ERRORS = {
    "ACCOUNT_NUMBER_INVALID": gettext_lazy("The virtual account number must be 8 to 20 digits."),
    "PHONE_NOT_REGISTERED": gettext_lazy(
        "An e-wallet can only be linked with your registered mobile number, %(phone)s."
    ),
}
# Survey numbers are small; a larger one in the address is no survey (and would overflow a query).
SEQUENCE_MAX = 32767


def _language() -> str:
    return get_language() or "id"


def _participant(registrant: Registrant) -> Participant:
    participant = participant_of_registrant(registrant.pk)
    if participant is None:
        from prakerja.portal.api import NotAParticipant

        raise NotAParticipant()
    return participant


def _refusal_text(error: ApplicationError, registrant: Registrant) -> str:
    """A refused link in words: the account number's problem, else the error's message."""
    if isinstance(error, ValidationFailed) and "account_number" in error.details:
        code = str(error.details["account_number"])
        if code in ACCOUNT_NUMBER_ERRORS:
            return str(ACCOUNT_NUMBER_ERRORS[code]) % {"phone": registrant.phone}
        return field_error_text(code, _language())
    return error.message(_language())


@registrant_required
def incentives(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    """The account, the schedule, the surveys and the form to link an account."""
    return _incentives_page(request, registrant, _participant(registrant))


def _incentives_page(
    request: HttpRequest,
    registrant: Registrant,
    participant: Participant,
    *,
    refused: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """`refused`: a link the service refused ({form, institution, account_number, message}),
    shown on the form it came from with the number typed."""
    shown = participant_incentives(participant)
    institutions = institutions_active()
    active = participant.status == ParticipantStatus.ACTIVE
    scheme = participant.scheme
    return render(
        request,
        "portal/incentives.html",
        {
            "registrant": registrant,
            "shown": shown,
            "account": shown.account,
            "active": active,
            "not_active": "" if active else ParticipantNotEntitled().message(_language()),
            "banks": [
                i for i in institutions if account_type_of(i.code) == AccountType.VIRTUAL_ACCOUNT
            ],
            "wallets": [i for i in institutions if account_type_of(i.code) == AccountType.E_WALLET],
            "refused": refused or {},
            "today": today_wib(),
            "scheme": scheme,
        },
        status=status,
    )


@require_POST
@registrant_required
def account_link(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    """Link the account chosen (POST institution, account_number); back to the page with the
    institution's answer, or the form again with the refusal."""
    participant = _participant(registrant)
    code = request.POST.get("institution", "").strip()
    number = request.POST.get("account_number", "")
    try:
        account = payment_account_link(
            participant=participant,
            institution_code=code,
            account_number=number,
            actor=Actor.participant(registrant.pk),
        )
    except ApplicationError as error:
        # A problem of the number goes under its field; any other refusal above the forms.
        numbered = isinstance(error, ValidationFailed) and code in INSTITUTIONS
        refused = {
            "form": str(account_type_of(code)) if numbered else "",
            "institution": code,
            "account_number": number,
            "message": _refusal_text(error, registrant),
        }
        return _incentives_page(
            request, registrant, participant, refused=refused, status=error.http_status
        )
    name = account.institution.name
    if account.status == PaymentAccountStatus.VERIFIED:
        messages.success(request, _("Your account is verified. Your incentives are paid into it."))
    elif account.status == PaymentAccountStatus.REJECTED:
        reason = reason_explained(account.reason_code, institution=name)
        messages.error(
            request,
            _("%(institution)s did not accept the account: %(why)s %(todo)s")
            % {"institution": name, "why": reason.message, "todo": reason.todo},
        )
    else:
        messages.success(
            request,
            _(
                "%(institution)s is still checking the account. Open this page again in a few minutes."
            )
            % {"institution": name},
        )
    return redirect(reverse("portal:incentives") + "#account")


@registrant_required
def survey(request: HttpRequest, registrant: Registrant, sequence: int) -> HttpResponse:
    """Survey `sequence`: its questions (GET), then its answers (POST), which earn the survey's
    incentive once."""
    participant = _participant(registrant)
    if sequence > SEQUENCE_MAX:
        raise SurveyNotOpen(details={"sequence": sequence}, sequence=sequence)
    questions = survey_questions_shown(participant, _language())
    if request.method == "POST":
        answers = {str(q["code"]): request.POST.get(str(q["code"]), "") for q in questions}
        try:
            survey_submit(
                participant=participant,
                sequence=sequence,
                answers=answers,
                actor=Actor.participant(registrant.pk),
            )
        except ValidationFailed as error:
            return _survey_page(
                request, participant, sequence, questions, answers=answers, error=error
            )
        except ApplicationError as error:
            return _survey_page(
                request,
                participant,
                sequence,
                questions,
                refusal=error.message(_language()),
                status=error.http_status,
            )
        amount = participant.scheme.survey_incentive_idr
        messages.success(
            request,
            _("Thank you. %(amount)s will be paid for this survey.")
            % {"amount": format_rupiah(amount)}
            if amount
            else _("Thank you for filling in the survey."),
        )
        return redirect(reverse("portal:incentives") + "#surveys")
    state = survey_state(participant, sequence)
    refusal = ""
    if state == "submitted":
        refusal = SurveyAlreadySubmitted().message(_language())
    elif state == "not_open":
        refusal = SurveyNotOpen(sequence=sequence).message(_language())
    return _survey_page(request, participant, sequence, questions, refusal=refusal)


def _survey_page(
    request: HttpRequest,
    participant: Participant,
    sequence: int,
    questions: list[dict[str, Any]],
    *,
    answers: dict[str, str] | None = None,
    error: ValidationFailed | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    problems = error.details if error is not None else {}
    shown = [
        {
            **q,
            "error": field_error_text(problems[q["code"]], _language())
            if q["code"] in problems
            else "",
            "chosen": (answers or {}).get(q["code"], ""),
        }
        for q in questions
    ]
    return render(
        request,
        "portal/survey_form.html",
        {
            "sequence": sequence,
            "questions": shown,
            "refusal": refusal,
            "invalid": _(
                "Some answers are missing or not valid: see the notes under the questions."
            )
            if error is not None
            else "",
            "amount": participant.scheme.survey_incentive_idr,
        },
        status=422 if error is not None else status,
    )
