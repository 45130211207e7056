"""The phone layer and eligibility of a chunk, set-based (bulk.phones_verify_bulk): eligibility
decided by rules.eligibility_verdict as per request, the chunk written by one guarded UPDATE."""

from typing import Any

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.integrations.population import FaceResult
from prakerja.registration.bulk_face import face_change, submitted
from prakerja.registration.bulk_steps import Change, R, plain, record, returning
from prakerja.registration.exclusion_lookup import excluded_indexes
from prakerja.registration.layers import ALLOWED
from prakerja.registration.models import Layer, Registrant
from prakerja.registration.rules import (
    ELIGIBILITY_ACTOR,
    OK,
    PHONE_AWAITING_CODE,
    P,
    eligibility_moves,
    eligibility_verdict,
    face_opens,
)
from prakerja.waves.selectors import scheme_active


def phones_chunk(chunk: list[int], actor: Actor, faces: dict[int, FaceResult]) -> int:
    phone_status, phone_reason = PHONE_AWAITING_CODE
    # Locked as read, so the one UPDATE below writes what was decided here.
    people = list(
        Registrant.objects.select_for_update()
        .filter(pk__in=chunk, phone_status=phone_status, phone_reason=phone_reason)
        .order_by("pk")
        .values_list(
            "pk",
            "birth_date",
            "in_school",
            "nik_index",
            "eligibility_status",
            "eligibility_reason",
            "face_status",
            "face_reason",
        )
    )
    if not people:
        return 0
    now = clock.now()
    min_age = scheme_active().min_age_years
    today = clock.today()
    excluded = excluded_indexes(person[3] for person in people if person[3])
    rows: list[list[Any]] = []
    changes: list[Change] = []
    for pk, birth_date, in_school, nik_index, status, current, face_status, face_reason in people:
        changes.append(Change(pk, Layer.PHONE, OK, actor=actor))
        outcome, reason, details = eligibility_verdict(
            birth_date=birth_date,
            in_school=in_school,
            categories=excluded.get(nik_index or "", []),
            min_age=min_age,
            today=today,
        )
        # The table is layer_set's check, which the per-request path meets in it.
        decided = (
            eligibility_moves((status, current), outcome, reason)
            and (
                status,
                outcome,
            )
            in ALLOWED[Layer.ELIGIBILITY]
        )
        opens_face = decided and face_opens(outcome, (face_status, face_reason))
        # The face layer's new status and reason, and 1 when the registry decided it.
        face: tuple[str, str, int] = (P, "AWAITING_SELFIE", 0)
        if decided:
            changes.append(
                Change(pk, Layer.ELIGIBILITY, outcome, reason, details, actor=ELIGIBILITY_ACTOR)
            )
        if opens_face:
            changes.append(Change(pk, Layer.FACE, P, "AWAITING_SELFIE", actor=ELIGIBILITY_ACTOR))
            if pk in faces:
                verdict = face_change(pk, faces[pk])
                changes += [submitted(pk), verdict]
                face = (verdict.status, verdict.reason, 1)
        rows.append([pk, outcome, reason, int(decided), int(opens_face), *face])
    source, param = json_rows(
        (
            ("rid", "bigint"),
            ("status", "text"),
            ("reason", "text"),
            ("decided", "integer"),
            ("face", "integer"),
            ("face_to", "text"),
            ("face_why", "text"),
            ("face_decided", "integer"),
        ),
        rows,
    )
    stamp = db_time(now)
    # A face the registry decided is written as bulk_face.face_outcomes writes it (nothing left
    # waiting).
    moved = returning(
        f"UPDATE {R} SET phone_status = %s, phone_reason = '', phone_at = %s, "  # noqa: S608
        "eligibility_status = CASE WHEN r.decided = 1 THEN r.status ELSE eligibility_status END, "
        "eligibility_reason = CASE WHEN r.decided = 1 THEN r.reason ELSE eligibility_reason END, "
        "eligibility_at = CASE WHEN r.decided = 1 THEN %s ELSE eligibility_at END, "
        "face_status = CASE WHEN r.face = 1 THEN r.face_to ELSE face_status END, "
        "face_reason = CASE WHEN r.face = 1 THEN r.face_why ELSE face_reason END, "
        "face_at = CASE WHEN r.face = 1 THEN %s ELSE face_at END, "
        "pending_selfie = CASE WHEN r.face_decided = 1 THEN NULL ELSE pending_selfie END, "
        "registry_attempts = CASE WHEN r.face_decided = 1 THEN 0 ELSE registry_attempts END, "
        "registry_retry_at = CASE WHEN r.face_decided = 1 THEN NULL ELSE registry_retry_at END "
        f"FROM {source} AS r WHERE {R}.id = r.rid AND {plain('phone_status')} = %s "
        "AND phone_reason = %s RETURNING id",
        [OK, stamp, stamp, stamp, *param, phone_status, phone_reason],
    )
    # Each registrant's changes stay in the order made: phone, eligibility, face.
    record(now, [change for change in changes if change.registrant_id in moved])
    return len(moved)
