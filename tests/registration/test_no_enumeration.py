"""Nobody learns from an unauthenticated answer whether a NIK, an email or a phone number is
registered (docs/security.md): sign-up, finishing it with the email code, sign-in and password
reset answer alike — status, body and, within a small bound, time — whatever the state."""

import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from prakerja.registration import services
from prakerja.registration.models import OneTimeCode, Registrant
from tests.registration.kit import email_code

pytestmark = pytest.mark.django_db

PASSWORD = "Rahasia-Sekali-2020"


def api_payload(person: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "full_name": person.full_name,
        "nik": person.nik,
        "birth_date": person.birth_date.isoformat(),
        "email": person.email,
        "phone": person.phone,
        "regency_code": "32.01",
        "education": "sma",
        "employment": "laid_off",
        "in_school": False,
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def post(client: Client, path: str, body: dict[str, Any], **extra: Any) -> Any:
    return client.post(path, body, content_type="application/json", **extra)


def shape(answer: Any) -> tuple[int, Any]:
    """Status and body with the random token replaced by its length."""
    body = answer.json()
    if "signup_token" in body:
        body = {**body, "signup_token": len(body["signup_token"])}
    return answer.status_code, body


@pytest.fixture
def cast(people, journey) -> dict[str, Any]:
    """A proved account, an unproved one, and a newcomer."""
    proved = people.make()
    journey.verify_email(journey.sign_up(proved))
    unproved = people.make()
    journey.sign_up(unproved)
    return {"proved": proved, "unproved": unproved, "new": people.make()}


def test_sign_up_answers_alike_whatever_is_registered(client, cast, people):
    proved, unproved, new = cast["proved"], cast["unproved"], cast["new"]
    others = [people.make() for _ in range(3)]
    attempts = {
        "new": api_payload(new),
        "email of a proved account": api_payload(others[0], email=proved.email.upper()),
        "email of an unproved account": api_payload(others[1], email=unproved.email),
        "NIK of another account": api_payload(others[2], nik=proved.nik),
        "phone of another account": api_payload(
            people.make(), phone=proved.phone, email="fresh@example.id"
        ),
    }

    answers = {
        name: shape(post(client, "/api/v1/auth/signup", body)) for name, body in attempts.items()
    }

    assert answers["new"] == (202, {"signup_token": 43, "email": new.email})
    for name, body in attempts.items():
        assert answers[name] == (202, {"signup_token": 43, "email": body["email"].lower()}), name


def test_the_owner_of_a_proved_email_is_told_and_nothing_changes(
    client, cast, people, django_capture_on_commit_callbacks
):
    proved = cast["proved"]
    before = list(Registrant.objects.order_by("pk").values())
    codes = OneTimeCode.objects.count()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, "/api/v1/auth/signup", api_payload(people.make(), email=proved.email))

    assert answer.status_code == 202
    assert list(Registrant.objects.order_by("pk").values()) == before
    assert OneTimeCode.objects.count() == codes
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([proved.email], "Ada yang mencoba mendaftar dengan email Anda")
    ]
    assert "/masuk/" in mail.outbox[0].body and "/lupa-sandi/" in mail.outbox[0].body
    # The token of that answer finishes nothing, and says so as a wrong code would.
    refused = post(
        client,
        "/api/v1/auth/signup/email",
        {"signup_token": answer.json()["signup_token"], "code": "123456"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "CODE_INVALID"


def test_a_sign_up_again_with_an_unproved_email_starts_it_over(
    client, cast, people, django_capture_on_commit_callbacks
):
    unproved = cast["unproved"]
    again = people.make()
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(
            client,
            "/api/v1/auth/signup",
            api_payload(again, email=unproved.email, phone="081255554444"),
        )
    registrant = Registrant.objects.get(email=unproved.email)
    assert (registrant.nik_last4, registrant.phone) == (again.nik[-4:], "+6281255554444")
    with django_capture_on_commit_callbacks(execute=True):
        done = post(
            client,
            "/api/v1/auth/signup/email",
            {"signup_token": answer.json()["signup_token"], "code": email_code(unproved.email)},
        )
    assert done.status_code == 200
    registrant.refresh_from_db()
    assert (registrant.email_status, registrant.nik_status) == ("passed", "passed")


def test_an_earlier_receipt_finishes_nothing_once_the_sign_up_started_over(
    client, cast, people, journey, django_capture_on_commit_callbacks
):
    unproved = cast["unproved"]
    registrant = Registrant.objects.get(email=unproved.email)
    earlier = journey.receipts[registrant.pk].token
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "/api/v1/auth/signup", api_payload(people.make(), email=unproved.email))
    refused = post(
        client,
        "/api/v1/auth/signup/email",
        {"signup_token": earlier, "code": email_code(unproved.email)},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "CODE_INVALID")
    registrant.refresh_from_db()
    assert registrant.email_status == "pending"


def test_a_receipt_that_finishes_nothing_answers_as_a_wrong_code_every_time(
    client, cast, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        real = post(client, "/api/v1/auth/signup", api_payload(cast["new"])).json()["signup_token"]
        fake = post(
            client, "/api/v1/auth/signup", api_payload(people.make(), email=cast["proved"].email)
        ).json()["signup_token"]
    wrong = "000000" if email_code(cast["new"].email) != "000000" else "111111"

    # Six tries each: the real code is used up after five, which must not show either.
    for _ in range(6):
        a = post(client, "/api/v1/auth/signup/email", {"signup_token": real, "code": wrong})
        b = post(client, "/api/v1/auth/signup/email", {"signup_token": fake, "code": wrong})
        assert (a.status_code, a.json()) == (b.status_code, b.json())
        assert a.json()["error"]["code"] == "CODE_INVALID"
    resend_real = post(client, "/api/v1/auth/signup/email/resend", {"signup_token": real})
    resend_fake = post(client, "/api/v1/auth/signup/email/resend", {"signup_token": fake})
    assert (resend_real.status_code, resend_real.json()) == (202, {"ok": True})
    assert (resend_fake.status_code, resend_fake.json()) == (202, {"ok": True})


def test_password_sign_in_before_the_email_is_proved_answers_as_a_wrong_password(client, cast):
    right_password = post(
        client, "/api/v1/auth/login", {"email": cast["unproved"].email, "password": PASSWORD}
    )
    unknown = post(client, "/api/v1/auth/login", {"email": "x@example.id", "password": PASSWORD})
    assert (right_password.status_code, right_password.json()) == (
        unknown.status_code,
        unknown.json(),
    )
    assert right_password.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_the_portal_sign_up_answers_alike_for_a_registered_email(client, cast, people):
    fresh, taken = Client(), Client()
    a = fresh.post("/daftar/", portal_form(cast["new"]))
    b = taken.post("/daftar/", portal_form(people.make(), email=cast["proved"].email))
    assert (
        (a.status_code, a["Location"]) == (b.status_code, b["Location"]) == (302, "/daftar/email/")
    )
    page_a = strip(fresh.get("/daftar/email/").content.decode()).replace(cast["new"].email, "E")
    page_b = strip(taken.get("/daftar/email/").content.decode()).replace(cast["proved"].email, "E")
    assert page_a == page_b


def portal_form(person: Any, **overrides: Any) -> dict[str, Any]:
    data = api_payload(person, in_school="no", **overrides)
    return data


def strip(page: str) -> str:
    return re.sub(r'value="[^"]*"', "", page)


def test_password_reset_answers_alike_also_when_asked_twice_in_a_minute(client, cast):
    known, unknown = cast["proved"].email, "nobody@example.id"
    answers = [
        shape(post(client, "/api/v1/auth/password-reset", {"email": email}))
        for email in (known, unknown, known, unknown)
    ]
    assert answers == [(202, {"ok": True})] * 4
    # The second request for the known email kept the code already sent.
    assert OneTimeCode.objects.filter(purpose="reset").count() == 1


def test_reset_confirmation_answers_alike_for_an_unknown_email(client, cast):
    known, unknown = cast["proved"].email, "nobody@example.id"
    post(client, "/api/v1/auth/password-reset", {"email": known})
    for new_password in ("Sandi-Baru-Yang-Kuat-7", "12345678"):
        a = post(
            client,
            "/api/v1/auth/password-reset/confirm",
            {"email": known, "code": "000001", "new_password": new_password},
        )
        b = post(
            client,
            "/api/v1/auth/password-reset/confirm",
            {"email": unknown, "code": "000001", "new_password": new_password},
        )
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    assert a.json()["error"]["code"] == "VALIDATION_FAILED"  # the weak one, for both alike
    assert Registrant.objects.get(email=known).password.startswith("argon2")


def _median_seconds(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _interleaved_medians(
    first: Callable[[], object], second: Callable[[], object], runs: tuple[int, int]
) -> tuple[float, float]:
    """The median time of each call, the two taken in turns: a machine that slows down half-way
    (a busy CI) slows both alike instead of only the one measured second."""
    times: tuple[list[float], list[float]] = ([], [])
    for turn in range(max(runs)):
        for call, count, kept in ((first, runs[0], times[0]), (second, runs[1], times[1])):
            if turn < count:
                started = time.perf_counter()
                call()
                kept.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


# Within this bound the two answers cannot be told apart by their time: the password hash that every
# path computes costs several times more. A real gap (a hash skipped, a mail sent inline) is larger.
TIME_BOUND_S = 0.02


def test_sign_up_takes_about_as_long_whatever_is_registered(client, cast, people):
    taken = cast["proved"].email
    counter = iter(range(10_000))

    def new() -> object:
        person = people.make()
        return post(
            client,
            "/api/v1/auth/signup",
            api_payload(person),
            REMOTE_ADDR=f"10.7.0.{next(counter) % 250}",
        )

    def registered() -> object:
        return post(
            client,
            "/api/v1/auth/signup",
            api_payload(people.make(), email=taken),
            REMOTE_ADDR=f"10.7.1.{next(counter) % 250}",
        )

    new(), registered()  # warm up
    a, b = _interleaved_medians(new, registered, (5, 4))
    assert abs(a - b) <= TIME_BOUND_S, (a, b)


def test_password_reset_takes_about_as_long_for_an_unknown_email(client, cast, people):
    accounts = []
    for _ in range(4):
        person = people.make()
        accounts.append(person.email)
    # Each known email asked once (a second ask would only keep the code already sent).
    known = iter([cast["proved"].email, *accounts])
    for email in accounts:
        Registrant.objects.create(
            email=email,
            password="!",
            full_name="Budi",
            birth_date="1990-01-01",
            sex="M",
            nik_encrypted="",
            nik_last4="0000",
            regency_code="32.01",
            province_code="32",
            education="sma",
            employment="laid_off",
            in_school=False,
            email_status="passed",
        )
    unknown = iter(f"nobody{i}@example.id" for i in range(10))
    a = _median_seconds(
        lambda: post(client, "/api/v1/auth/password-reset", {"email": next(known)}), 5
    )
    b = _median_seconds(
        lambda: post(client, "/api/v1/auth/password-reset", {"email": next(unknown)}), 5
    )
    assert abs(a - b) <= TIME_BOUND_S, (a, b)


def test_services_answer_sign_up_with_a_receipt_never_a_refusal_for_taken_values(people, journey):
    person = people.make()
    journey.sign_up(person)
    receipt = services.registrant_sign_up(
        data=__import__("tests.registration.kit", fromlist=["x"]).sign_up_data(person),
        client_ip="10.0.0.3",
    )
    assert isinstance(receipt, services.SignUpReceipt)
    assert receipt.email == person.email


def test_a_password_like_the_email_is_refused_as_disagreeing_fields_not_a_server_error(
    client, people
):
    person = people.make()
    answer = post(
        client,
        "/api/v1/auth/signup",
        api_payload(person, email="budisantoso@example.id", password="budisantoso"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert (error["code"], error["details"]["password"]["code"]) == (
        "FIELDS_DISAGREE",
        "PASSWORD_WEAK",
    )
    assert error["details"]["password"]["messages"] == ["The password is too similar to the email."]
    assert not Registrant.objects.filter(email="budisantoso@example.id").exists()
