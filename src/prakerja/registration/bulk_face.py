"""The face check of a chunk, set-based (bulk.faces_check_bulk, and the selfie bulk.phones_verify_bulk
may submit): the registry's comparisons asked before the chunk's transaction, the verdicts
(rules.face_verdict) written by guarded UPDATEs."""

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from prakerja.common import clock, crypto
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.integrations.population import FaceResult, RegistryUnavailable, population_registry
from prakerja.registration.bulk_steps import Change, R, in_list, plain, record, returning
from prakerja.registration.exclusion_lookup import excluded_indexes
from prakerja.registration.models import Layer, Registrant
from prakerja.registration.rules import (
    FACE_ACTOR,
    FACE_OPENS_FROM,
    FACE_SUBMIT_FROM,
    OK,
    PHONE_AWAITING_CODE,
    P,
    eligibility_verdict,
    face_verdict,
    registry_retry_wait,
)
from prakerja.waves.selectors import scheme_active


def face_outcomes(
    matches: dict[int, FaceResult], now: datetime.datetime, status: str, reasons: tuple[str, ...]
) -> list[Change]:
    """Write the registry's face answers as `registry._face_check` does (the selfie is not kept),
    for the face layers still in `status` with one of `reasons`."""
    if not matches:
        return []
    rows = [[pk, *face_verdict(result)[:2]] for pk, result in matches.items()]
    source, param = json_rows((("rid", "bigint"), ("status", "text"), ("reason", "text")), rows)
    moved = returning(
        f"UPDATE {R} SET face_status = r.status, face_reason = r.reason, face_at = %s, "  # noqa: S608
        "pending_selfie = NULL, registry_attempts = 0, registry_retry_at = NULL "
        f"FROM {source} AS r WHERE {R}.id = r.rid AND {plain('face_status')} = %s "
        f"AND face_reason IN {in_list(reasons)} RETURNING id",
        [db_time(now), *param, status, *reasons],
    )
    return [face_change(pk, matches[pk]) for pk in sorted(moved)]


def face_change(pk: int, result: FaceResult) -> Change:
    """The face layer's change for the registry's verdict, as `registry._face_check` records it."""
    status, reason, details = face_verdict(result)
    return Change(pk, Layer.FACE, status, reason, details=details, actor=FACE_ACTOR)


def submitted(pk: int) -> Change:
    """The step face_submit records: the person's selfie went to the registry."""
    return Change(pk, Layer.FACE, P, "REGISTRY_CHECKING", actor=Actor.participant(pk))


def faces_ahead(chunk: list[int], clean: bytes) -> dict[int, FaceResult]:
    """The registry's comparison of the selfie for each registrant of the chunk whose face check
    the phone step is about to open (awaiting the phone code, eligible, face not yet open). Asked
    outside any transaction, as per item; the step re-reads and decides under its lock."""
    phone_status, phone_reason = PHONE_AWAITING_CODE
    face_status, face_reason = FACE_OPENS_FROM
    due = list(
        Registrant.objects.filter(
            pk__in=chunk,
            phone_status=phone_status,
            phone_reason=phone_reason,
            face_status=face_status,
            face_reason=face_reason,
        ).values_list("pk", "birth_date", "in_school", "nik_index", "nik_encrypted")
    )
    if not due:
        return {}
    min_age = scheme_active().min_age_years
    today = clock.today()
    excluded = excluded_indexes(row[3] for row in due if row[3])
    registry = population_registry()
    faces: dict[int, FaceResult] = {}
    for pk, birth_date, in_school, nik_index, nik_encrypted in due:
        status, _, _ = eligibility_verdict(
            birth_date=birth_date,
            in_school=in_school,
            categories=excluded.get(nik_index or "", []),
            min_age=min_age,
            today=today,
        )
        if status != OK:
            continue
        try:
            faces[pk] = registry.face_match(crypto.decrypt(nik_encrypted), clean)
        except RegistryUnavailable:
            continue
    return faces


def faces_chunk(chunk: list[int], clean: bytes) -> int:
    """The selfie `clean` submitted for a chunk of registrant ids. Unit of work: the registry
    compares the faces before any transaction; the verdicts are written in one transaction per
    chunk. Returns how many registrants changed."""
    state = Q()
    for status, reason in FACE_SUBMIT_FROM:
        state |= Q(face_status=status, face_reason=reason)
    rows = (
        Registrant.objects.filter(pk__in=chunk)
        .filter(state)
        .order_by("pk")
        .values_list("pk", "nik_encrypted", "face_status", "face_reason", "registry_attempts")
    )
    registry = population_registry()
    matches: dict[int, dict[tuple[str, str], FaceResult]] = {}
    later: list[list[Any]] = []
    for pk, nik_encrypted, status, reason, attempts in rows:
        try:
            result = registry.face_match(crypto.decrypt(nik_encrypted), clean)
        except RegistryUnavailable:
            later.append([pk, status, reason, attempts])
            continue
        matches.setdefault(pk, {})[(status, reason)] = result
    if not (matches or later):
        return 0
    with transaction.atomic():
        now = clock.now()
        changes: list[Change] = []
        for state_from in FACE_SUBMIT_FROM:
            answered = {pk: by[state_from] for pk, by in matches.items() if state_from in by}
            for change in face_outcomes(answered, now, state_from[0], (state_from[1],)):
                changes += [submitted(change.registrant_id), change]
        changes += _faces_later(later, clean, now)
        record(now, changes)
    return len({change.registrant_id for change in changes})


def _faces_later(later: list[list[Any]], clean: bytes, now: datetime.datetime) -> list[Change]:
    """face_submit, then the registry's back-off for the face: the selfie waits in the row for the
    retry."""
    if not later:
        return []
    rows = [
        [
            pk,
            status,
            reason,
            attempts,
            attempts + 1,
            db_time(now + registry_retry_wait(attempts)),
        ]
        for pk, status, reason, attempts in later
    ]
    source, param = json_rows(
        (
            ("rid", "bigint"),
            ("old_status", "text"),
            ("old_reason", "text"),
            ("was", "integer"),
            ("attempts", "integer"),
            ("retry_at", "timestamptz"),
        ),
        rows,
    )
    moved = returning(
        f"UPDATE {R} SET face_status = %s, face_reason = %s, face_at = %s, "  # noqa: S608
        "pending_selfie = %s, registry_attempts = r.attempts, registry_retry_at = r.retry_at "
        f"FROM {source} AS r WHERE {R}.id = r.rid AND {plain('face_status')} = r.old_status "
        "AND face_reason = r.old_reason AND registry_attempts = r.was RETURNING id",
        [P, "REGISTRY_RETRYING", db_time(now), clean, *param],
    )
    return [
        change
        for pk in sorted(moved)
        for change in (submitted(pk), Change(pk, Layer.FACE, P, "REGISTRY_RETRYING"))
    ]
