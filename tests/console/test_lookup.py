"""The participant look-up through Django's test client, as operators holding exactly the console
permissions of their role: each kind of key finds its person and nobody else, bad keys are
refused with their reason, personal data is masked unless unmasked with a reason, and the audit
log records searches and unmaskings without the values themselves."""

import json
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.common.crypto import decrypt
from prakerja.console.lookup_audit import LOOKED_UP, UNMASKED, VIEWED
from prakerja.console.middleware import ACTION_EVENT
from prakerja.registration.models import Registrant
from prakerja.waves.cards import luhn_check_digit, luhn_valid
from prakerja.waves.models import Participant
from tests.operators import operator_login, staff_user
from tests.orders.kit import credited
from tests.waves.factory import verified

pytestmark = pytest.mark.django_db

SEARCH = "/console/peserta/"
LOOKUP = "lookup_participant"
UNMASK = "unmask_personal_data"
REASON = "Pengaduan #12: peserta menelepon, cocokkan nomor ponsel"


def operator(username: str, *codenames: str) -> Client:
    """A staff user with exactly these console permissions, signed in with the second factor (a
    TOTP device remembered in the session, as django_otp's login does)."""
    user = staff_user(username, *(f"console.{codename}" for codename in codenames))
    return operator_login(Client(), user)


def timeline_url(registrant: Registrant) -> str:
    return reverse("console_lookup:timeline", kwargs={"registrant_id": registrant.pk})


def found_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="registrant-(\d+)"', html)]


def nik(registrant: Registrant) -> str:
    return decrypt(registrant.nik_encrypted)


def spaced(digits: str) -> str:
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def written() -> int:
    """Audit events other than the console's record of every operator POST (its own tests cover
    it): a refused request must leave this unchanged."""
    return AuditEvent.objects.exclude(event_type=ACTION_EVENT).count()


def audit_dump() -> str:
    return json.dumps(list(AuditEvent.objects.values("event_type", "details", "subject_id")))


def searched_as(kind: str, key_kind: str, digits: str) -> str:
    """What the audit log says was searched: in auto mode sixteen digits are a NIK, and a card
    number too when the last digit fits Luhn's check."""
    if kind != "auto":
        return key_kind
    if key_kind in ("nik", "card"):
        return "nik+card" if luhn_valid(digits) else "nik"
    return key_kind


@pytest.fixture
def participants() -> list[Participant]:
    people = credited(3)
    return [Participant.objects.select_related("registrant").get(pk=person.pk) for person in people]


def test_the_search_page_is_shown_to_an_operator_who_may_look_up():
    response = operator("cs", LOOKUP).get(SEARCH)
    assert response.status_code == 200
    assert 'id="lookup-form"' in response.content.decode()
    assert AuditEvent.objects.filter(event_type=LOOKED_UP).count() == 0


@pytest.mark.parametrize("kind", ["nik", "phone", "email", "card", "auto"])
def test_each_kind_of_key_finds_the_right_person_and_only_them(participants, kind):
    client = operator("cs", LOOKUP)
    for person in participants:
        registrant = person.registrant
        keys = {
            "nik": spaced(nik(registrant)),
            "phone": "0" + registrant.phone.removeprefix("+62"),
            "email": registrant.email.upper(),
            "card": spaced(person.card_number),
        }
        for key_kind, key in keys.items():
            if kind not in ("auto", key_kind):
                continue
            response = client.post(SEARCH, {"q": key, "kind": kind})
            assert response.status_code == 200
            assert found_ids(response.content.decode()) == [registrant.pk], (key_kind, key)
            event = AuditEvent.objects.filter(event_type=LOOKED_UP).order_by("-id").first()
            assert event.details == {
                "kind": searched_as(kind, key_kind, key.replace(" ", "")),
                "found": [registrant.pk],
            }
            assert event.actor_label == "user:cs"
    # Neither the keys nor the person's data are in the audit log.
    dump = audit_dump()
    for person in participants:
        for value in (nik(person.registrant), person.registrant.phone, person.card_number):
            assert value not in dump
        assert person.registrant.email not in dump.lower()


def test_an_unknown_key_gives_a_clear_empty_result_and_is_still_audited(participants):
    client = operator("cs", LOOKUP)
    response = client.post(SEARCH, {"q": "tidak.ada@contoh.id", "kind": "email"})
    html = response.content.decode()
    assert response.status_code == 200
    assert found_ids(html) == []
    assert 'id="no-results"' in html
    assert list(
        AuditEvent.objects.filter(event_type=LOOKED_UP).values_list("details", flat=True)
    ) == [{"kind": "email", "found": []}]


def test_a_phone_number_belonging_to_a_closed_account_as_well_finds_both(participants):
    first = participants[0].registrant
    Registrant.objects.filter(pk=first.pk).update(is_active=False)
    (again,) = verified(1)
    Registrant.objects.filter(pk=again.pk).update(phone=first.phone)
    response = operator("cs", LOOKUP).post(SEARCH, {"q": first.phone, "kind": "phone"})
    assert found_ids(response.content.decode()) == [again.pk, first.pk]  # the active one first


def test_a_card_number_with_a_wrong_check_digit_is_refused_with_that_reason(participants):
    before = written()
    card = participants[0].card_number
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    response = operator("cs", LOOKUP).post(SEARCH, {"q": wrong, "kind": "card"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "CARD_CHECK_DIGIT_WRONG" in html
    assert "check digit" in html or "digit pemeriksa" in html
    assert found_ids(html) == []
    assert written() == before  # nothing was searched


def test_sixteen_digits_that_match_nothing_say_the_card_check_digit_is_wrong(participants):
    body = "320101010190000"
    wrong = body + str((int(luhn_check_digit(body)) + 1) % 10)
    response = operator("cs", LOOKUP).post(SEARCH, {"q": wrong})
    html = response.content.decode()
    assert response.status_code == 200
    assert found_ids(html) == []
    assert 'id="lookup-note"' in html
    assert AuditEvent.objects.get(event_type=LOOKED_UP).details == {"kind": "nik", "found": []}


@pytest.mark.parametrize(
    ("kind", "key", "reason"),
    [
        ("nik", "12345", "NIK_FORMAT"),
        ("phone", "12", "PHONE_INVALID"),
        ("email", "budi", "EMAIL_INVALID"),
    ],
)
def test_a_key_that_cannot_be_of_its_kind_is_refused_and_nothing_is_written(kind, key, reason):
    response = operator("cs", LOOKUP).post(SEARCH, {"q": key, "kind": kind})
    assert response.status_code == 422
    html = response.content.decode()
    assert "LOOKUP_KEY_INVALID" in html
    assert f"{kind}: {reason}" in html
    assert written() == 0


def test_results_and_the_timeline_are_masked_by_default(participants):
    person = participants[0]
    registrant = person.registrant
    client = operator("cs", LOOKUP, UNMASK)
    raw = [
        nik(registrant),
        registrant.phone,
        registrant.email,
        registrant.full_name,
        person.card_number,
    ]
    for response in (
        client.post(SEARCH, {"q": registrant.email, "kind": "email"}),
        client.get(timeline_url(registrant)),
    ):
        html = response.content.decode()
        assert response.status_code == 200
        for value in raw:
            assert value not in html
        assert nik(registrant)[:4] + "*" * 10 + nik(registrant)[-2:] in html
        assert registrant.phone[:6] + "****" + registrant.phone[-3:] in html
        assert f"**** {person.card_number[-4:]}" in html
    assert 'id="unmask-form"' in html
    assert AuditEvent.objects.filter(event_type=VIEWED).count() == 1


def test_unmasking_shows_the_values_for_that_response_only_and_is_audited_once(participants):
    person = participants[0]
    registrant = person.registrant
    client = operator("supervisor", LOOKUP, UNMASK)
    before = written()
    response = client.post(
        timeline_url(registrant),
        {"reason": REASON, "shown": ["nik", "phone", "email", "full_name", "card_number"]},
    )
    html = response.content.decode()
    assert response.status_code == 200
    for value in (
        nik(registrant),
        registrant.phone,
        registrant.email,
        registrant.full_name,
        person.card_number,
    ):
        assert value in html
    assert response["Cache-Control"] == "no-store"
    assert written() == before + 1
    event = AuditEvent.objects.get(event_type=UNMASKED)
    assert (event.actor_label, event.subject_type, event.subject_id) == (
        "user:supervisor",
        "registration.registrant",
        str(registrant.pk),
    )
    assert event.details == {
        "reason": REASON,
        "fields": ["full_name", "nik", "email", "phone", "card_number"],
    }
    # Not remembered: the next page is masked again.
    html = client.get(timeline_url(registrant)).content.decode()
    assert nik(registrant) not in html and registrant.phone not in html


def test_unmasking_only_some_fields_shows_only_those(participants):
    registrant = participants[0].registrant
    client = operator("supervisor", LOOKUP, UNMASK)
    html = client.post(
        timeline_url(registrant), {"reason": REASON, "shown": ["phone"]}
    ).content.decode()
    assert registrant.phone in html
    assert nik(registrant) not in html and registrant.email not in html
    assert AuditEvent.objects.get(event_type=UNMASKED).details["fields"] == ["phone"]


def test_unmasking_without_the_permission_is_forbidden_and_writes_nothing(participants):
    registrant = participants[0].registrant
    client = operator("cs", LOOKUP)
    assert 'id="unmask-form"' not in client.get(timeline_url(registrant)).content.decode()
    before = written()
    response = client.post(timeline_url(registrant), {"reason": REASON, "shown": ["nik"]})
    assert response.status_code == 403
    assert nik(registrant) not in response.content.decode()
    assert written() == before
    assert AuditEvent.objects.filter(event_type=UNMASKED).count() == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"shown": ["nik"]}, "UNMASK_REASON_REQUIRED"),
        ({"reason": "  cek  ", "shown": ["nik"]}, "UNMASK_REASON_REQUIRED"),
        ({"reason": REASON}, "UNMASK_FIELDS_REQUIRED"),
    ],
)
def test_unmasking_needs_a_reason_and_a_field_else_nothing_is_shown_or_written(
    participants, data, code
):
    before = written()
    registrant = participants[0].registrant
    response = operator("supervisor", LOOKUP, UNMASK).post(timeline_url(registrant), data)
    html = response.content.decode()
    assert response.status_code == 422
    assert code in html
    assert nik(registrant) not in html
    assert written() == before


def test_anonymous_visitors_are_sent_to_the_login_page(participants):
    before = written()
    registrant = participants[0].registrant
    for response in (
        Client().post(SEARCH, {"q": registrant.email}),
        Client().get(timeline_url(registrant)),
        Client().post(timeline_url(registrant), {"reason": REASON, "shown": ["nik"]}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=/console/peserta/")
    assert written() == before


def test_an_operator_without_the_look_up_permission_is_forbidden(participants):
    before = written()
    registrant = participants[0].registrant
    client = operator("finance", UNMASK)
    assert client.post(SEARCH, {"q": registrant.email}).status_code == 403
    assert client.get(timeline_url(registrant)).status_code == 403
    assert (
        client.post(timeline_url(registrant), {"reason": REASON, "shown": ["nik"]}).status_code
        == 403
    )
    assert written() == before


def test_an_operator_who_has_not_passed_the_second_factor_is_sent_to_sign_in(
    participants, settings
):
    settings.OPERATOR_OTP = True
    user = User.objects.create_user("nootp", "nootp@prakerja.example", "rahasia-panjang-1")
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(codename=LOOKUP))
    client = Client()
    client.force_login(user)
    assert client.get(SEARCH).status_code == 302


def test_an_unknown_registrant_is_not_found():
    assert operator("cs", LOOKUP).get("/console/peserta/999999/").status_code == 404
    assert written() == 0
