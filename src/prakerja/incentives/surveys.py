"""Post-training surveys (program.md §5): survey k opens with the k-th monthly incentive (its due
date), for the scheme's number of surveys; each submitted survey earns the survey incentive once.
The questions are the scheme's (`ProgramScheme.survey_questions`)."""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.incentives.entitlements import entitlements_accrue, today_wib
from prakerja.incentives.errors import SurveyAlreadySubmitted, SurveyNotOpen
from prakerja.incentives.models import (
    Entitlement,
    EntitlementKind,
    SurveyResponse,
)
from prakerja.waves.models import Participant

# The codes of questions and of their choices as the participant API's schema states them. The
# questions themselves are the scheme's data, which no static document holds: answers that do not
# fit them are SURVEY_ANSWERS_MISMATCH (409), naming each question.
SURVEY_CODE_PATTERN = r"^[A-Za-z0-9_]{1,64}$"


class SurveyAnswersMismatch(ValidationFailed):
    """details: {question code: REQUIRED | CHOICE_INVALID | UNKNOWN_QUESTION}, as
    VALIDATION_FAILED names fields (the portal shows each under its question)."""

    code = "SURVEY_ANSWERS_MISMATCH"
    http_status = 409
    message_id = (
        "Jawaban tidak sesuai dengan pertanyaan survei. Periksa pertanyaan yang disebutkan."
    )
    message_en = "The answers do not fit the survey's questions. Check the questions named."


def surveys_open(participant: Participant) -> list[int]:
    """The survey numbers the participant may fill in now (open and not yet submitted)."""
    opened = Entitlement.objects.filter(
        participant=participant,
        kind=EntitlementKind.INCENTIVE,
        sequence__lte=participant.scheme.survey_count,
        due_on__lte=today_wib(),
    ).values_list("sequence", flat=True)
    done = set(
        SurveyResponse.objects.filter(participant=participant).values_list("sequence", flat=True)
    )
    return sorted(set(opened) - done)


def survey_answers_validate(
    questions: list[dict[str, Any]], answers: Mapping[str, Any]
) -> dict[str, str]:
    """Every question answered with one of its choices; nothing else (else
    SURVEY_ANSWERS_MISMATCH)."""
    problems: dict[str, str] = {}
    clean: dict[str, str] = {}
    for question in questions:
        code = question["code"]
        value = answers.get(code)
        if value in (None, ""):
            problems[code] = "REQUIRED"
        elif value not in {choice["code"] for choice in question["choices"]}:
            problems[code] = "CHOICE_INVALID"
        else:
            clean[code] = str(value)
    for extra in set(answers) - {q["code"] for q in questions}:
        problems[str(extra)] = "UNKNOWN_QUESTION"
    if problems:
        raise SurveyAnswersMismatch(details=problems)
    return clean


def survey_submit(
    *, participant: Participant, sequence: int, answers: Mapping[str, Any], actor: Actor
) -> SurveyResponse:
    """Record survey `sequence` and grant its incentive (accrued in the ledger). Errors:
    SURVEY_ANSWERS_MISMATCH (per question), SURVEY_NOT_OPEN, SURVEY_ALREADY_SUBMITTED."""
    scheme = participant.scheme
    clean = survey_answers_validate(scheme.survey_questions, answers)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if SurveyResponse.objects.filter(participant=locked, sequence=sequence).exists():
            raise SurveyAlreadySubmitted(details={"sequence": sequence})
        if sequence not in surveys_open(locked):
            raise SurveyNotOpen(details={"sequence": sequence}, sequence=sequence)
        try:
            with transaction.atomic():
                response = SurveyResponse.objects.create(
                    participant=locked, sequence=sequence, answers=clean
                )
        except IntegrityError:
            raise SurveyAlreadySubmitted(details={"sequence": sequence}) from None
        if scheme.survey_incentive_idr > 0:
            entitlement = Entitlement.objects.create(
                participant=locked,
                kind=EntitlementKind.SURVEY,
                sequence=sequence,
                amount_idr=scheme.survey_incentive_idr,
                due_on=today_wib(),
            )
            entitlements_accrue([entitlement], actor=actor)
        audit_record(
            actor=actor,
            event_type="survey.submitted",
            subject=response,
            details={"sequence": sequence},
        )
    return response
