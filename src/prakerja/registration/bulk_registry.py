"""The email layer and the layers that wait on the registry, a chunk at a time, set-based
(bulk.emails_verify_bulk, bulk.registry_check_bulk): the registry asked before the chunk's
transaction, its verdicts (rules.nik_verdict, rules.face_verdict) and back-off
(rules.registry_retry_wait) written by guarded UPDATEs."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from prakerja.common import clock, crypto
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.integrations.population import (
    FaceResult,
    RegistryRecord,
    RegistryUnavailable,
    population_registry,
)
from prakerja.registration.bulk_face import face_outcomes
from prakerja.registration.bulk_steps import (
    PHONE_OPENS,
    Change,
    R,
    in_list,
    plain,
    record,
    returning,
)
from prakerja.registration.models import Layer, Registrant
from prakerja.registration.rules import (
    NO,
    OK,
    REGISTRY_SAFETY_NET,
    WAITING_ON_REGISTRY,
    NikVerdict,
    P,
    nik_after_email,
    nik_verdict,
    registry_retry_wait,
    retry_is_a_step,
)

# pk -> the registry's verdict on the NIK (or NIK_TAKEN, decided without it)
_Answers = dict[int, NikVerdict]


def registry_answers(chunk: list[int]) -> _Answers:
    """The registry's verdict on the NIK of each registrant of the chunk whose email step is due
    (none for a NIK it could not answer). Asked outside any transaction, as per item."""
    due = Registrant.objects.filter(
        pk__in=chunk, email_status=P, nik_status=P, nik_index__isnull=False
    ).values_list("pk", "nik_encrypted", "full_name", "birth_date")
    registry = population_registry()
    answers: _Answers = {}
    for pk, nik_encrypted, full_name, birth_date in due:
        try:
            record_ = registry.lookup(crypto.decrypt(nik_encrypted))
        except RegistryUnavailable:
            continue
        answers[pk] = nik_verdict(record_, full_name, birth_date)
    return answers


def emails_chunk(chunk: list[int], answers: _Answers, actor: Actor, now: datetime.datetime) -> int:
    # The NIK layer as rules.nik_after_email opens it: an account whose sign-up gave a NIK another
    # account holds fails NIK_TAKEN with its email, with nothing to ask the registry.
    answers = dict(answers)
    taken_status, taken_reason, taken_actor = nik_after_email(nik_claimed=False)
    waits_status, waits_reason, _ = nik_after_email(nik_claimed=True)
    for pk in Registrant.objects.filter(
        pk__in=chunk, email_status=P, nik_index__isnull=True
    ).values_list("pk", flat=True):
        answers[pk] = NikVerdict(taken_status, taken_reason, None, None)
    stamp = db_time(now)
    safety_net = db_time(now + REGISTRY_SAFETY_NET)
    rows = []
    for pk in chunk:
        verdict = answers.get(pk)
        if verdict is None:
            rows.append([pk, waits_status, waits_reason, None, 0, safety_net])
        else:
            rows.append([pk, verdict.status, verdict.reason, verdict.kk_index, 1, None])
    source, param = json_rows(
        (
            ("rid", "bigint"),
            ("status", "text"),
            ("reason", "text"),
            ("kk", "text"),
            ("decided", "integer"),
            ("retry_at", "timestamptz"),
        ),
        rows,
    )
    # A passed NIK opens the phone layer, which is still pending: it cannot move before the NIK.
    moved = returning(
        f"UPDATE {R} SET email_status = %s, email_reason = '', email_at = %s, "  # noqa: S608
        "nik_status = r.status, nik_reason = r.reason, nik_at = %s, "
        "kk_index = COALESCE(r.kk, kk_index), "
        "phone_status = CASE WHEN r.status = %s THEN %s ELSE phone_status END, "
        f"phone_reason = CASE WHEN r.status = %s THEN {PHONE_OPENS} ELSE phone_reason END, "
        "phone_at = CASE WHEN r.status = %s THEN %s ELSE phone_at END, "
        "registry_attempts = CASE WHEN r.decided = 1 THEN 0 ELSE registry_attempts END, "
        f"registry_retry_at = r.retry_at FROM {source} AS r WHERE {R}.id = r.rid "
        f"AND {plain('email_status')} = %s AND {plain('nik_status')} = %s "
        # The reason as written, not PHONE_OPENS again: SQLite 3.40 misreads `phone IS NULL` in
        # RETURNING (the partial index on phone), though the SET evaluates it right.
        "RETURNING id, phone_reason",
        [OK, stamp, stamp, OK, P, OK, OK, stamp, *param, P, P],
    )
    changes: list[Change] = []
    for pk in sorted(moved):
        changes.append(Change(pk, Layer.EMAIL, OK, details={"via": "code"}, actor=actor))
        verdict = answers.get(pk)
        if verdict is not None and verdict.reason == taken_reason:
            changes.append(
                Change(pk, Layer.NIK, taken_status, taken_reason, actor=taken_actor or actor)
            )
            continue
        changes.append(Change(pk, Layer.NIK, waits_status, waits_reason, actor=actor))
        if verdict is None:
            continue
        if verdict.status == OK:
            changes.append(Change(pk, Layer.NIK, OK))
            changes.append(Change(pk, Layer.PHONE, P, moved[pk]))
        else:
            changes.append(Change(pk, Layer.NIK, NO, verdict.reason, verdict.details))
    record(now, changes)
    return len(moved)


@dataclass(frozen=True)
class _Waiting:
    pk: int
    layer: Layer  # NIK, or FACE with a selfie stored
    reason: str
    attempts: int


def registry_chunk(chunk: list[int]) -> int:
    """The registry's answers for a chunk of registrant ids. Unit of work: the registry is asked
    before any transaction; what it answered is written in one transaction per chunk, so a chunk
    is recorded whole or not at all (and is asked again on the next sweep). Returns how many
    registrants changed."""
    # The NIK first, as registrant_registry_check: a face check waits only behind a passed NIK.
    niks = (
        Registrant.objects.filter(pk__in=chunk, nik_status=P, nik_reason__in=WAITING_ON_REGISTRY)
        .order_by("pk")
        .values_list(
            "pk", "nik_encrypted", "full_name", "birth_date", "nik_reason", "registry_attempts"
        )
    )
    faces = (
        Registrant.objects.filter(pk__in=chunk, face_status=P, face_reason__in=WAITING_ON_REGISTRY)
        .exclude(nik_status=P, nik_reason__in=WAITING_ON_REGISTRY)
        .order_by("pk")
        .values_list("pk", "nik_encrypted", "pending_selfie", "face_reason", "registry_attempts")
    )
    registry = population_registry()
    records: dict[int, tuple[RegistryRecord | None, str, datetime.date]] = {}
    matches: dict[int, FaceResult] = {}
    later: list[_Waiting] = []
    for pk, nik_encrypted, full_name, birth_date, reason, attempts in niks:
        try:
            found = registry.lookup(crypto.decrypt(nik_encrypted))
        except RegistryUnavailable:
            later.append(_Waiting(pk, Layer.NIK, reason, attempts))
            continue
        records[pk] = (found, full_name, birth_date)
    for pk, nik_encrypted, selfie, reason, attempts in faces:
        try:
            matches[pk] = registry.face_match(crypto.decrypt(nik_encrypted), bytes(selfie or b""))
        except RegistryUnavailable:
            later.append(_Waiting(pk, Layer.FACE, reason, attempts))
    if not (records or matches or later):
        return 0
    with transaction.atomic():
        now = clock.now()
        changes = _nik_outcomes(records, now)
        changes += face_outcomes(matches, now, P, WAITING_ON_REGISTRY)
        changes += _registry_later(later, now)
        record(now, changes)
    return len({change.registrant_id for change in changes})


def _nik_outcomes(
    records: dict[int, tuple[RegistryRecord | None, str, datetime.date]], now: datetime.datetime
) -> list[Change]:
    passed: list[list[Any]] = []
    failed: list[list[Any]] = []
    verdicts: dict[int, NikVerdict] = {}
    for pk, (found, full_name, birth_date) in records.items():
        verdict = verdicts[pk] = nik_verdict(found, full_name, birth_date)
        if verdict.status == OK:
            passed.append([pk, verdict.kk_index])
        else:
            failed.append([pk, verdict.reason])
    stamp = db_time(now)
    waiting = in_list(WAITING_ON_REGISTRY)
    changes: list[Change] = []
    if passed:
        source, param = json_rows((("rid", "bigint"), ("kk", "text")), passed)
        moved = returning(
            f"UPDATE {R} SET nik_status = %s, nik_reason = '', nik_at = %s, kk_index = r.kk, "  # noqa: S608
            f"phone_status = %s, phone_reason = {PHONE_OPENS}, phone_at = %s, "
            f"registry_attempts = 0, registry_retry_at = NULL FROM {source} AS r "
            f"WHERE {R}.id = r.rid AND {plain('nik_status')} = %s AND nik_reason IN {waiting} "
            f"AND {plain('phone_status')} = %s RETURNING id, phone_reason",
            [OK, stamp, P, stamp, *param, P, *WAITING_ON_REGISTRY, P],
        )
        for pk in sorted(moved):
            changes.append(Change(pk, Layer.NIK, OK))
            changes.append(Change(pk, Layer.PHONE, P, moved[pk]))
    if failed:
        source, param = json_rows((("rid", "bigint"), ("reason", "text")), failed)
        moved = returning(
            f"UPDATE {R} SET nik_status = %s, nik_reason = r.reason, nik_at = %s, "  # noqa: S608
            f"registry_attempts = 0, registry_retry_at = NULL FROM {source} AS r "
            f"WHERE {R}.id = r.rid AND {plain('nik_status')} = %s AND nik_reason IN {waiting} "
            "RETURNING id, nik_reason",
            [NO, stamp, *param, P, *WAITING_ON_REGISTRY],
        )
        for pk in sorted(moved):
            changes.append(Change(pk, Layer.NIK, NO, moved[pk], verdicts[pk].details))
    return changes


def _registry_later(waiting: list[_Waiting], now: datetime.datetime) -> list[Change]:
    """`registry._registry_later`: one more attempt counted, the next retry time by the back-off,
    and the layer marked REGISTRY_RETRYING (a change recorded only the first time)."""
    changes: list[Change] = []
    for layer in (Layer.NIK, Layer.FACE):
        rows = [
            [
                item.pk,
                item.attempts,
                item.attempts + 1,
                db_time(now + registry_retry_wait(item.attempts)),
                item.reason,
                int(retry_is_a_step(item.reason)),
            ]
            for item in waiting
            if item.layer == layer
        ]
        if not rows:
            continue
        source, param = json_rows(
            (
                ("rid", "bigint"),
                ("was", "integer"),
                ("attempts", "integer"),
                ("retry_at", "timestamptz"),
                ("old_reason", "text"),
                ("step", "integer"),
            ),
            rows,
        )
        name = layer.value
        moved = returning(
            f"UPDATE {R} SET registry_attempts = r.attempts, registry_retry_at = r.retry_at, "  # noqa: S608
            f"{name}_reason = %s, {name}_at = CASE WHEN r.step = 1 THEN %s ELSE {name}_at END "
            f"FROM {source} AS r WHERE {R}.id = r.rid AND {plain(name + '_status')} = %s "
            f"AND {name}_reason = r.old_reason AND registry_attempts = r.was RETURNING id",
            ["REGISTRY_RETRYING", db_time(now), *param, P],
        )
        stepped = {row[0] for row in rows if row[5]}
        changes += [
            Change(pk, layer, P, "REGISTRY_RETRYING") for pk in sorted(moved) if pk in stepped
        ]
    return changes
