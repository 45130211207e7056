"""One rule, one place (issue 22): each set-based step of registration (bulk.py) on N registrants
leaves what N one-item calls of the per-request services leave, from random states.

Each example builds a state, runs the per-request services one registrant at a time (then rolls
them back), runs the set-based step on all of them from the same state, and compares the
registrants (every column but ids, hashes and times; times only as set or not), their
VerificationStep rows and audit events in the order written, and the refusals. What the paths do
differently on purpose is left out of the comparison and named where it applies: the messages and
codes the per-request path sends, the sign-up receipt it makes, and the actor of the email and
phone steps (the participant per request, the batch's caller in bulk: both the person's side)."""

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.audit.models import AuditEvent
from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.common.refusals import Refused
from prakerja.integrations.population import (
    FaceResult,
    RegistryRecord,
    RegistryUnavailable,
    use_population_registry,
)
from prakerja.integrations.sms import use_sms_gateway
from prakerja.registration import bulk, phone, registry, signup
from prakerja.registration.codes import code_issue
from prakerja.registration.models import (
    CodePurpose,
    ExclusionEntry,
    OneTimeCode,
    Registrant,
    VerificationStep,
)
from prakerja.registration.rules import SignUp
from tests.isolation import rolled_back
from tests.registration.kit import FakeRegistry, FakeSms, People, Person, jpeg_with_exif

pytestmark = pytest.mark.django_db

CALLER = Actor.system("one-rule-tests")
SELFIE = jpeg_with_exif()
PASSWORD = "Rahasia-Sekali-2020"
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class OutageRegistry(FakeRegistry):
    """The kit's registry, down for some NIKs only."""

    down_for: set[str] = field(default_factory=set)

    def lookup(self, nik: str) -> RegistryRecord | None:
        if nik in self.down_for:
            raise RegistryUnavailable("down for this NIK")
        return super().lookup(nik)

    def face_match(self, nik: str, image: bytes) -> FaceResult:
        if nik in self.down_for:
            raise RegistryUnavailable("down for this NIK")
        return super().face_match(nik, image)


@pytest.fixture
def outage() -> Iterator[OutageRegistry]:
    with use_population_registry(OutageRegistry()) as fake:
        yield fake


@pytest.fixture
def cast(outage: OutageRegistry) -> People:
    return People(outage)


@pytest.fixture
def fast_hash(settings: Any) -> None:
    # Dozens of per-request sign-ups per example: argon2's cost is not what is compared here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- the people and their states -------------------------------------------------------------------

KINDS = (
    "ok",
    "not_found",
    "deceased",
    "renamed",
    "wrong_birth",
    "minor",
    "student",
    "excluded",
    "no_face",
)


def make(people: People, kind: str) -> tuple[Person, dict[str, Any]]:
    """A person the registry and the lists treat as `kind`, with the sign-up's overrides."""
    registry = people.registry
    overrides: dict[str, Any] = {}
    if kind == "minor":
        today = datetime.date.today()
        person = people.make(birth_date=datetime.date(today.year - 17, 1, 10))
    else:
        person = people.make(
            in_registry=kind != "not_found", deceased=kind == "deceased", face_ok=kind != "no_face"
        )
    if kind == "renamed":
        overrides["full_name"] = "Joko Susilo"
    elif kind == "wrong_birth":
        registry.records[person.nik] = replace(
            registry.records[person.nik], birth_date=datetime.date(1990, 8, 16)
        )
    elif kind == "student":
        overrides["in_school"] = True
    elif kind == "excluded":
        ExclusionEntry.objects.create(
            nik_index=crypto.blind_index(person.nik, purpose="nik"), category="PNS"
        )
    return person, overrides


def bulk_sign_up(person: Person, **overrides: Any) -> bulk.BulkSignUp:
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
    return bulk.BulkSignUp(**values)


def signed_up(people: People, kinds: list[str], taken: list[int]) -> tuple[list[int], list[str]]:
    """Everyone signed up in bulk (`taken[i]`: 1, the NIK of the one before; 2, their phone);
    returns the registrant ids and the NIKs, by person."""
    persons: list[tuple[Person, dict[str, Any]]] = []
    for i, kind in enumerate(kinds):
        person, overrides = make(people, kind)
        if i and taken[i] == 1:
            # the NIK encodes its holder's birth date: a sign-up with it gives that date
            overrides["nik"] = persons[-1][0].nik
            overrides["birth_date"] = persons[-1][0].birth_date
        if i and taken[i] == 2:
            overrides["phone"] = persons[-1][0].phone
        persons.append((person, overrides))
    result = bulk.registrants_sign_up_bulk(
        people=[bulk_sign_up(p, **o) for p, o in persons], actor=CALLER
    )
    assert all(isinstance(item, int) for item in result)
    return [int(item) for item in result], [p.nik for p, _ in persons]  # type: ignore[arg-type]


SKIPPED = {"id", "password", "nik_encrypted", "created_at", "pending_selfie", "signup_token_hash"}


def snapshot() -> dict[str, dict[str, Any]]:
    """Every registrant by email: its columns (times as set or not), its steps and its audit
    events in the order written, the person's own side (the participant, the caller) as one."""
    state: dict[str, dict[str, Any]] = {}
    for registrant in Registrant.objects.order_by("pk"):
        row: dict[str, Any] = {
            f.attname: getattr(registrant, f.attname)
            for f in Registrant._meta.concrete_fields
            if f.attname not in SKIPPED and not f.attname.endswith("_at")
        }
        row |= {
            f.attname: getattr(registrant, f.attname) is not None
            for f in Registrant._meta.concrete_fields
            if f.attname.endswith("_at") and f.attname != "created_at"
        }
        row["pending_selfie"] = registrant.pending_selfie is not None
        row["nik"] = crypto.decrypt(registrant.nik_encrypted)
        row["steps"] = list(
            VerificationStep.objects.filter(registrant=registrant)
            .order_by("pk")
            .values_list("layer", "outcome", "reason", "details")
        )
        own = (CALLER.label, f"registrant:{registrant.pk}")
        row["audit"] = [
            (event_type, details, "own" if label in own else label)
            for event_type, details, label in AuditEvent.objects.filter(
                subject_type="registration.registrant", subject_id=str(registrant.pk)
            )
            .order_by("pk")
            .values_list("event_type", "details", "actor_label")
        ]
        state[registrant.email] = row
    return state


def compare(per_item: Callable[[], object], set_based: Callable[[], object]) -> dict[str, Any]:
    """Run both from the same state; assert they leave the same rows and answers. Returns the
    state they leave, for the test to check it is not trivially equal."""
    with rolled_back():
        expected_answer = per_item()
        expected = snapshot()
    answer = set_based()
    assert answer == expected_answer
    assert snapshot() == expected
    return expected


def fresh(registrant_id: int) -> Registrant:
    return Registrant.objects.get(pk=registrant_id)


def refused(call: Callable[[], object]) -> str | None:
    """The code of an ApplicationError the call raises, else None."""
    try:
        call()
    except ApplicationError as error:
        return error.code
    return None


kinds_st = st.lists(st.sampled_from(KINDS), min_size=1, max_size=6)


# --- sign-up -------------------------------------------------------------------------------------

# How a person's sign-up differs from their own details: what another account (`old`), someone
# earlier in the same call, or a typo makes of it.
SIGN_UP_VARIANTS = (
    "own",
    "nik_of_old",
    "phone_of_old",
    "nik_of_earlier",
    "phone_of_earlier",
    "email_invalid",
    "name_invalid",
    "phone_invalid",
    "region_unknown",
    "birth_not_the_niks",
    "all_wrong",
)


def sign_up_overrides(variant: str, old: Person, earlier: Person | None) -> dict[str, Any]:
    earlier = earlier or old
    return {
        "own": {},
        "nik_of_old": {"nik": old.nik, "birth_date": old.birth_date},
        "phone_of_old": {"phone": "+62 " + old.phone[1:4] + "-" + old.phone[4:]},
        "nik_of_earlier": {"nik": earlier.nik, "birth_date": earlier.birth_date},
        "phone_of_earlier": {"phone": earlier.phone},
        "email_invalid": {"email": "not-an-email"},
        "name_invalid": {"full_name": " x "},
        "phone_invalid": {"phone": "12345"},
        "region_unknown": {"regency_code": "99.99"},
        "birth_not_the_niks": {"birth_date": datetime.date(1991, 8, 15)},
        "all_wrong": {
            "email": "nope",
            "nik": "1234",
            "full_name": "",
            "education": "phd",
            "employment": "astronaut",
            "birth_date": datetime.date(1890, 1, 1),
        },
    }[variant]


@EXAMPLES
@given(
    cases=st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(SIGN_UP_VARIANTS)), max_size=6)
)
def test_sign_up_in_bulk_is_n_sign_ups(cases, cast, fast_hash):
    with rolled_back():
        old, _ = make(cast, "ok")  # an account that exists (its email not proved yet)
        bulk.registrants_sign_up_bulk(people=[bulk_sign_up(old)], actor=CALLER)
        people: list[bulk.BulkSignUp] = []
        persons: list[Person] = []
        for kind, variant in cases:
            person, overrides = make(cast, kind)
            overrides |= sign_up_overrides(variant, old, persons[-1] if persons else None)
            persons.append(person)
            people.append(bulk_sign_up(person, **overrides))

        def per_item() -> list[object]:
            answers: list[object] = []
            for i, person in enumerate(people):
                data = SignUp(password=PASSWORD, **person.__dict__)
                try:
                    receipt = signup.registrant_sign_up(data=data, client_ip=f"10.6.0.{i}")
                except ApplicationError as error:
                    answers.append((i, error.code, error.details))
                    continue
                answers.append(receipt.email)
            return answers

        def set_based() -> list[object]:
            result = bulk.registrants_sign_up_bulk(people=people, actor=CALLER)
            emails = dict(Registrant.objects.values_list("pk", "email"))
            return [
                (item.index, item.code, item.error.details)
                if isinstance(item, Refused)
                else emails[item]
                for item in result
            ]

        state = compare(per_item, set_based)
        assert len(state) == 1 + sum(variant in SIGNED_UP for _, variant in cases)


SIGNED_UP = {"own", "nik_of_old", "phone_of_old", "nik_of_earlier", "phone_of_earlier"}


# --- email ---------------------------------------------------------------------------------------


@EXAMPLES
@given(
    kinds=kinds_st,
    taken=st.lists(st.sampled_from([0, 0, 1, 2]), min_size=6, max_size=6),
    proved=st.lists(st.booleans(), min_size=6, max_size=6),
    folded=st.booleans(),
)
def test_email_verify_in_bulk_is_n_verifications(kinds, taken, proved, folded, cast):
    with rolled_back():
        ids, _ = signed_up(cast, kinds, taken)
        already = [pk for pk, was in zip(ids, proved, strict=False) if was]
        bulk.emails_verify_bulk(registrant_ids=already, actor=CALLER)
        # What the per-request path needs: the receipt's token and the emailed code.
        receipts: dict[int, tuple[str, str]] = {}
        for pk in ids:
            if pk in already:
                continue
            token = f"token-{pk}"
            Registrant.objects.filter(pk=pk).update(signup_token_hash=signup.token_hash(token))
            code = code_issue(
                registrant=fresh(pk), purpose=CodePurpose.EMAIL, target=fresh(pk).email
            )
            receipts[pk] = (token, code)

        def per_item() -> list[str | None]:
            answers = []
            for i, pk in enumerate(ids):
                if pk not in receipts:  # proved already: the receipt is spent
                    answers.append(None)
                    continue
                token, code = receipts[pk]
                signup.sign_up_email_verify(token=token, code=code, client_ip=f"10.6.1.{i}")
                if folded and fresh(pk).nik_reason == "REGISTRY_CHECKING":
                    registry.registrant_registry_check(registrant_id=pk)  # the task on commit
                answers.append(None)
            return answers

        def set_based() -> list[None]:
            bulk.emails_verify_bulk(registrant_ids=ids, actor=CALLER, registry=folded)
            return [None] * len(ids)

        state = compare(per_item, set_based)
        assert all(row["email_status"] == "passed" for row in state.values())


# --- registry: NIK, and the face check left waiting --------------------------------------------------


@EXAMPLES
@given(
    kinds=kinds_st,
    taken=st.lists(st.sampled_from([0, 0, 0, 1]), min_size=6, max_size=6),
    retried=st.lists(st.integers(0, 2), min_size=6, max_size=6),
    faces_waiting=st.lists(st.booleans(), min_size=6, max_size=6),
    down=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_registry_check_in_bulk_is_n_checks(kinds, taken, retried, faces_waiting, down, cast):
    registry_fake = cast.registry
    assert isinstance(registry_fake, OutageRegistry)
    with rolled_back():
        ids, niks = signed_up(cast, kinds, taken)
        bulk.emails_verify_bulk(registrant_ids=ids, actor=CALLER)
        # Some wait on a face check an outage interrupted (the NIK passed, the selfie stored).
        to_face = [pk for pk, wait in zip(ids, faces_waiting, strict=False) if wait]
        bulk.registry_check_bulk(registrant_ids=to_face)
        bulk.phones_verify_bulk(registrant_ids=to_face, actor=CALLER)
        registry_fake.down_for = set(niks)
        bulk.faces_check_bulk(registrant_ids=to_face, image=SELFIE)
        # Some were retried before: attempts counted, the wait already marked.
        for times in (1, 2):
            again = [pk for pk, n in zip(ids, retried, strict=False) if n >= times]
            bulk.registry_check_bulk(registrant_ids=again)
        registry_fake.down_for = {nik for nik, no in zip(niks, down, strict=False) if no}

        def per_item() -> None:
            for pk in ids:
                registry.registrant_registry_check(registrant_id=pk)

        def set_based() -> None:
            bulk.registry_check_bulk(registrant_ids=ids)

        compare(per_item, set_based)
        registry_fake.down_for = set()


# --- phone and eligibility -------------------------------------------------------------------------


@EXAMPLES
@given(
    kinds=kinds_st,
    taken=st.lists(st.sampled_from([0, 0, 0, 2]), min_size=6, max_size=6),
    changed=st.lists(st.booleans(), min_size=6, max_size=6),
    listed_later=st.lists(st.booleans(), min_size=6, max_size=6),
    folded=st.booleans(),
)
def test_phone_verify_in_bulk_is_n_verifications(
    kinds, taken, changed, listed_later, folded, cast, django_capture_on_commit_callbacks
):
    sms = FakeSms()
    with use_sms_gateway(sms), rolled_back():
        ids, _ = signed_up(cast, kinds, taken)
        bulk.emails_verify_bulk(registrant_ids=ids, actor=CALLER, registry=True)
        # Some went through and then changed their number (eligibility decided once already, and
        # for some an exclusion list names them since): the phone step decides it again.
        through = [pk for pk, c in zip(ids, changed, strict=False) if c]
        bulk.phones_verify_bulk(registrant_ids=through, actor=CALLER)
        codes: dict[int, str] = {}
        for i, pk in enumerate(through):
            registrant = fresh(pk)
            if registrant.phone_reason == "WAITING_EARLIER_LAYER":
                continue  # the NIK failed: no phone to change
            if listed_later[i]:
                ExclusionEntry.objects.get_or_create(
                    nik_index=registrant.nik_index, category="DPRD"
                )
            new = f"0813999{pk % 100000:05d}"
            with django_capture_on_commit_callbacks(execute=True):
                phone.phone_change(registrant=registrant, phone=new, client_ip="10.6.2.1")
            codes[pk] = sms.last_code(fresh(pk).phone)
        for pk in ids:
            registrant = fresh(pk)
            if (registrant.phone_status, registrant.phone_reason) != (
                "pending",
                "AWAITING_PHONE_CODE",
            ):
                continue
            if pk not in codes:
                codes[pk] = code_issue(
                    registrant=registrant, purpose=CodePurpose.PHONE, target=str(registrant.phone)
                )

        def per_item() -> list[str | None]:
            answers = []
            for i, pk in enumerate(ids):
                if pk not in codes:
                    answers.append(None)  # not awaiting a code: the set-based step skips it
                    continue
                face_before = fresh(pk).face_reason
                phone.phone_verify_code(
                    registrant=fresh(pk), code=codes[pk], client_ip=f"10.6.3.{i}"
                )
                answers.append(None)
                opened = (face_before, fresh(pk).face_reason) == (
                    "WAITING_EARLIER_LAYER",
                    "AWAITING_SELFIE",
                )
                if folded and opened:  # the selfie taken at once, where the face check opens
                    registry.face_submit(registrant=fresh(pk), image=SELFIE)
                    registry.registrant_registry_check(registrant_id=pk)  # the task on commit
            return answers

        def set_based() -> list[None]:
            bulk.phones_verify_bulk(
                registrant_ids=ids, actor=CALLER, selfie=SELFIE if folded else None
            )
            return [None] * len(ids)

        compare(per_item, set_based)


# --- face ----------------------------------------------------------------------------------------


@EXAMPLES
@given(
    kinds=kinds_st,
    mismatched_before=st.lists(st.booleans(), min_size=6, max_size=6),
    down=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_face_check_in_bulk_is_n_submissions(kinds, mismatched_before, down, cast):
    registry_fake = cast.registry
    assert isinstance(registry_fake, OutageRegistry)
    with rolled_back():
        ids, niks = signed_up(cast, kinds, [0] * len(kinds))
        bulk.emails_verify_bulk(registrant_ids=ids, actor=CALLER, registry=True)
        bulk.phones_verify_bulk(registrant_ids=ids, actor=CALLER)
        # Some failed a first comparison and try again with this selfie.
        for pk, nik, before in zip(ids, niks, mismatched_before, strict=False):
            if before:
                registry_fake.faces_ok.discard(nik)
                bulk.faces_check_bulk(registrant_ids=[pk], image=SELFIE)
                registry_fake.faces_ok.add(nik)
        registry_fake.down_for = {nik for nik, no in zip(niks, down, strict=False) if no}

        def per_item() -> list[str | None]:
            answers = []
            for pk in ids:
                answer = refused(
                    lambda pk=pk: registry.face_submit(registrant=fresh(pk), image=SELFIE)
                )
                if answer is None:
                    registry.registrant_registry_check(registrant_id=pk)  # the task on commit
                answers.append(None if answer == "STEP_NOT_AVAILABLE" else answer)
            return answers

        def set_based() -> list[None]:
            bulk.faces_check_bulk(registrant_ids=ids, image=SELFIE)
            return [None] * len(ids)

        compare(per_item, set_based)
        registry_fake.down_for = set()


def test_an_invalid_selfie_is_refused_with_the_code_face_submit_refuses_it_with(cast):
    ids, _ = signed_up(cast, ["ok"], [0])
    bulk.emails_verify_bulk(registrant_ids=ids, actor=CALLER, registry=True)
    bulk.phones_verify_bulk(registrant_ids=ids, actor=CALLER)
    before = snapshot()

    per_item = [
        refused(lambda: registry.face_submit(registrant=fresh(ids[0]), image=b"not a picture"))
    ]
    set_based = refused(lambda: bulk.faces_check_bulk(registrant_ids=ids, image=b"not a picture"))
    folded = refused(lambda: bulk.phones_verify_bulk(registrant_ids=ids, actor=CALLER, selfie=b""))

    assert per_item == [set_based] == ["SELFIE_INVALID"]
    assert folded == "SELFIE_INVALID"
    assert snapshot() == before


def test_the_phone_change_reaction_runs_in_the_changes_transaction(cast, monkeypatch):
    """Registration sends `phone_changed`; incentives' receiver runs inside the change, so its
    failure leaves the number and the layer as they were."""
    ids, _ = signed_up(cast, ["ok"], [0])
    bulk.emails_verify_bulk(registrant_ids=ids, actor=CALLER, registry=True)
    bulk.phones_verify_bulk(registrant_ids=ids, actor=CALLER)
    seen: list[tuple[int, Actor, bool]] = []

    def receiver(sender: object, *, registrant_id: int, actor: Actor, **kwargs: object) -> None:
        seen.append((registrant_id, actor, transaction.get_connection().in_atomic_block))
        raise RuntimeError("the reaction failed")

    from prakerja.registration.signals import phone_changed

    phone_changed.connect(receiver, dispatch_uid="test-receiver")
    try:
        before = snapshot()
        with pytest.raises(RuntimeError):
            phone.phone_change(registrant=fresh(ids[0]), phone="081399900001", client_ip="10.6.4.1")
    finally:
        phone_changed.disconnect(dispatch_uid="test-receiver")

    assert seen == [(ids[0], Actor.participant(ids[0]), True)]
    assert snapshot() == before
    assert not OneTimeCode.objects.filter(registrant_id=ids[0]).exists()
