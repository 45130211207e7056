"""The bulk entry points (registration/bulk.py) against the per-item services (services.py).

The comparison test walks one cast of people through registration twice from the same database
state: once person by person through the services (then rolled back), once through the bulk entry
points. Both must refuse the same sign-ups with the same details and leave the same registrants
(every column but ids, hashes and times), the same verification steps and the same audit events,
compared by email since a rolled-back run still advances PostgreSQL's sequences. (An email that
already has an account is the one case the two treat differently, on purpose: see bulk.py.)"""

import datetime
from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.integrations.population import use_population_registry
from prakerja.registration import bulk, services, signup
from prakerja.registration.bulk import (
    BulkSignUp,
    emails_verify_bulk,
    faces_check_bulk,
    phones_verify_bulk,
    registrants_sign_up_bulk,
    registry_check_bulk,
)
from prakerja.registration.models import (
    ExclusionEntry,
    OneTimeCode,
    Registrant,
    VerificationStep,
)
from tests.isolation import rolled_back
from tests.registration.kit import FakeRegistry, FakeSms, People, Person, email_code, jpeg_with_exif

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("bulk-tests")
SELFIE = jpeg_with_exif()


def bulk_sign_up(person: Person, **overrides: Any) -> BulkSignUp:
    values: dict[str, Any] = dict(
        email=person.email,
        nik=person.nik,
        full_name=person.full_name,
        birth_date=person.birth_date,
        phone=person.phone,
        regency_code="32.01",
        education="sma",
        employment="laid_off",
        in_school=False,
    )
    values.update(overrides)
    return BulkSignUp(**values)


def per_item_data(person: Person, **overrides: Any) -> services.SignUp:
    values = bulk_sign_up(person, **overrides).__dict__
    return services.SignUp(password="Rahasia-Sekali-2020", **values)


def walk_per_item(
    cast: list[tuple[Person, dict[str, Any]]], sms: FakeSms, capture: Any
) -> list[object]:
    """Each person through the services, as far as they get: the registrant id or the refusal."""
    outcome: list[object] = []
    for i, (person, overrides) in enumerate(cast):
        ip = f"10.9.{i // 200}.{i % 200}"  # per person: the throttles are not what is compared
        try:
            with capture(execute=True):
                receipt = services.registrant_sign_up(
                    data=per_item_data(person, **overrides), client_ip=ip
                )
            registrant = Registrant.objects.get(email=receipt.email)
        except ValidationFailed as error:
            outcome.append(("refused", error.code, error.details))
            continue
        outcome.append(registrant.pk)
        with capture(execute=True):
            services.sign_up_email_verify(
                token=receipt.token, code=email_code(registrant.email), client_ip=ip
            )
        registrant.refresh_from_db()
        if (registrant.phone_status, registrant.phone_reason) == ("pending", "AWAITING_PHONE_CODE"):
            with capture(execute=True):
                services.phone_verify_code(
                    registrant=registrant, code=sms.last_code(registrant.phone), client_ip=ip
                )
            registrant.refresh_from_db()
        if (registrant.face_status, registrant.face_reason) == ("pending", "AWAITING_SELFIE"):
            with capture(execute=True):
                services.face_submit(registrant=registrant, image=SELFIE)
    return outcome


def walk_bulk(cast: list[tuple[Person, dict[str, Any]]], *, folded: bool = False) -> list[object]:
    """Everyone through the bulk steps; `folded`: the registry's answers written with the email
    and the selfie's verdict with the phone (the registry's step then finds nothing to do)."""
    result = registrants_sign_up_bulk(
        people=[bulk_sign_up(person, **overrides) for person, overrides in cast], actor=ACTOR
    )
    ids = [item for item in result if isinstance(item, int)]
    assert emails_verify_bulk(registrant_ids=ids, actor=ACTOR, registry=folded) == 14
    assert registry_check_bulk(registrant_ids=ids) == (0 if folded else 12)
    selfie = SELFIE if folded else None
    assert phones_verify_bulk(registrant_ids=ids, actor=ACTOR, selfie=selfie) == 7
    if folded:  # everyone has submitted their one selfie: a second would retry the mismatch
        assert not Registrant.objects.filter(face_reason="AWAITING_SELFIE").exists()
    else:
        assert faces_check_bulk(registrant_ids=ids, image=SELFIE) == 4
    return [
        ("refused", item.code, item.error.details) if isinstance(item, Refused) else item
        for item in result
    ]


SKIPPED = {
    "id",
    "password",
    "nik_encrypted",
    "created_at",
    "pending_selfie",
    "registry_retry_at",
    "signup_token_hash",  # the per-item sign-up's receipt; a batch makes none
}


def snapshot() -> dict[str, dict[str, Any]]:
    """Every registrant by email: its columns (times only as set or not), its steps and its
    audit events in the order written, the actor named by kind (the caller, the participant and
    the bulk actor all count as the person's side)."""
    state: dict[str, dict[str, Any]] = {}
    for registrant in Registrant.objects.order_by("pk"):
        row = {
            field.attname: getattr(registrant, field.attname)
            for field in Registrant._meta.concrete_fields
            if field.attname not in SKIPPED and not field.attname.endswith("_at")
        }
        row.update(
            {
                field.attname: getattr(registrant, field.attname) is not None
                for field in Registrant._meta.concrete_fields
                if field.attname.endswith("_at") and field.attname != "created_at"
            }
        )
        row["pending_selfie"] = registrant.pending_selfie is not None
        row["nik"] = crypto.decrypt(registrant.nik_encrypted)
        row["steps"] = list(
            VerificationStep.objects.filter(registrant=registrant)
            .order_by("pk")
            .values_list("layer", "outcome", "reason", "details")
        )
        row["audit"] = [
            (event_type, details, "caller" if label in (ACTOR.label, own) else label)
            for event_type, details, label, own in (
                (*values, f"registrant:{registrant.pk}")
                for values in AuditEvent.objects.filter(
                    subject_type="registration.registrant", subject_id=str(registrant.pk)
                )
                .order_by("pk")
                .values_list("event_type", "details", "actor_label")
            )
        ]
        state[registrant.email] = row
    return state


def by_email(outcome: list[object]) -> list[object]:
    """Registrant ids as emails (ids differ between the two runs)."""
    index = dict(Registrant.objects.values_list("pk", "email"))
    return [index[item] if isinstance(item, int) else item for item in outcome]


LAYER_COLUMNS = (
    "nik_status",
    "nik_reason",
    "phone_reason",
    "eligibility_reason",
    "face_status",
    "face_reason",
)


def the_cast(people: People, registry: FakeRegistry) -> list[tuple[Person, dict[str, Any]]]:
    """Everyone the rules treat differently; `old` is an account signed up beforehand."""
    today = timezone.localdate()
    passes = people.make()
    not_found = people.make(in_registry=False)
    renamed = people.make(name="BUDI SANTOSO")
    deceased = people.make(deceased=True)
    wrong_birth = people.make()
    registry.records[wrong_birth.nik] = replace(
        registry.records[wrong_birth.nik], birth_date=datetime.date(1990, 8, 16)
    )
    minor = people.make(birth_date=datetime.date(today.year - 17, 1, 10))
    student = people.make()
    excluded = people.make()
    ExclusionEntry.objects.create(
        nik_index=crypto.blind_index(excluded.nik, purpose="nik"), category="PNS"
    )
    ExclusionEntry.objects.create(
        nik_index=crypto.blind_index(excluded.nik, purpose="nik"), category="BANSOS"
    )
    no_face = people.make(face_ok=False)
    titled = people.make(name="SITI AMINAH", sex="F", birth_date=datetime.date(1985, 2, 3))
    old = people.make()
    with mock.patch.object(signup, "_send_email_code"):
        services.registrant_sign_up(data=per_item_data(old), client_ip="10.8.0.1")
    fresh = [people.make() for _ in range(6)]
    refused_then_free = fresh[4]
    return [
        (passes, {}),
        (not_found, {}),
        (renamed, {"full_name": "Joko Susilo"}),
        (deceased, {}),
        (wrong_birth, {}),
        (minor, {}),
        (student, {"in_school": True}),
        (excluded, {}),
        (no_face, {}),
        (titled, {"full_name": "Hj. siti   Aminah, S.Pd."}),
        # held by an account that exists (spelt differently: the rules normalise first)
        (fresh[0], {"nik": old.nik}),
        (fresh[2], {"phone": "+62 " + old.phone[1:4] + "-" + old.phone[4:]}),
        # held by someone earlier in the same call: the first wins
        (fresh[3], {"nik": passes.nik, "phone": renamed.phone}),
        (refused_then_free, {"email": "nope"}),
        # a refused person's NIK and phone are still free for the next
        (replace(refused_then_free, email="free@example.id"), {}),
        # every field wrong at once
        (
            fresh[5],
            {
                "email": "not-an-email",
                "nik": "1234",
                "full_name": " x ",
                "phone": "12345",
                "regency_code": "99.99",
                "education": "phd",
                "employment": "astronaut",
                "birth_date": datetime.date(1890, 1, 1),
            },
        ),
    ]


@pytest.mark.parametrize(("chunk", "folded"), [(1000, False), (3, False), (1000, True), (3, True)])
def test_bulk_leaves_what_the_per_item_services_leave(
    chunk, folded, people, registry, sms, django_capture_on_commit_callbacks, monkeypatch
):
    cast = the_cast(people, registry)
    monkeypatch.setattr(bulk, "CHUNK_MAX", chunk)  # chunks of 3: duplicates across chunks too
    with rolled_back():
        per_item = by_email(walk_per_item(cast, sms, django_capture_on_commit_callbacks))
        expected = snapshot()
    before = (len(mail.outbox), len(sms.sent), OneTimeCode.objects.count())

    done = by_email(walk_bulk(cast, folded=folded))

    assert done == per_item
    assert snapshot() == expected
    # What the per-item path leaves per outcome, spelled out (the comparison alone would pass if
    # both paths did nothing).
    final = snapshot()
    outcomes = [
        tuple(final[item][column] for column in LAYER_COLUMNS) if isinstance(item, str) else item[2]
        for item in done
    ]
    waiting = "WAITING_EARLIER_LAYER"
    assert outcomes == [
        ("passed", "", "", "", "passed", ""),
        ("failed", "NIK_NOT_FOUND", waiting, waiting, "pending", waiting),
        ("failed", "NAME_MISMATCH", waiting, waiting, "pending", waiting),
        ("failed", "DECEASED", waiting, waiting, "pending", waiting),
        ("failed", "BIRTH_DATE_MISMATCH", waiting, waiting, "pending", waiting),
        ("passed", "", "", "UNDER_AGE", "pending", waiting),
        ("passed", "", "", "IN_SCHOOL", "pending", waiting),
        ("passed", "", "", "EXCLUDED", "pending", waiting),
        ("passed", "", "", "", "failed", "FACE_MISMATCH"),
        ("passed", "", "", "", "passed", ""),
        ("failed", "NIK_TAKEN", waiting, waiting, "pending", waiting),
        ("passed", "", "PHONE_TAKEN", waiting, "pending", waiting),
        ("failed", "NIK_TAKEN", waiting, waiting, "pending", waiting),
        {"email": "EMAIL_INVALID"},
        ("passed", "", "", "", "passed", ""),
        {
            "email": "EMAIL_INVALID",
            "nik": "NIK_FORMAT",
            "full_name": "NAME_REQUIRED",
            "phone": "PHONE_INVALID",
            "regency_code": "REGION_UNKNOWN",
            "education": "CHOICE_INVALID",
            "employment": "CHOICE_INVALID",
            "birth_date": "BIRTH_DATE_INVALID",
        },
    ]
    assert final[done[10]]["nik_index"] is None  # type: ignore[index]
    assert final[done[11]]["phone"] is None  # type: ignore[index]
    passes = final[done[0]]  # type: ignore[index]
    assert passes["steps"] == [
        ("email", "passed", "", {"via": "code"}),
        ("nik", "pending", "REGISTRY_CHECKING", {}),
        ("nik", "passed", "", {}),
        ("phone", "pending", "AWAITING_PHONE_CODE", {}),
        ("phone", "passed", "", {}),
        ("eligibility", "passed", "", {}),
        ("face", "pending", "AWAITING_SELFIE", {}),
        ("face", "pending", "REGISTRY_CHECKING", {}),
        ("face", "passed", "", {"score": 0.93}),
    ]
    assert [(event, details) for event, details, _ in passes["audit"]][-2:] == [
        ("registration.face.pending", {"reason": "REGISTRY_CHECKING"}),
        ("registration.face.passed", {"reason": "", "score": 0.93}),
    ]
    assert final[done[7]]["steps"][-1] == (  # type: ignore[index]
        "eligibility",
        "failed",
        "EXCLUDED",
        {"category": "BANSOS, PNS"},
    )
    assert final[done[2]]["steps"][-1] == (  # type: ignore[index]
        "nik",
        "failed",
        "NAME_MISMATCH",
        {"fields": ["full_name"]},
    )
    # The NIK at rest as the service keeps it; a password no one can sign in with; nothing sent.
    registrant = Registrant.objects.get(email=done[0])
    person = cast[0][0]
    assert crypto.decrypt(registrant.nik_encrypted) == person.nik
    assert registrant.nik_index == crypto.blind_index(person.nik, purpose="nik")
    assert registrant.nik_last4 == person.nik[-4:]
    assert registrant.password.startswith("!")
    assert not is_password_usable(registrant.password)
    assert registrant.registry_retry_at is None
    assert (len(mail.outbox), len(sms.sent), OneTimeCode.objects.count()) == before


def test_sign_up_leaves_the_rows_registrant_sign_up_leaves(people, registry, sms):
    person = people.make()
    with rolled_back():
        with mock.patch.object(signup, "_send_email_code"):
            services.registrant_sign_up(data=per_item_data(person), client_ip="10.0.0.9")
        expected = snapshot()
    [registrant_id] = registrants_sign_up_bulk(people=[bulk_sign_up(person)], actor=ACTOR)
    assert snapshot() == expected
    registrant = Registrant.objects.get(pk=registrant_id)
    assert [
        (registrant.email_status, registrant.email_reason),
        (registrant.nik_status, registrant.nik_reason),
        (registrant.face_status, registrant.face_reason),
        registrant.phone,
        registrant.sex,
        registrant.province_code,
        registrant.language,
        registrant.is_active,
        registrant.kk_index,
        registrant.registry_attempts,
    ] == [
        ("pending", "AWAITING_EMAIL_CODE"),
        ("pending", "WAITING_EARLIER_LAYER"),
        ("pending", "WAITING_EARLIER_LAYER"),
        "+6281234560001",
        "M",
        "32",
        "id",
        True,
        "",
        0,
    ]
    # Sign-up records no audit event on either path, and no step.
    assert AuditEvent.objects.count() == 0
    assert VerificationStep.objects.count() == 0


def counts() -> tuple[int, int, int, int]:
    return (
        Registrant.objects.count(),
        VerificationStep.objects.count(),
        AuditEvent.objects.count(),
        OneTimeCode.objects.count(),
    )


def test_refused_sign_ups_write_nothing(people, registry):
    first = people.make()
    [first_id] = registrants_sign_up_bulk(people=[bulk_sign_up(first)], actor=ACTOR)
    before = counts()
    other = people.make()

    result = registrants_sign_up_bulk(
        people=[bulk_sign_up(other, email=first.email.upper()), bulk_sign_up(other, email="nope")],
        actor=ACTOR,
    )

    assert [(item.code, item.error.details) for item in result] == [  # type: ignore[union-attr]
        ("VALIDATION_FAILED", {"email": "EMAIL_TAKEN"}),
        ("VALIDATION_FAILED", {"email": "EMAIL_INVALID"}),
    ]
    assert counts() == before
    assert registrants_sign_up_bulk(people=[], actor=ACTOR) == []
    assert Registrant.objects.get().pk == first_id


def test_a_nik_or_phone_another_account_holds_is_not_claimed(people, registry):
    first = people.make()
    [first_id] = registrants_sign_up_bulk(people=[bulk_sign_up(first)], actor=ACTOR)
    nik_of_first, phone_of_first = registrants_sign_up_bulk(
        people=[
            bulk_sign_up(people.make(), nik=first.nik),
            bulk_sign_up(people.make(), phone=first.phone),
        ],
        actor=ACTOR,
    )
    assert Registrant.objects.get(pk=first_id).nik_index == crypto.blind_index(
        first.nik, purpose="nik"
    )
    taken_nik = Registrant.objects.get(pk=nik_of_first)
    assert (taken_nik.nik_index, crypto.decrypt(taken_nik.nik_encrypted)) == (None, first.nik)
    assert Registrant.objects.get(pk=phone_of_first).phone is None


def walk_through(people: People, n: int, **make: Any) -> list[int]:
    signed = registrants_sign_up_bulk(
        people=[bulk_sign_up(people.make(**make)) for _ in range(n)], actor=ACTOR
    )
    assert all(isinstance(item, int) for item in signed)
    return signed  # type: ignore[return-value]


def test_each_step_again_changes_nothing(people, registry):
    ids = walk_through(people, 3)
    ids += walk_through(people, 1, in_registry=False)
    steps = [
        lambda: emails_verify_bulk(registrant_ids=ids, actor=ACTOR),
        lambda: registry_check_bulk(registrant_ids=ids),
        lambda: phones_verify_bulk(registrant_ids=ids, actor=ACTOR),
        lambda: faces_check_bulk(registrant_ids=ids, image=SELFIE),
    ]
    for step, changed in zip(steps, (4, 4, 3, 3), strict=True):
        assert step() == changed
        before = counts(), snapshot()
        assert step() == 0
        assert (counts(), snapshot()) == before
    # Out of order: a later step for people not there yet changes nothing either.
    fresh = walk_through(people, 2)
    before = counts(), snapshot()
    assert registry_check_bulk(registrant_ids=fresh) == 0
    assert phones_verify_bulk(registrant_ids=fresh, actor=ACTOR) == 0
    assert faces_check_bulk(registrant_ids=fresh, image=SELFIE) == 0
    assert (counts(), snapshot()) == before


def test_a_face_mismatch_is_retried_with_the_next_selfie(people, registry):
    person = people.make(face_ok=False)
    ids = walk_through_phone(people, [person])
    assert faces_check_bulk(registrant_ids=ids, image=SELFIE) == 1
    registry.faces_ok.add(person.nik)
    assert faces_check_bulk(registrant_ids=ids, image=SELFIE) == 1
    registrant = Registrant.objects.get(pk=ids[0])
    assert (registrant.face_status, registrant.face_reason) == ("passed", "")
    assert list(
        VerificationStep.objects.filter(registrant=registrant, layer="face")
        .order_by("pk")
        .values_list("outcome", "reason", "details")
    ) == [
        ("pending", "AWAITING_SELFIE", {}),
        ("pending", "REGISTRY_CHECKING", {}),
        ("failed", "FACE_MISMATCH", {"score": 0.12}),
        ("pending", "REGISTRY_CHECKING", {}),
        ("passed", "", {"score": 0.93}),
    ]


def walk_through_phone(people: People, persons: list[Person]) -> list[int]:
    ids = registrants_sign_up_bulk(people=[bulk_sign_up(p) for p in persons], actor=ACTOR)
    emails_verify_bulk(registrant_ids=ids, actor=ACTOR)  # type: ignore[arg-type]
    registry_check_bulk(registrant_ids=ids)  # type: ignore[arg-type]
    phones_verify_bulk(registrant_ids=ids, actor=ACTOR)  # type: ignore[arg-type]
    return ids  # type: ignore[return-value]


def test_an_invalid_selfie_is_refused_and_changes_nothing(people, registry):
    ids = walk_through_phone(people, [people.make()])
    before = counts(), snapshot()
    with pytest.raises(services.SelfieInvalid) as refused:
        faces_check_bulk(registrant_ids=ids, image=b"GIF89a not a photo")
    assert refused.value.details == {"selfie": "SELFIE_FORMAT"}
    assert (counts(), snapshot()) == before


def test_a_registry_outage_leaves_the_retry_state_and_loses_nobody(
    people, registry, sms, django_capture_on_commit_callbacks
):
    person = people.make()
    registry.down = True
    with rolled_back():
        with mock.patch.object(signup, "_send_email_code"):
            services.registrant_sign_up(data=per_item_data(person), client_ip="10.0.0.9")
        item = Registrant.objects.get(email=person.email)
        with django_capture_on_commit_callbacks(execute=True):
            signup._email_passed(item.pk, how="code")
        expected = snapshot()
    [registrant_id] = registrants_sign_up_bulk(people=[bulk_sign_up(person)], actor=ACTOR)
    assert emails_verify_bulk(registrant_ids=[registrant_id], actor=ACTOR) == 1

    start = timezone.now()
    assert registry_check_bulk(registrant_ids=[registrant_id]) == 1
    assert snapshot() == expected
    registrant = Registrant.objects.get(pk=registrant_id)
    assert (registrant.nik_status, registrant.nik_reason) == ("pending", "REGISTRY_RETRYING")
    assert registrant.registry_attempts == 1
    assert start + datetime.timedelta(seconds=60) <= registrant.registry_retry_at
    assert registrant.registry_retry_at <= timezone.now() + datetime.timedelta(seconds=60)

    # Still down: one more attempt counted, the wait doubles, no second step.
    steps = VerificationStep.objects.count()
    assert registry_check_bulk(registrant_ids=[registrant_id]) == 0
    registrant.refresh_from_db()
    assert registrant.registry_attempts == 2
    assert registrant.registry_retry_at >= timezone.now() + datetime.timedelta(seconds=115)
    assert VerificationStep.objects.count() == steps

    registry.down = False
    assert registry_check_bulk(registrant_ids=[registrant_id]) == 1
    registrant.refresh_from_db()
    assert (registrant.nik_status, registrant.phone_reason) == ("passed", "AWAITING_PHONE_CODE")
    assert (registrant.registry_attempts, registrant.registry_retry_at) == (0, None)
    assert phones_verify_bulk(registrant_ids=[registrant_id], actor=ACTOR) == 1

    # The face check during an outage: the selfie waits in the row for the retry.
    registry.down = True
    assert faces_check_bulk(registrant_ids=[registrant_id], image=SELFIE) == 1
    registrant.refresh_from_db()
    assert (registrant.face_status, registrant.face_reason) == ("pending", "REGISTRY_RETRYING")
    assert bytes(registrant.pending_selfie) == services.stripped_image(SELFIE)
    assert registrant.registry_attempts == 1
    assert faces_check_bulk(registrant_ids=[registrant_id], image=SELFIE) == 0

    registry.down = False
    assert registry_check_bulk(registrant_ids=[registrant_id]) == 1
    registrant.refresh_from_db()
    assert (registrant.face_status, registrant.face_reason) == ("passed", "")
    assert registrant.pending_selfie is None
    assert (registrant.registry_attempts, registrant.registry_retry_at) == (0, None)
    assert list(
        VerificationStep.objects.filter(registrant=registrant, layer="face")
        .order_by("pk")
        .values_list("outcome", "reason", "details")
    ) == [
        ("pending", "AWAITING_SELFIE", {}),
        ("pending", "REGISTRY_CHECKING", {}),
        ("pending", "REGISTRY_RETRYING", {}),
        ("passed", "", {"score": 0.93}),
    ]
    assert AuditEvent.objects.filter(
        subject_id=str(registrant_id), event_type="registration.face.pending"
    ).values_list("actor_label", flat=True).order_by("pk")[::1] == [
        "system:eligibility",
        f"registrant:{registrant_id}",
        "system:registry_check",
    ]


def test_the_face_check_left_waiting_by_a_per_item_outage_is_finished_in_bulk(
    people, registry, django_capture_on_commit_callbacks
):
    [registrant_id] = walk_through_phone(people, [people.make()])
    registry.down = True
    with django_capture_on_commit_callbacks(execute=True):
        services.face_submit(registrant=Registrant.objects.get(pk=registrant_id), image=SELFIE)
    registry.down = False
    assert registry_check_bulk(registrant_ids=[registrant_id]) == 1
    registrant = Registrant.objects.get(pk=registrant_id)
    assert (registrant.face_status, registrant.pending_selfie) == ("passed", None)


class SettledMeanwhile(FakeRegistry):
    """Another worker settles each registrant while the registry is being asked about it."""

    def lookup(self, nik: str):  # type: ignore[no-untyped-def]
        Registrant.objects.filter(nik_index=crypto.blind_index(nik, purpose="nik")).update(
            nik_status="failed", nik_reason="NIK_NOT_FOUND"
        )
        return super().lookup(nik)

    def face_match(self, nik: str, image: bytes):  # type: ignore[no-untyped-def]
        Registrant.objects.filter(nik_index=crypto.blind_index(nik, purpose="nik")).update(
            face_status="passed", face_reason=""
        )
        return super().face_match(nik, image)


def test_a_registrant_moved_by_someone_else_meanwhile_is_skipped(people, registry):
    ids = walk_through(people, 2)
    emails_verify_bulk(registrant_ids=ids, actor=ACTOR)
    raced = SettledMeanwhile(records=registry.records, faces_ok=registry.faces_ok)
    before = VerificationStep.objects.count()
    with use_population_registry(raced):
        assert registry_check_bulk(registrant_ids=ids) == 0
    assert VerificationStep.objects.count() == before

    others = walk_through_phone(people, [people.make()])
    before = VerificationStep.objects.count()
    with use_population_registry(raced):
        assert faces_check_bulk(registrant_ids=others, image=SELFIE) == 0
    assert VerificationStep.objects.count() == before


def test_the_statements_per_chunk_do_not_grow_with_the_chunk(people, registry):
    def statements(n: int) -> list[int]:
        persons = [people.make(face_ok=i % 2 == 0) for i in range(n)]
        for person in persons[::3]:
            registry.records.pop(person.nik, None)
        for person in persons[1::5]:
            ExclusionEntry.objects.create(
                nik_index=crypto.blind_index(person.nik, purpose="nik"), category="PNS"
            )
        counted = []
        ids: list[int] = []

        def run(step: Any) -> None:
            with CaptureQueriesContext(connection) as queries:
                step()
            counted.append(len(queries))

        def sign_up() -> None:
            ids.extend(
                registrants_sign_up_bulk(  # type: ignore[arg-type]
                    people=[bulk_sign_up(p) for p in persons], actor=ACTOR
                )
            )

        run(sign_up)
        run(lambda: emails_verify_bulk(registrant_ids=ids, actor=ACTOR))
        run(lambda: registry_check_bulk(registrant_ids=ids))
        run(lambda: phones_verify_bulk(registrant_ids=ids, actor=ACTOR))
        run(lambda: faces_check_bulk(registrant_ids=ids, image=SELFIE))
        assert Registrant.objects.filter(pk__in=ids, face_status="passed").exists()
        return counted

    small = statements(10)
    assert statements(50) == small
    assert max(small) <= 12


def test_folded_steps_leave_what_the_registry_did_not_answer_to_its_own_steps(people, registry):
    """While the registry is down, the email step with `registry` leaves the NIK waiting exactly as
    the email step alone does, and the phone step with a selfie leaves the face awaiting it: the
    steps of their own then finish them, with the same rows as the unfolded walk."""
    cast = [people.make(), people.make(face_ok=False)]
    with rolled_back():
        ids = walk_through_phone(people, cast)
        assert faces_check_bulk(registrant_ids=ids, image=SELFIE) == 2
        expected = snapshot()
    ids = registrants_sign_up_bulk(people=[bulk_sign_up(p) for p in cast], actor=ACTOR)
    registry.down = True
    calls = registry.calls
    assert emails_verify_bulk(registrant_ids=ids, actor=ACTOR, registry=True) == 2  # type: ignore[arg-type]
    assert registry.calls == calls + 2
    assert list(Registrant.objects.order_by("pk").values_list("nik_status", "nik_reason")) == [
        ("pending", "REGISTRY_CHECKING"),
        ("pending", "REGISTRY_CHECKING"),
    ]
    assert all(r.registry_retry_at is not None for r in Registrant.objects.all())
    registry.down = False
    assert registry_check_bulk(registrant_ids=ids) == 2  # type: ignore[arg-type]
    registry.down = True
    assert phones_verify_bulk(registrant_ids=ids, actor=ACTOR, selfie=SELFIE) == 2  # type: ignore[arg-type]
    assert list(Registrant.objects.order_by("pk").values_list("face_status", "face_reason")) == [
        ("pending", "AWAITING_SELFIE"),
        ("pending", "AWAITING_SELFIE"),
    ]
    registry.down = False
    assert faces_check_bulk(registrant_ids=ids, image=SELFIE) == 2  # type: ignore[arg-type]
    assert snapshot() == expected
    assert [row["face_reason"] for row in snapshot().values()] == ["", "FACE_MISMATCH"]


def test_a_phone_step_with_an_invalid_selfie_is_refused_and_changes_nothing(people, registry):
    person = people.make()
    ids = registrants_sign_up_bulk(people=[bulk_sign_up(person)], actor=ACTOR)
    emails_verify_bulk(registrant_ids=ids, actor=ACTOR, registry=True)  # type: ignore[arg-type]
    before = counts(), snapshot()
    with pytest.raises(services.SelfieInvalid) as refused:
        phones_verify_bulk(registrant_ids=ids, actor=ACTOR, selfie=b"GIF89a not a photo")  # type: ignore[arg-type]
    assert refused.value.details == {"selfie": "SELFIE_FORMAT"}
    assert (counts(), snapshot()) == before


def test_each_folded_step_again_changes_nothing(people, registry):
    ids = walk_through(people, 3)
    ids += walk_through(people, 1, in_registry=False)
    steps = [
        lambda: emails_verify_bulk(registrant_ids=ids, actor=ACTOR, registry=True),
        lambda: phones_verify_bulk(registrant_ids=ids, actor=ACTOR, selfie=SELFIE),
    ]
    for step, changed in zip(steps, (4, 3), strict=True):
        assert step() == changed
        before = counts(), snapshot(), registry.calls
        assert step() == 0
        assert (counts(), snapshot(), registry.calls) == before  # nor asked the registry again
    assert [row["face_status"] for row in snapshot().values()] == ["passed"] * 3 + ["pending"]
