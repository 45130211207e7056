"""Survey answers for a chunk at once, set-based: the one implementation of submitting a survey.
`survey_submit` (incentives/surveys.py) is its one-item call; the national simulation records
some 30.000 surveys at scale 0.01 through it in chunks.

Each item is answered as it would be after the chunk's earlier items: the answers checked by
`survey_answers_validate` (SURVEY_ANSWERS_MISMATCH per question), SURVEY_ALREADY_SUBMITTED (also
the same survey earlier in the chunk), SURVEY_NOT_OPEN (`surveys_open_among`); then the response,
the survey incentive (an entitlement due today, accrued in the ledger under the key
`entitlement:{id}` by `entitlements_accrue`) and the `survey.submitted` audit event. A refused item
changes nothing. A participant id that does not exist is refused as NOT_FOUND (`survey_submit` is
given a participant object and cannot meet one). One `actor`, one time and one ledger memo per
chunk.

Each chunk is one transaction and locks the participants (by id), then the ledger's balances (in
account-id order).
"""

import datetime
from collections.abc import Sequence

from django.db import connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import among, db_time, json_rows
from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.incentives.entitlements import entitlements_accrue, today_wib
from prakerja.incentives.errors import SurveyAlreadySubmitted, SurveyNotOpen
from prakerja.incentives.models import (
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
    SurveyResponse,
)
from prakerja.incentives.surveys import survey_answers_validate, surveys_open_among
from prakerja.orders.bulk import CHUNK_MAX
from prakerja.waves.models import Participant, ProgramScheme

RESPONSES = SurveyResponse._meta.db_table
ENTITLEMENTS = Entitlement._meta.db_table
RESPONSE_LABEL = SurveyResponse._meta.label_lower


def surveys_submit_bulk(
    *, answers: Sequence[tuple[int, int, dict[str, str]]], actor: Actor
) -> list[int | Refused]:
    """`survey_submit` for a chunk of (participant id, survey number, answers), in order: per item
    the SurveyResponse's id, or Refused with the error `survey_submit` raises for it. One
    transaction and a fixed number of statements, whatever the chunk's size (at most CHUNK_MAX
    items)."""
    if len(answers) > CHUNK_MAX:
        raise ValidationFailed(
            details={"items": f"at most {CHUNK_MAX} per chunk, not {len(answers)}"}
        )
    if not answers:
        return []
    with transaction.atomic():
        return _chunk(list(answers), actor)


def _chunk(items: list[tuple[int, int, dict[str, str]]], actor: Actor) -> list[int | Refused]:
    ids = sorted({pid for pid, _, _ in items if isinstance(pid, int) and not isinstance(pid, bool)})
    # survey_submit locks the participant first: so does a chunk, by id.
    schemes_of = dict(
        Participant.objects.select_for_update()
        .filter(pk__in=among(ids))
        .order_by("pk")
        .values_list("pk", "scheme_id")
    )
    schemes = ProgramScheme.objects.in_bulk(set(schemes_of.values()))
    done: dict[int, set[int]] = {}
    for participant_id, sequence in SurveyResponse.objects.filter(
        participant_id__in=among(ids)
    ).values_list("participant_id", "sequence"):
        done.setdefault(participant_id, set()).add(sequence)
    today = today_wib()
    due: dict[int, set[int]] = {}
    for participant_id, sequence in Entitlement.objects.filter(
        participant_id__in=among(ids), kind=EntitlementKind.INCENTIVE, due_on__lte=today
    ).values_list("participant_id", "sequence"):
        due.setdefault(participant_id, set()).add(sequence)
    now = clock.now()

    answered: list[int | Refused | None] = [None] * len(items)
    accepted: dict[int, tuple[int, int, dict[str, str]]] = {}  # index -> participant, number, …
    for index, (participant_id, sequence, given) in enumerate(items):
        error: ApplicationError
        scheme_id = schemes_of.get(participant_id)
        if scheme_id is None:
            error = NotFound(details={"participant_id": participant_id})
            answered[index] = Refused(index, error)
            continue
        scheme = schemes[scheme_id]
        try:
            clean = survey_answers_validate(scheme.survey_questions, given)
        except ValidationFailed as invalid:
            answered[index] = Refused(index, invalid)
            continue
        submitted = done.setdefault(participant_id, set())
        if sequence in submitted:
            error = SurveyAlreadySubmitted(details={"sequence": sequence})
            answered[index] = Refused(index, error)
            continue
        opened = surveys_open_among(
            incentives_due=due.get(participant_id, ()),
            submitted=submitted,
            survey_count=scheme.survey_count,
        )
        if sequence not in opened:
            error = SurveyNotOpen(details={"sequence": sequence}, sequence=sequence)
            answered[index] = Refused(index, error)
            continue
        submitted.add(sequence)
        accepted[index] = (participant_id, sequence, clean)
    if accepted:
        responses = _responses_insert(list(accepted.values()), now)
        for index, (participant_id, sequence, _) in accepted.items():
            answered[index] = responses[participant_id, sequence]
        _survey_incentives_grant(
            [
                (participant_id, sequence, schemes[schemes_of[participant_id]].survey_incentive_idr)
                for participant_id, sequence, _ in accepted.values()
            ],
            today=today,
            now=now,
            actor=actor,
        )
        audit_record_many(
            occurred_at=now,
            events=[
                AuditNew(
                    actor,
                    "survey.submitted",
                    RESPONSE_LABEL,
                    str(responses[p, s]),
                    {"sequence": s},
                )
                for p, s, _ in accepted.values()
            ],
        )
    assert all(answer is not None for answer in answered)
    return [answer for answer in answered if answer is not None]


def _responses_insert(
    rows: list[tuple[int, int, dict[str, str]]], now: datetime.datetime
) -> dict[tuple[int, int], int]:
    """The responses in one INSERT: (participant, survey number) -> the response's id."""
    table, params = json_rows(
        (("participant_id", "bigint"), ("sequence", "integer"), ("answers", "jsonb")),
        [[participant_id, sequence, clean] for participant_id, sequence, clean in rows],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RESPONSES} (participant_id, sequence, answers, submitted_at) "  # noqa: S608
            f"SELECT r.participant_id, r.sequence, r.answers, %s FROM {table} AS r "
            "RETURNING id, participant_id, sequence",
            [db_time(now), *params],
        )
        return {
            (participant_id, sequence): pk for pk, participant_id, sequence in cursor.fetchall()
        }


def _survey_incentives_grant(
    rows: list[tuple[int, int, int]], *, today: datetime.date, now: datetime.datetime, actor: Actor
) -> None:
    """The survey incentive of each (participant, survey number, amount) whose scheme pays one:
    entitlements due today in one INSERT, accrued by entitlements_accrue (one bulk posting)."""
    paid = [row for row in rows if row[2] > 0]
    if not paid:
        return
    table, params = json_rows(
        (("participant_id", "bigint"), ("sequence", "integer"), ("amount_idr", "bigint")),
        [list(row) for row in paid],
    )
    stamp = db_time(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ENTITLEMENTS} (participant_id, kind, sequence, amount_idr, due_on, "  # noqa: S608
            "status, hold_reason, failed_attempts, created_at, paid_at, updated_at) "
            "SELECT r.participant_id, %s, r.sequence, r.amount_idr, %s, %s, '', 0, %s, NULL, %s "
            f"FROM {table} AS r RETURNING id, participant_id, amount_idr",
            [
                EntitlementKind.SURVEY,
                today.isoformat(),
                EntitlementStatus.DUE,
                stamp,
                stamp,
                *params,
            ],
        )
        granted = [
            Entitlement(pk=pk, participant_id=participant_id, amount_idr=amount)
            for pk, participant_id, amount in cursor.fetchall()
        ]
    entitlements_accrue(granted, actor=actor)
