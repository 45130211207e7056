"""Bulk entry points of registration, for batch work (the national simulation, registrations taken
offline at a job centre): sign-up and the verification layers a chunk at a time, set-based — a few
statements per chunk instead of several per layer per person.

They apply the rules of the per-item services in services.py and leave the same rows: the same
field checks at sign-up (VALIDATION_FAILED naming each field), the same handling of what another
account holds (a NIK taken is kept unclaimed and fails NIK_TAKEN once the email is proved; a phone
taken is not kept and the phone layer asks for another, PHONE_TAKEN; also against an earlier person
of the same call: the first wins), the same layer
states, reasons and times, and for every layer change the VerificationStep and audit event that
`layers.layer_set` writes (same event type, subject and details). Transitions follow
`layers.ALLOWED`; a registrant in another state than the step expects is skipped, not refused, and
the guard sits in the UPDATE's WHERE so that two callers racing on one registrant cannot both move
it. Calling a step again changes nothing.

What differs from the per-item path, on purpose:
- an email that already has an account is refused (Refused EMAIL_TAKEN): a batch is the office's
  own work, so nothing needs hiding from its caller, and no sign-up is started over from a batch.
- nobody is sent anything: no email code at sign-up, no SMS when the phone layer opens. The caller
  verifies emails and phones in bulk (it stands for people who entered their codes).
- no password: the account gets an unusable one (these people sign in by one-time code), so no
  argon2 per sign-up; the password rule of sign-up does not apply.
- no tasks are queued: the caller runs `registry_check_bulk` after `emails_verify_bulk`, or asks
  `emails_verify_bulk` to write the registry's answer with the email (`registry=True`). The
  safety-net retry time `_email_passed` leaves is left too, so a registrant the caller never checks
  is picked up by the periodic sweep. Likewise `phones_verify_bulk` can take the selfie that
  `faces_check_bulk` would submit next (`selfie=`).
- the email and phone layers are recorded with the caller's `actor` (the per-item service records
  the participant); the registry, eligibility and face outcomes with the same system actors.
- the times of one chunk's changes are one instant.

Each chunk (≤ 1.000 registrants) is one transaction; calls to the population registry happen
outside transactions, before the chunk's writes, as they do per item. Rows travel to the database
as one JSON text per statement (common.bulk_sql).
"""

import datetime
import functools
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.integrations.population import (
    FaceResult,
    RegistryRecord,
    RegistryUnavailable,
    population_registry,
)
from prakerja.registration.exclusions import excluded_indexes
from prakerja.registration.layers import ALLOWED
from prakerja.registration.models import Layer, LayerStatus, Registrant, VerificationStep
from prakerja.registration.names import names_match
from prakerja.registration.services import (
    NIK_TAKEN_ACTOR,
    REGISTRY_RETRY_BACKOFF,
    REGISTRY_SAFETY_NET,
    SignUp,
    _checked_sign_up,
    age_on,
    stripped_image,
)
from prakerja.waves.selectors import scheme_active

P, OK, NO = LayerStatus.PENDING, LayerStatus.PASSED, LayerStatus.FAILED

CHUNK_MAX = 1_000  # registrants per transaction
R = Registrant._meta.db_table
STEPS = VerificationStep._meta.db_table
AUDIT = AuditEvent._meta.db_table
SUBJECT_TYPE = Registrant._meta.label_lower
WAITING = ("REGISTRY_CHECKING", "REGISTRY_RETRYING")  # a layer that waits on the registry
REGISTRY_ACTOR = Actor.system("registry_check")
ELIGIBILITY_ACTOR = Actor.system("eligibility")
# How the phone layer opens once the NIK passes, as `_start_phone_layer` opens it: with the SMS code,
# or asking for another number when the one given at sign-up is another account's.
PHONE_OPENS = "(CASE WHEN phone IS NULL THEN 'PHONE_TAKEN' ELSE 'AWAITING_PHONE_CODE' END)"
FACE_ACTOR = Actor.system("face_check")

# The one-statement moves below write several layers at once: the table must allow each.
assert (P, OK) in ALLOWED[Layer.EMAIL] and (P, P) in ALLOWED[Layer.NIK]
assert (P, OK) in ALLOWED[Layer.NIK] and (P, NO) in ALLOWED[Layer.NIK]
assert (P, P) in ALLOWED[Layer.PHONE] and (P, OK) in ALLOWED[Layer.PHONE]
assert (P, P) in ALLOWED[Layer.FACE] and {(P, OK), (P, NO), (NO, P)} <= ALLOWED[Layer.FACE]


@dataclass(frozen=True)
class BulkSignUp:
    email: str
    nik: str
    full_name: str
    birth_date: datetime.date
    phone: str
    regency_code: str
    education: str
    employment: str
    in_school: bool


@dataclass(frozen=True)
class Refused:
    """A person of the call who was not signed up, with the error `registrant_sign_up` raises."""

    error: ApplicationError

    @property
    def code(self) -> str:
        return self.error.code


class _Change(NamedTuple):
    """One layer change, recorded as layer_set records it. A tuple, not a frozen dataclass: a
    national day makes millions of them."""

    registrant_id: int
    layer: Layer
    status: str
    reason: str = ""
    details: dict[str, Any] | None = None
    actor: Actor = REGISTRY_ACTOR


def _chunks(items: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK_MAX):
        yield list(items[start : start + CHUNK_MAX])


# --- sign-up -------------------------------------------------------------------------------------


def registrants_sign_up_bulk(*, people: Sequence[BulkSignUp], actor: Actor) -> list[int | Refused]:
    """`registrant_sign_up` for many people: per person (in the order given) the new registrant's
    id, or Refused with the ValidationFailed the per-item service raises. Accounts are created with
    every layer pending, the NIK encrypted and indexed, and an unusable password; no code is sent.
    `actor` is the batch's: the per-item sign-up records no audit event, and neither does this."""
    del actor  # kept for the services' convention; sign-up writes no audit event to name it in
    result: list[int | Refused] = []
    for chunk in _chunks(people):
        result.extend(_sign_up_chunk(chunk))
    return result


def _checked(person: BulkSignUp) -> tuple[dict[str, object], str, str]:
    """`_checked_sign_up` without its password rule: these people have no password."""
    data = SignUp(
        email=person.email,
        password="",
        nik=person.nik,
        full_name=person.full_name,
        birth_date=person.birth_date,
        phone=person.phone,
        regency_code=person.regency_code,
        education=person.education,
        employment=person.employment,
        in_school=person.in_school,
    )
    return _checked_sign_up(data, password_rule=False)


def _sign_up_chunk(people: list[BulkSignUp]) -> list[int | Refused]:
    outcome: list[int | Refused | None] = [None] * len(people)
    checked: dict[int, tuple[dict[str, object], str, str]] = {}
    for position, person in enumerate(people):
        try:
            checked[position] = _checked(person)
        except ValidationFailed as error:
            outcome[position] = Refused(error)
    indexes = dict(
        zip(
            checked,
            crypto.blind_index_many([nik for _, nik, _ in checked.values()], purpose="nik"),
            strict=True,
        )
    )
    with transaction.atomic():
        taken_niks, taken_emails, taken_phones = _taken(
            list(indexes.values()),
            [str(clean["email"]) for clean, _, _ in checked.values()],
            [str(clean["phone"]) for clean, _, _ in checked.values()],
        )
        accepted: list[tuple[int, str | None, bool]] = []  # position, NIK index claimed, phone kept
        for position, (clean, _, _) in checked.items():
            if clean["email"] in taken_emails:
                outcome[position] = Refused(ValidationFailed(details={"email": "EMAIL_TAKEN"}))
                continue
            nik_index = indexes[position] if indexes[position] not in taken_niks else None
            phone_kept = clean["phone"] not in taken_phones
            # Taken from here on for the chunk's later people, as a per-item run would find it.
            taken_niks.add(indexes[position])
            taken_emails.add(str(clean["email"]))
            taken_phones.add(str(clean["phone"]))
            accepted.append((position, nik_index, phone_kept))
        if accepted:
            ids = _registrants_insert([(checked[p], nik, kept) for p, nik, kept in accepted])
            for position, _, _ in accepted:
                registrant_id = ids.get(str(checked[position][0]["email"]))
                if registrant_id is not None:
                    outcome[position] = registrant_id
                    continue
                # Met a concurrent sign-up since the check above: the database let theirs in.
                outcome[position] = Refused(ValidationFailed(details={"account": "TAKEN"}))
    assert all(item is not None for item in outcome)
    return outcome  # type: ignore[return-value]


def _taken(
    nik_indexes: list[str], emails: list[str], phones: list[str]
) -> tuple[set[str], set[str], set[str]]:
    """Which of these NIKs, emails and phones (of active accounts) belong to an account already."""
    if not nik_indexes:
        return set(), set(), set()
    held = Registrant.objects.filter(nik_index__in=nik_indexes).values_list("nik_index", flat=True)
    return (
        {index for index in held if index},
        set(Registrant.objects.filter(email__in=emails).values_list("email", flat=True)),
        {
            phone
            for phone in Registrant.objects.filter(phone__in=phones, is_active=True).values_list(
                "phone", flat=True
            )
            if phone
        },
    )


_SIGN_UP_COLUMNS = (
    ("email", "text"),
    ("password", "text"),
    ("full_name", "text"),
    ("birth_date", "date"),
    ("sex", "text"),
    ("nik_encrypted", "text"),
    ("nik_index", "text"),
    ("nik_last4", "text"),
    ("phone", "text"),
    ("regency_code", "text"),
    ("province_code", "text"),
    ("education", "text"),
    ("employment", "text"),
    ("in_school", "boolean"),
    ("language", "text"),
)


def _unusable_password() -> str:
    """What make_password(None) stores, from one call for random bytes where Django's makes one
    per character (a twentieth of a national sign-up day went there)."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(UNUSABLE_PASSWORD_SUFFIX_LENGTH // 2)


def _registrants_insert(
    rows: list[tuple[tuple[dict[str, object], str, str], str | None, bool]],
) -> dict[str, int]:
    """One INSERT of the accounts as `registrant_sign_up` creates them (the NIK claimed or not, the
    phone kept or not); returns email -> id. A row that meets a unique constraint (a concurrent
    sign-up) is skipped, not an error."""
    values = []
    for (clean, nik, sex), nik_index, phone_kept in rows:
        values.append(
            [
                clean["email"],
                _unusable_password(),
                clean["full_name"],
                clean["birth_date"].isoformat(),  # type: ignore[attr-defined]
                sex,
                crypto.encrypt(nik),
                nik_index,
                nik[-4:],
                clean["phone"] if phone_kept else None,
                clean["regency_code"],
                clean["province_code"],
                clean["education"],
                clean["employment"],
                clean["in_school"],
                clean["language"],
            ]
        )
    source, param = json_rows(_SIGN_UP_COLUMNS, values)
    names = ", ".join(name for name, _ in _SIGN_UP_COLUMNS)
    waiting = "WAITING_EARLIER_LAYER"
    layers = [(f"{layer.value}_status", f"{layer.value}_reason") for layer in Layer]
    reasons = {Layer.EMAIL.value: "AWAITING_EMAIL_CODE"}
    layer_columns = ", ".join(f"{s}, {r}" for s, r in layers)
    layer_values: list[str] = []
    for layer in Layer:
        layer_values += [P.value, reasons.get(layer.value, waiting)]
    sql = (
        f"INSERT INTO {R} ({names}, kk_index, is_active, created_at, {layer_columns}, "  # noqa: S608
        "registry_attempts) "
        f"SELECT {', '.join(f'r.{name}' for name, _ in _SIGN_UP_COLUMNS)}, '', %s, %s, "
        f"{', '.join(['%s'] * len(layer_values))}, 0 FROM {source} AS r "
        # WHERE true: SQLite reads an ON after a bare FROM as the start of a join.
        "WHERE true ON CONFLICT DO NOTHING RETURNING id, email"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, db_time(timezone.now()), *layer_values, *param])
        return {email: pk for pk, email in cursor.fetchall()}


# --- email ---------------------------------------------------------------------------------------


def emails_verify_bulk(
    *, registrant_ids: Sequence[int], actor: Actor, registry: bool = False
) -> int:
    """`_email_passed` for many: the email layer of those whose email is pending passes and their
    NIK layer waits on the registry (REGISTRY_CHECKING, with the sweep's safety-net retry time).
    Returns how many registrants changed.

    Without `registry` the registry is not asked: the caller runs `registry_check_bulk`. With it,
    each NIK is looked up before the chunk's transaction and the answer written with the email, in
    the same statement, as `registrant_registry_check` would write it had the check run at once
    (the same steps and events: NIK pending, then passed or failed); a NIK the registry does not
    answer waits as without, for `registry_check_bulk` or the sweep. One new row version per
    registrant instead of two: at national scale each costs an entry in every index."""
    changed = 0
    for chunk in _chunks(registrant_ids):
        answers = _registry_answers(chunk) if registry else {}
        with transaction.atomic():
            now = timezone.now()
            changed += _emails_chunk(chunk, answers, actor, now)
    return changed


# pk -> the NIK layer's outcome, its reason, the KK's blind index (passed) and mismatched fields.
_Answers = dict[int, tuple[str, str, str | None, list[str]]]


def _registry_answers(chunk: list[int]) -> _Answers:
    """The registry's verdict on the NIK of each registrant of the chunk whose email step is due
    (none for a NIK it could not answer). Asked outside any transaction, as per item."""
    due = Registrant.objects.filter(
        pk__in=chunk, email_status=P, nik_status=P, nik_index__isnull=False
    ).values_list("pk", "nik_encrypted", "full_name", "birth_date")
    registry = population_registry()
    answers: _Answers = {}
    for pk, nik_encrypted, full_name, birth_date in due:
        try:
            record = registry.lookup(crypto.decrypt(nik_encrypted))
        except RegistryUnavailable:
            continue
        reason, mismatched = _nik_outcome(record, full_name, birth_date)
        if reason:
            answers[pk] = (NO, reason, None, mismatched)
        else:
            assert record is not None
            answers[pk] = (OK, "", crypto.blind_index(record.kk_number, purpose="kk"), [])
    return answers


def _emails_chunk(chunk: list[int], answers: _Answers, actor: Actor, now: datetime.datetime) -> int:
    # An account whose sign-up gave a NIK another account holds fails NIK_TAKEN with its email, as
    # `_email_passed` decides it: nothing to ask the registry.
    answers = dict(answers)
    for pk in Registrant.objects.filter(
        pk__in=chunk, email_status=P, nik_index__isnull=True
    ).values_list("pk", flat=True):
        answers[pk] = (NO, "NIK_TAKEN", None, [])
    stamp = db_time(now)
    safety_net = db_time(now + REGISTRY_SAFETY_NET)
    rows = []
    for pk in chunk:
        status, reason, kk, _ = answers.get(pk, (P, "REGISTRY_CHECKING", None, []))
        decided = int(pk in answers)
        rows.append([pk, status, reason, kk, decided, None if decided else safety_net])
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
    moved = _returning(
        f"UPDATE {R} SET email_status = %s, email_reason = '', email_at = %s, "  # noqa: S608
        "nik_status = r.status, nik_reason = r.reason, nik_at = %s, "
        "kk_index = COALESCE(r.kk, kk_index), "
        "phone_status = CASE WHEN r.status = %s THEN %s ELSE phone_status END, "
        f"phone_reason = CASE WHEN r.status = %s THEN {PHONE_OPENS} ELSE phone_reason END, "
        "phone_at = CASE WHEN r.status = %s THEN %s ELSE phone_at END, "
        "registry_attempts = CASE WHEN r.decided = 1 THEN 0 ELSE registry_attempts END, "
        f"registry_retry_at = r.retry_at FROM {source} AS r WHERE {R}.id = r.rid "
        f"AND {_plain('email_status')} = %s AND {_plain('nik_status')} = %s "
        # The reason as written, not PHONE_OPENS again: SQLite 3.40 misreads `phone IS NULL` in
        # RETURNING (the partial index on phone), though the SET evaluates it right.
        "RETURNING id, phone_reason",
        [OK, stamp, stamp, OK, P, OK, OK, stamp, *param, P, P],
    )
    changes: list[_Change] = []
    for pk in sorted(moved):
        changes.append(_Change(pk, Layer.EMAIL, OK, details={"via": "code"}, actor=actor))
        status, reason, _, mismatched = answers.get(pk, (P, "", None, []))
        if reason == "NIK_TAKEN":
            changes.append(_Change(pk, Layer.NIK, NO, reason, actor=NIK_TAKEN_ACTOR))
            continue
        changes.append(_Change(pk, Layer.NIK, P, "REGISTRY_CHECKING", actor=actor))
        if pk not in answers:
            continue
        if status == OK:
            changes.append(_Change(pk, Layer.NIK, OK))
            changes.append(_Change(pk, Layer.PHONE, P, moved[pk]))
        else:
            details = {"fields": mismatched} if mismatched else None
            changes.append(_Change(pk, Layer.NIK, NO, reason, details))
    _record(now, changes)
    return len(moved)


# --- registry: NIK, and a face check that waits on it -----------------------------------------------


@dataclass(frozen=True)
class _Waiting:
    pk: int
    layer: Layer  # NIK, or FACE with a selfie stored
    reason: str
    attempts: int


def registry_check_bulk(*, registrant_ids: Sequence[int]) -> int:
    """`registrant_registry_check` for many: for each registrant whose NIK layer waits on the
    registry, the registry's record decides it as `_nik_check` does (NIK_NOT_FOUND, DECEASED,
    NAME_MISMATCH, BIRTH_DATE_MISMATCH; passing records the family card and opens the phone layer,
    without sending the SMS). A face check left waiting by an outage is finished with its stored
    selfie, as `_face_check` does. While the registry is down the layer stays pending with the retry
    time `_registry_later` leaves. Returns how many registrants had a layer change state."""
    changed = 0
    for chunk in _chunks(registrant_ids):
        changed += _registry_chunk(chunk)
    return changed


def _registry_chunk(chunk: list[int]) -> int:
    # The NIK first, as registrant_registry_check: a face check waits only behind a passed NIK.
    niks = (
        Registrant.objects.filter(pk__in=chunk, nik_status=P, nik_reason__in=WAITING)
        .order_by("pk")
        .values_list(
            "pk", "nik_encrypted", "full_name", "birth_date", "nik_reason", "registry_attempts"
        )
    )
    faces = (
        Registrant.objects.filter(pk__in=chunk, face_status=P, face_reason__in=WAITING)
        .exclude(nik_status=P, nik_reason__in=WAITING)
        .order_by("pk")
        .values_list("pk", "nik_encrypted", "pending_selfie", "face_reason", "registry_attempts")
    )
    registry = population_registry()
    records: dict[int, tuple[RegistryRecord | None, str, datetime.date]] = {}
    matches: dict[int, FaceResult] = {}
    later: list[_Waiting] = []
    for pk, nik_encrypted, full_name, birth_date, reason, attempts in niks:
        try:
            record = registry.lookup(crypto.decrypt(nik_encrypted))
        except RegistryUnavailable:
            later.append(_Waiting(pk, Layer.NIK, reason, attempts))
            continue
        records[pk] = (record, full_name, birth_date)
    for pk, nik_encrypted, selfie, reason, attempts in faces:
        try:
            matches[pk] = registry.face_match(crypto.decrypt(nik_encrypted), bytes(selfie or b""))
        except RegistryUnavailable:
            later.append(_Waiting(pk, Layer.FACE, reason, attempts))
    if not (records or matches or later):
        return 0
    with transaction.atomic():
        now = timezone.now()
        changes = _nik_outcomes(records, now)
        changes += _face_outcomes(matches, now, {"face_status": P, "face_reason": WAITING})
        changes += _registry_later(later, now)
        _record(now, changes)
    return len({change.registrant_id for change in changes})


def _nik_outcome(
    record: RegistryRecord | None, full_name: str, birth_date: datetime.date
) -> tuple[str, list[str]]:
    """The reason `_nik_check` fails the NIK for (empty when it passes) and the mismatched fields."""
    if record is None:
        return "NIK_NOT_FOUND", []
    if record.deceased:
        return "DECEASED", []
    mismatched = []
    if not names_match(full_name, record.full_name):
        mismatched.append("full_name")
    if record.birth_date != birth_date:
        mismatched.append("birth_date")
    if not mismatched:
        return "", []
    return ("NAME_MISMATCH" if mismatched[0] == "full_name" else "BIRTH_DATE_MISMATCH"), mismatched


def _nik_outcomes(
    records: dict[int, tuple[RegistryRecord | None, str, datetime.date]], now: datetime.datetime
) -> list[_Change]:
    passed: list[list[Any]] = []
    failed: list[list[Any]] = []
    fields: dict[int, list[str]] = {}
    for pk, (record, full_name, birth_date) in records.items():
        reason, mismatched = _nik_outcome(record, full_name, birth_date)
        if reason:
            failed.append([pk, reason])
            fields[pk] = mismatched
        else:
            assert record is not None
            passed.append([pk, crypto.blind_index(record.kk_number, purpose="kk")])
    stamp = db_time(now)
    waiting = _in_list(WAITING)
    changes: list[_Change] = []
    if passed:
        source, param = json_rows((("rid", "bigint"), ("kk", "text")), passed)
        moved = _returning(
            f"UPDATE {R} SET nik_status = %s, nik_reason = '', nik_at = %s, kk_index = r.kk, "  # noqa: S608
            f"phone_status = %s, phone_reason = {PHONE_OPENS}, phone_at = %s, "
            f"registry_attempts = 0, registry_retry_at = NULL FROM {source} AS r "
            f"WHERE {R}.id = r.rid AND {_plain('nik_status')} = %s AND nik_reason IN {waiting} "
            f"AND {_plain('phone_status')} = %s RETURNING id, phone_reason",
            [OK, stamp, P, stamp, *param, P, *WAITING, P],
        )
        for pk in sorted(moved):
            changes.append(_Change(pk, Layer.NIK, OK))
            changes.append(_Change(pk, Layer.PHONE, P, moved[pk]))
    if failed:
        source, param = json_rows((("rid", "bigint"), ("reason", "text")), failed)
        moved = _returning(
            f"UPDATE {R} SET nik_status = %s, nik_reason = r.reason, nik_at = %s, "  # noqa: S608
            f"registry_attempts = 0, registry_retry_at = NULL FROM {source} AS r "
            f"WHERE {R}.id = r.rid AND {_plain('nik_status')} = %s AND nik_reason IN {waiting} "
            "RETURNING id, nik_reason",
            [NO, stamp, *param, P, *WAITING],
        )
        for pk in sorted(moved):
            details = {"fields": fields[pk]} if fields[pk] else None
            changes.append(_Change(pk, Layer.NIK, NO, moved[pk], details))
    return changes


def _face_outcomes(
    matches: dict[int, FaceResult], now: datetime.datetime, guard: dict[str, Any]
) -> list[_Change]:
    """Write the registry's face answers as `_face_check` does (the selfie is not kept). `guard`
    is the state the face layer must still be in: the status, and one reason or several."""
    if not matches:
        return []
    rows = [
        [pk, OK if result.matched else NO, "" if result.matched else "FACE_MISMATCH"]
        for pk, result in matches.items()
    ]
    source, param = json_rows((("rid", "bigint"), ("status", "text"), ("reason", "text")), rows)
    reasons = guard["face_reason"]
    reasons = reasons if isinstance(reasons, tuple) else (reasons,)
    moved = _returning(
        f"UPDATE {R} SET face_status = r.status, face_reason = r.reason, face_at = %s, "  # noqa: S608
        "pending_selfie = NULL, registry_attempts = 0, registry_retry_at = NULL "
        f"FROM {source} AS r WHERE {R}.id = r.rid AND {_plain('face_status')} = %s "
        f"AND face_reason IN {_in_list(reasons)} RETURNING id",
        [db_time(now), *param, guard["face_status"], *reasons],
    )
    return [_face_change(pk, matches[pk]) for pk in sorted(moved)]


def _face_change(pk: int, result: FaceResult) -> _Change:
    """The face layer's change for the registry's verdict, as `_face_check` records it."""
    details = {"score": round(result.score, 3)}
    if result.matched:
        return _Change(pk, Layer.FACE, OK, details=details, actor=FACE_ACTOR)
    return _Change(pk, Layer.FACE, NO, "FACE_MISMATCH", details=details, actor=FACE_ACTOR)


def _registry_later(waiting: list[_Waiting], now: datetime.datetime) -> list[_Change]:
    """`_registry_later`: one more attempt counted, the next retry time by the backoff, and the
    layer marked REGISTRY_RETRYING (a change recorded only the first time)."""
    changes: list[_Change] = []
    for layer in (Layer.NIK, Layer.FACE):
        rows = [
            [
                item.pk,
                item.attempts,
                item.attempts + 1,
                db_time(now + datetime.timedelta(seconds=_backoff(item.attempts))),
                item.reason,
                int(item.reason != "REGISTRY_RETRYING"),
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
        moved = _returning(
            f"UPDATE {R} SET registry_attempts = r.attempts, registry_retry_at = r.retry_at, "  # noqa: S608
            f"{name}_reason = %s, {name}_at = CASE WHEN r.step = 1 THEN %s ELSE {name}_at END "
            f"FROM {source} AS r WHERE {R}.id = r.rid AND {_plain(name + '_status')} = %s "
            f"AND {name}_reason = r.old_reason AND registry_attempts = r.was RETURNING id",
            ["REGISTRY_RETRYING", db_time(now), *param, P],
        )
        stepped = {row[0] for row in rows if row[5]}
        changes += [
            _Change(pk, layer, P, "REGISTRY_RETRYING") for pk in sorted(moved) if pk in stepped
        ]
    return changes


def _backoff(attempt: int) -> int:
    return REGISTRY_RETRY_BACKOFF[min(attempt, len(REGISTRY_RETRY_BACKOFF) - 1)]


# --- phone and eligibility ------------------------------------------------------------------------


def phones_verify_bulk(
    *, registrant_ids: Sequence[int], actor: Actor, selfie: bytes | None = None
) -> int:
    """`phone_verify_code` for many (the codes taken as entered): the phone layer of those awaiting
    their code passes, then eligibility is decided as `_eligibility_check` decides it (UNDER_AGE,
    IN_SCHOOL, EXCLUDED with the lists' categories) and passing opens the face check
    (AWAITING_SELFIE). Returns how many registrants changed.

    With a `selfie`, those whose face check opens submit it at once: the registry compares it
    before the chunk's transaction and the verdict is written with the phone, in the same
    statement, as `faces_check_bulk` would write it (the same steps and events); one whose
    comparison the registry does not answer is left awaiting the selfie, for `faces_check_bulk`.
    An image `faces_check_bulk` refuses is refused here too (SELFIE_INVALID), before any change."""
    clean = stripped_image(selfie) if selfie is not None else None
    changed = 0
    for chunk in _chunks(registrant_ids):
        faces = _faces_ahead(chunk, clean) if clean is not None else {}
        with transaction.atomic():
            changed += _phones_chunk(chunk, actor, faces)
    return changed


def _ineligible(
    birth_date: datetime.date,
    in_school: bool,
    nik_index: str | None,
    *,
    min_age: int,
    today: datetime.date,
    excluded: dict[str, list[str]],
) -> tuple[str, dict[str, Any]]:
    """Why `_eligibility_check` refuses a person (empty when it does not), with the details."""
    if age_on(birth_date, today) < min_age:
        return "UNDER_AGE", {"min_age": min_age}
    if in_school:
        return "IN_SCHOOL", {}
    if nik_index in excluded:
        return "EXCLUDED", {"category": ", ".join(excluded[nik_index])}
    return "", {}


def _faces_ahead(chunk: list[int], clean: bytes) -> dict[int, FaceResult]:
    """The registry's comparison of the selfie for each registrant of the chunk whose face check
    the phone step is about to open (awaiting the phone code, eligible, face not yet open). Asked
    outside any transaction, as per item; the step re-reads and decides under its lock."""
    due = list(
        Registrant.objects.filter(
            pk__in=chunk,
            phone_status=P,
            phone_reason="AWAITING_PHONE_CODE",
            face_status=P,
            face_reason="WAITING_EARLIER_LAYER",
        ).values_list("pk", "birth_date", "in_school", "nik_index", "nik_encrypted")
    )
    if not due:
        return {}
    min_age = scheme_active().min_age_years
    today = timezone.localdate(timezone=WIB)
    excluded = excluded_indexes(row[3] for row in due if row[3])
    registry = population_registry()
    faces: dict[int, FaceResult] = {}
    for pk, birth_date, in_school, nik_index, nik_encrypted in due:
        if _ineligible(
            birth_date, in_school, nik_index, min_age=min_age, today=today, excluded=excluded
        )[0]:
            continue
        try:
            faces[pk] = registry.face_match(crypto.decrypt(nik_encrypted), clean)
        except RegistryUnavailable:
            continue
    return faces


def _phones_chunk(chunk: list[int], actor: Actor, faces: dict[int, FaceResult]) -> int:
    # Locked as read, so the one UPDATE below writes what was decided here.
    people = list(
        Registrant.objects.select_for_update()
        .filter(pk__in=chunk, phone_status=P, phone_reason="AWAITING_PHONE_CODE")
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
    now = timezone.now()
    min_age = scheme_active().min_age_years
    today = timezone.localdate(timezone=WIB)
    excluded = excluded_indexes(person[3] for person in people if person[3])
    rows: list[list[Any]] = []
    changes: list[_Change] = []
    for pk, birth_date, in_school, nik_index, status, current, face_status, face_reason in people:
        changes.append(_Change(pk, Layer.PHONE, OK, actor=actor))
        reason, details = _ineligible(
            birth_date, in_school, nik_index, min_age=min_age, today=today, excluded=excluded
        )
        outcome = NO if reason else OK
        # A re-check that changes nothing records nothing (nor does a move the table refuses).
        decided = (status, current) != (outcome, reason) and (status, outcome) in ALLOWED[
            Layer.ELIGIBILITY
        ]
        opens_face = (
            decided and outcome == OK and (face_status, face_reason) == (P, "WAITING_EARLIER_LAYER")
        )
        # The face layer's new status and reason, and 1 when the registry decided it.
        face: tuple[str, str, int] = (P, "AWAITING_SELFIE", 0)
        if decided:
            changes.append(
                _Change(pk, Layer.ELIGIBILITY, outcome, reason, details, actor=ELIGIBILITY_ACTOR)
            )
        if opens_face:
            changes.append(_Change(pk, Layer.FACE, P, "AWAITING_SELFIE", actor=ELIGIBILITY_ACTOR))
            if pk in faces:
                verdict = _face_change(pk, faces[pk])
                changes += [_submitted(pk), verdict]
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
    # A face the registry decided is written as _face_outcomes writes it (nothing left waiting).
    moved = _returning(
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
        f"FROM {source} AS r WHERE {R}.id = r.rid AND {_plain('phone_status')} = %s "
        "AND phone_reason = %s RETURNING id",
        [OK, stamp, stamp, stamp, *param, P, "AWAITING_PHONE_CODE"],
    )
    # Each registrant's changes stay in the order made: phone, eligibility, face.
    _record(now, [change for change in changes if change.registrant_id in moved])
    return len(moved)


# --- face ----------------------------------------------------------------------------------------


def faces_check_bulk(*, registrant_ids: Sequence[int], image: bytes) -> int:
    """`face_submit` and `_face_check` for many, with one selfie for all: for those whose face
    layer awaits a selfie (or failed FACE_MISMATCH: a retry), the registry compares it with the
    NIK's photo and the layer passes or fails FACE_MISMATCH with the score. The selfie is not kept;
    while the registry is down it is stored and the layer waits with a retry time, as per item
    (`registry_check_bulk` or the periodic sweep finishes it). An image that is not a JPEG or PNG of
    at most 5 MB is refused (SELFIE_INVALID) and changes nothing. Returns how many registrants
    changed."""
    clean = stripped_image(image)
    changed = 0
    for chunk in _chunks(registrant_ids):
        changed += _faces_chunk(chunk, clean)
    return changed


def _faces_chunk(chunk: list[int], clean: bytes) -> int:
    # The two states face_submit accepts a selfie in.
    rows = (
        Registrant.objects.filter(pk__in=chunk)
        .filter(
            Q(face_status=P, face_reason="AWAITING_SELFIE")
            | Q(face_status=NO, face_reason="FACE_MISMATCH")
        )
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
        now = timezone.now()
        changes: list[_Change] = []
        for state in ((P, "AWAITING_SELFIE"), (NO, "FACE_MISMATCH")):
            answered = {pk: by[state] for pk, by in matches.items() if state in by}
            settled = _face_outcomes(
                answered, now, {"face_status": state[0], "face_reason": state[1]}
            )
            for change in settled:
                changes += [_submitted(change.registrant_id), change]
        changes += _faces_later(later, clean, now)
        _record(now, changes)
    return len({change.registrant_id for change in changes})


def _submitted(pk: int) -> _Change:
    """The step face_submit records: the person's selfie went to the registry."""
    return _Change(pk, Layer.FACE, P, "REGISTRY_CHECKING", actor=Actor.participant(pk))


def _faces_later(later: list[list[Any]], clean: bytes, now: datetime.datetime) -> list[_Change]:
    """face_submit, then `_registry_later` for the face: the selfie waits in the row for the retry."""
    if not later:
        return []
    rows = [
        [
            pk,
            status,
            reason,
            attempts,
            attempts + 1,
            db_time(now + datetime.timedelta(seconds=_backoff(attempts))),
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
    moved = _returning(
        f"UPDATE {R} SET face_status = %s, face_reason = %s, face_at = %s, "  # noqa: S608
        "pending_selfie = %s, registry_attempts = r.attempts, registry_retry_at = r.retry_at "
        f"FROM {source} AS r WHERE {R}.id = r.rid AND {_plain('face_status')} = r.old_status "
        "AND face_reason = r.old_reason AND registry_attempts = r.was RETURNING id",
        [P, "REGISTRY_RETRYING", db_time(now), clean, *param],
    )
    return [
        change
        for pk in sorted(moved)
        for change in (_submitted(pk), _Change(pk, Layer.FACE, P, "REGISTRY_RETRYING"))
    ]


# --- shared ----------------------------------------------------------------------------------------


def _record(now: datetime.datetime, changes: list[_Change]) -> None:
    """The VerificationStep and audit event `layer_set` writes for each change, in the changes'
    order: one INSERT for the steps and one for the audit events."""
    if not changes:
        return
    stamp = db_time(now)
    step_rows: list[list[Any]] = []
    event_rows: list[list[Any]] = []
    for c in changes:
        layer, status, event_type = _names(c.layer, c.status)
        actor = c.actor
        step_rows.append([c.registrant_id, layer, status, c.reason, c.details or {}])
        event_rows.append(
            [
                actor.kind,
                actor.id,
                actor.label,
                event_type,
                str(c.registrant_id),
                {"reason": c.reason, **c.details} if c.details else {"reason": c.reason},
            ]
        )
    steps, steps_param = json_rows(
        (
            ("rid", "bigint"),
            ("layer", "text"),
            ("outcome", "text"),
            ("reason", "text"),
            ("details", "jsonb"),
        ),
        step_rows,
    )
    events, events_param = json_rows(
        (
            ("actor_kind", "text"),
            ("actor_id", "bigint"),
            ("actor_label", "text"),
            ("event_type", "text"),
            ("subject_id", "text"),
            ("details", "jsonb"),
        ),
        event_rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STEPS} (registrant_id, layer, outcome, reason, at, details) "  # noqa: S608
            f"SELECT r.rid, r.layer, r.outcome, r.reason, %s, r.details FROM {steps} AS r",
            [stamp, *steps_param],
        )
        cursor.execute(
            f"INSERT INTO {AUDIT} (occurred_at, actor_kind, actor_id, actor_label, event_type, "  # noqa: S608
            "subject_type, subject_id, details) "
            "SELECT %s, r.actor_kind, r.actor_id, r.actor_label, r.event_type, %s, r.subject_id, "
            f"r.details FROM {events} AS r",
            [stamp, SUBJECT_TYPE, *events_param],
        )


@functools.cache
def _names(layer: Layer, status: str) -> tuple[str, str, str]:
    """A change's layer, outcome and audit event type as plain text (enum formatting, millions of
    times a national day, cost more than the rest of the rows' building)."""
    return layer.value, str(status), f"registration.{layer.value}.{status}"


def _returning(sql: str, params: list[Any]) -> dict[int, Any]:
    """Run a guarded UPDATE … RETURNING id[, value]: the registrants it moved (id -> value)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1] if len(row) > 1 else None for row in cursor.fetchall()}


def _plain(column: str) -> str:
    """A status column in the guard of an UPDATE … FROM a chunk's rows. SQLite would drive the
    statement by the column's index (every registrant in that state, each matched against the whole
    JSON row set: 0,4 s for a chunk of 1.000) where `+column`, the same value, leaves it the primary
    key; PostgreSQL joins by the primary key anyway and has no unary + for text."""
    return f"+{column}" if connection.vendor == "sqlite" else column


def _in_list(values: Sequence[str]) -> str:
    return f"({', '.join(['%s'] * len(values))})"
