"""Post-training surveys (program.md §5): survey k opens with the k-th monthly incentive (its due
date), for the scheme's number of surveys; each submitted survey earns the survey incentive once.
The questions are the scheme's (`ProgramScheme.survey_questions`)."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.incentives.entitlements import today_wib
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
    due = Entitlement.objects.filter(
        participant=participant, kind=EntitlementKind.INCENTIVE, due_on__lte=today_wib()
    ).values_list("sequence", flat=True)
    done = SurveyResponse.objects.filter(participant=participant).values_list("sequence", flat=True)
    return surveys_open_among(
        incentives_due=due, submitted=done, survey_count=participant.scheme.survey_count
    )


def surveys_open_among(
    *, incentives_due: Iterable[int], submitted: Iterable[int], survey_count: int
) -> list[int]:
    """The rule of an open survey: survey k opens with the k-th incentive's due date, for the
    scheme's number of surveys, until it is submitted."""
    return sorted({k for k in incentives_due if k <= survey_count} - set(submitted))


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
    SURVEY_ANSWERS_MISMATCH (per question), SURVEY_ALREADY_SUBMITTED, SURVEY_NOT_OPEN. The
    one-item case of `surveys_submit_bulk`, so the two cannot drift apart."""
    # Imported here: surveys_bulk applies this module's rules.
    from prakerja.incentives.surveys_bulk import surveys_submit_bulk

    with transaction.atomic(durable=True):
        (answer,) = surveys_submit_bulk(
            answers=[(participant.pk, sequence, dict(answers))], actor=actor
        )
    if isinstance(answer, Refused):
        raise answer.error
    return SurveyResponse.objects.get(pk=answer)
