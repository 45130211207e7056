"""Sign-up of a chunk of people, set-based (bulk.registrants_sign_up_bulk): the field rules and
what another account holds decided by rules.py as per request, the accounts written by one INSERT."""

import secrets
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH
from django.db import connection, transaction

from prakerja.common import clock, crypto
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.common.errors import ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.registration.bulk_steps import R
from prakerja.registration.models import Registrant
from prakerja.registration.rules import INITIAL_REASONS, P, SignUp, sign_up_checked, sign_up_fields

_Checked = tuple[dict[str, object], str, str]  # clean values, NIK, sex


def sign_up_chunk(people: list[SignUp], offset: int) -> list[int | Refused]:
    """Per person the new registrant's id or the refusal; `offset`: the chunk's first person's
    index in the call. Unit of work: the checks run first; the accepted people are written in one
    transaction per chunk."""
    outcome: list[int | Refused | None] = [None] * len(people)
    checked: dict[int, _Checked] = {}
    for position, person in enumerate(people):
        try:
            # These people have no password: one-time codes only.
            checked[position] = sign_up_checked(person, password_rule=False)
        except ValidationFailed as error:
            outcome[position] = Refused(offset + position, error)
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
        accepted: list[tuple[int, dict[str, object]]] = []  # position, the columns to write
        for position, (clean, nik, sex) in checked.items():
            if clean["email"] in taken_emails:
                taken = ValidationFailed(details={"email": "EMAIL_TAKEN"})
                outcome[position] = Refused(offset + position, taken)
                continue
            fields = sign_up_fields(
                clean,
                nik,
                sex,
                indexes[position],
                nik_held=indexes[position] in taken_niks,
                phone_used=clean["phone"] in taken_phones,
            )
            # Taken from here on for the chunk's later people, as a per-item run would find it.
            taken_niks.add(indexes[position])
            taken_emails.add(str(clean["email"]))
            taken_phones.add(str(clean["phone"]))
            accepted.append((position, fields))
        if accepted:
            ids = _registrants_insert([fields for _, fields in accepted])
            for position, fields in accepted:
                registrant_id = ids.get(str(fields["email"]))
                if registrant_id is not None:
                    outcome[position] = registrant_id
                    continue
                # Met a concurrent sign-up since the check above: the database let theirs in.
                taken = ValidationFailed(details={"account": "TAKEN"})
                outcome[position] = Refused(offset + position, taken)
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


def _registrants_insert(rows: list[dict[str, object]]) -> dict[str, int]:
    """One INSERT of the accounts as `registrant_sign_up` creates them, from rules.sign_up_fields
    and an unusable password; returns email -> id. A row that meets a unique constraint (a
    concurrent sign-up) is skipped, not an error."""
    values: list[list[Any]] = []
    for fields in rows:
        fields["password"] = _unusable_password()
        fields["birth_date"] = fields["birth_date"].isoformat()  # type: ignore[attr-defined]
        values.append([fields[name] for name, _ in _SIGN_UP_COLUMNS])
    source, param = json_rows(_SIGN_UP_COLUMNS, values)
    names = ", ".join(name for name, _ in _SIGN_UP_COLUMNS)
    layer_columns = ", ".join(
        f"{layer.value}_status, {layer.value}_reason" for layer in INITIAL_REASONS
    )
    layer_values: list[str] = []
    for reason in INITIAL_REASONS.values():
        layer_values += [P.value, reason]
    sql = (
        f"INSERT INTO {R} ({names}, kk_index, is_active, created_at, {layer_columns}, "  # noqa: S608
        "registry_attempts) "
        f"SELECT {', '.join(f'r.{name}' for name, _ in _SIGN_UP_COLUMNS)}, '', %s, %s, "
        f"{', '.join(['%s'] * len(layer_values))}, 0 FROM {source} AS r "
        # WHERE true: SQLite reads an ON after a bare FROM as the start of a join.
        "WHERE true ON CONFLICT DO NOTHING RETURNING id, email"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, db_time(clock.now()), *layer_values, *param])
        return {email: pk for pk, email in cursor.fetchall()}
