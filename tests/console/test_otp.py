"""The second factor: an operator signs in to the console with password and a TOTP code (or a
one-time backup code); without it the admin and the /console/ pages treat them as signed out. Sign-
ins, failures and sign-outs are audited. PRAKERJA_OPERATOR_OTP=false turns it off (debugging)."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.console.services import operator_backup_codes_set, operator_totp_enrol
from prakerja.ops.demo import demo_backup_codes, demo_seed, demo_totp_secret
from tests.operators import operator_login, totp_code

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
PASSWORD = "rahasia-panjang-1"
LOGIN = "/admin/login/?next=/admin/"


def operator(username: str = "sari", *, device: bool = True) -> tuple[User, TOTPDevice | None]:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    enrolled = operator_totp_enrol(user=user, actor=SYSTEM) if device else None
    return user, enrolled


def code_of(device: TOTPDevice) -> str:
    from base64 import b32encode
    from binascii import unhexlify

    return totp_code(b32encode(unhexlify(device.key)).decode())


def sign_in(client: Client, username: str, token: str, password: str = PASSWORD) -> Any:
    return client.post(
        LOGIN, {"username": username, "password": password, "otp_token": token, "next": "/admin/"}
    )


def error_codes(response: Any) -> list[str]:
    return [error.code for error in response.context["form"].non_field_errors().as_data()]


def signed_in_events() -> list[tuple[str, str, str]]:
    return [
        (e.event_type, e.actor_label, e.details.get("reason", ""))
        for e in AuditEvent.objects.filter(event_type__startswith="console.log").order_by("pk")
    ]


def test_password_and_the_current_code_sign_in_and_the_sign_in_is_audited():
    user, device = operator()
    client = Client()

    answer = sign_in(client, "sari", code_of(device))

    assert (answer.status_code, answer["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    event = AuditEvent.objects.get(event_type="console.login")
    assert (event.actor_kind, event.actor_id, event.actor_label) == ("user", user.pk, "user:sari")
    assert event.details["device"] == device.persistent_id
    assert event.details["path"] == "/admin/login/"


def test_a_wrong_code_is_refused_and_audited():
    _user, device = operator()
    client = Client()
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    answer = sign_in(client, "sari", wrong)

    assert answer.status_code == 200
    assert error_codes(answer) == ["otp_invalid"]
    assert client.get("/admin/").status_code == 302
    assert signed_in_events() == [("console.login_failed", "user:sari", "otp_invalid")]


def test_no_code_and_a_wrong_password_are_refused_and_audited():
    operator()
    client = Client()

    no_code = sign_in(client, "sari", "")
    bad_password = sign_in(client, "sari", "123456", password="salah")

    assert error_codes(no_code) == ["otp_required"]
    assert error_codes(bad_password) == ["invalid_login"]
    assert signed_in_events() == [
        ("console.login_failed", "user:sari", "otp_required"),
        ("console.login_failed", "user:sari", "password"),
    ]


def test_a_staff_member_without_a_device_is_told_to_ask_for_enrolment():
    operator(device=False)
    client = Client()
    client.cookies["django_language"] = "en"

    answer = sign_in(client, "sari", "123456")

    assert error_codes(answer) == ["otp_no_device"]
    assert "Ask a program admin to enrol you" in answer.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_backup_code_works_once():
    user, _device = operator()
    [first, *_rest] = operator_backup_codes_set(user=user, actor=SYSTEM)

    assert sign_in(Client(), "sari", first).status_code == 302
    again = sign_in(Client(), "sari", first)

    assert error_codes(again) == ["otp_invalid"]


def test_a_password_session_without_the_second_factor_is_not_an_operator():
    user, _device = operator()
    client = Client()
    client.force_login(user)

    admin = client.get("/admin/")
    console = client.get("/console/dashboards/")

    assert (admin.status_code, admin["Location"]) == (302, "/admin/login/?next=/admin/")
    assert console.status_code == 302
    assert console["Location"].startswith("/admin/login/")
    assert operator_login(client, user).get("/admin/").status_code == 200


def test_signing_out_is_audited():
    user, _device = operator()
    client = operator_login(Client(), user)

    assert client.post("/admin/logout/").status_code == 200

    assert signed_in_events() == [("console.logout", "user:sari", "")]
    assert not AuditEvent.objects.filter(event_type="console.action").exists()


def test_with_the_second_factor_off_a_password_is_enough(settings):
    settings.OPERATOR_OTP = False
    user, _device = operator(device=False)
    client = Client()

    page = client.get(LOGIN)
    answer = client.post(LOGIN, {"username": "sari", "password": PASSWORD, "next": "/admin/"})

    assert 'name="otp_token"' not in page.content.decode()
    assert (answer.status_code, answer["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    assert user.pk == AuditEvent.objects.get(event_type="console.login").actor_id


def test_the_demo_operators_sign_in_with_their_printed_key_or_backup_code():
    logins = demo_seed()
    again = demo_seed()  # a second start changes nothing and prints the same

    assert again == logins
    assert [(login.role, login.username) for login in logins] == [
        ("program admin (Django admin)", "admin"),
        ("verifier", "verifikator"),
        ("finance maker", "keuangan-maker"),
        ("finance checker", "keuangan-checker"),
        ("partner manager", "mitra"),
        ("support", "dukungan"),
        ("auditor (read-only)", "auditor"),
    ]
    admin = logins[0]
    assert str(admin) == (
        f"program admin (Django admin): admin / prakerja-demo-2020  TOTP key "
        f"{demo_totp_secret('admin')}  backup code {demo_backup_codes('admin')[0]}"
    )
    assert User.objects.get(username="admin").is_superuser is True
    assert sign_in(Client(), "admin", totp_code(admin.totp_key), admin.password).status_code == 302
    checker = logins[3]
    assert sign_in(Client(), checker.username, checker.backup_codes[0], checker.password)[
        "Location"
    ] == ("/admin/")
