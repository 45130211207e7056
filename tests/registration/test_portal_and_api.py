"""The same registration steps through the participant pages and through the JSON API."""

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from prakerja.registration.models import ApiToken, Registrant
from tests.registration.kit import email_code, jpeg_with_exif

pytestmark = pytest.mark.django_db


def form_data(person, **overrides):
    data = {
        "full_name": person.full_name,
        "nik": person.nik,
        "birth_date": person.birth_date.isoformat(),
        "email": person.email,
        "phone": person.phone,
        "regency_code": "32.01",
        "education": "sma",
        "employment": "laid_off",
        "in_school": "no",
        "password": "Rahasia-Sekali-2020",
    }
    data.update(overrides)
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- pages ---------------------------------------------------------------------------------------


def test_the_sign_up_page_is_indonesian_and_accessible(client):
    page = text_of(client.get("/daftar/"))
    assert "Daftar Kartu Prakerja" in page
    assert '<label for="id_nik">NIK (16 angka di KTP)</label>' in page
    assert 'inputmode="numeric"' in page
    assert "<optgroup" in page and "Kab. Bogor" in page


def test_a_refused_sign_up_shows_indonesian_messages_and_writes_nothing(client, people, journey):
    person = people.make()
    page = text_of(client.post("/daftar/", form_data(person, nik="3201011508900000", phone="123")))
    assert "4 angka terakhir NIK tidak boleh 0000." in page
    assert "Nomor ponsel tidak valid. Contoh: 0812 3456 7890." in page
    assert 'role="alert"' in page
    assert Registrant.objects.count() == 0
    assert len(mail.outbox) == 0


def test_a_person_registers_and_verifies_email_with_the_code_on_the_next_page(
    client, people, journey, django_capture_on_commit_callbacks
):
    person = people.make()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/daftar/", form_data(person))
    assert (answer.status_code, answer["Location"]) == (302, "/daftar/email/")
    page = text_of(client.get("/daftar/email/"))
    assert f"Kami mengirim kode 6 angka ke <strong>{person.email}</strong>." in page
    assert "registrant_id" not in client.session  # not signed in before the email is proved

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/daftar/email/", {"code": email_code(person.email)})
    assert (done.status_code, done["Location"]) == (302, "/status/")
    page = text_of(client.get("/status/"))
    assert "Email Anda sudah terverifikasi." in page
    assert 'id="layer-email" data-status="passed"' in page
    assert 'id="layer-nik" data-status="passed"' in page
    assert "Kami mengirim kode OTP 6 angka lewat SMS ke nomor ponsel Anda." in page


def test_a_wrong_sign_up_code_is_refused_on_the_page_and_changes_nothing(
    client, people, django_capture_on_commit_callbacks
):
    person = people.make()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/daftar/", form_data(person))
    right = email_code(person.email)
    page = text_of(client.post("/daftar/email/", {"code": "000000" if right != "000000" else "1"}))
    assert "Kode salah atau sudah tidak berlaku." in page
    assert Registrant.objects.get(email=person.email).email_status == "pending"
    assert "registrant_id" not in client.session


def test_the_email_link_works_on_the_device_that_signed_up_only(
    client, people, django_capture_on_commit_callbacks
):
    from django.test import Client

    person = people.make()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/daftar/", form_data(person))
    link = re.search(r"http://\S+(/verifikasi-email/\S+/)", mail.outbox[-1].body).group(1)

    elsewhere = Client().get(link)
    assert elsewhere.status_code == 400
    assert "hanya berlaku di ponsel atau peramban tempat Anda mendaftar" in text_of(elsewhere)
    assert Registrant.objects.get(email=person.email).email_status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        here = client.get(link)
    assert (here.status_code, here["Location"]) == (302, "/status/")
    assert Registrant.objects.get(email=person.email).email_status == "passed"


def test_the_status_page_needs_sign_in(client):
    answer = client.get("/status/")
    assert answer.status_code == 302
    assert answer["Location"] == "/masuk/?next=/status/"


def test_sign_in_does_not_tell_whether_an_email_is_registered(client, people, journey):
    person = people.make()
    journey.verify_email(journey.sign_up(person))
    wrong_password = text_of(
        client.post("/masuk/", {"email": person.email, "password": "salah-sekali-99"})
    )
    unknown_email = text_of(
        client.post("/masuk/", {"email": "nobody@example.id", "password": "salah-sekali-99"})
    )
    strip = lambda page: re.sub(r'value="[^"]*"', "", page)  # noqa: E731 - CSRF tokens and typed values
    assert "Email atau kata sandi salah." in wrong_password
    assert strip(wrong_password) == strip(unknown_email)


def test_five_failures_lock_the_email_with_a_clear_message_whether_or_not_it_exists(
    client, people, journey
):
    person = people.make()
    journey.verify_email(journey.sign_up(person))
    for email in (person.email, "nobody@example.id"):
        for _ in range(5):
            client.post("/masuk/", {"email": email, "password": "salah-sekali-99"})
        page = text_of(client.post("/masuk/", {"email": email, "password": "Rahasia-Sekali-2020"}))
        assert "Terlalu banyak percobaan masuk yang gagal" in page
    assert "registrant_id" not in client.session


def test_sign_in_and_out(client, people, journey):
    person = people.make()
    journey.verify_email(journey.sign_up(person))
    answer = client.post(
        "/masuk/", {"email": person.email.upper(), "password": "Rahasia-Sekali-2020"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/status/"
    assert client.get("/status/").status_code == 200
    client.post("/keluar/")
    assert client.get("/status/").status_code == 302


def test_password_reset_answers_the_same_and_mails_only_real_accounts(
    client, people, journey, django_capture_on_commit_callbacks
):
    person = people.make()
    journey.verify_email(journey.sign_up(person))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        known = text_of(client.post("/lupa-sandi/", {"email": person.email}))
        unknown = text_of(client.post("/lupa-sandi/", {"email": "nobody@example.id"}))
    assert "Jika email ini terdaftar" in known
    assert re.sub(r'value="[^"]*"', "", known) == re.sub(r'value="[^"]*"', "", unknown)
    assert [m.to for m in mail.outbox] == [[person.email]]

    link = re.search(r"http://\S+/lupa-sandi/(\S+)/", mail.outbox[0].body).group(1)
    done = client.post(f"/lupa-sandi/{link}/", {"password": "Sandi-Baru-Yang-Kuat-7"})
    assert done.status_code == 302
    assert (
        client.post(
            "/masuk/", {"email": person.email, "password": "Sandi-Baru-Yang-Kuat-7"}
        ).status_code
        == 302
    )


def test_the_english_switch_translates_status_messages(client, people, journey):
    person = people.make()
    journey.through_phone(person)
    client.post("/masuk/", {"email": person.email, "password": "Rahasia-Sekali-2020"})
    client.post("/i18n/setlang/", {"language": "en", "next": "/status/"})
    page = text_of(client.get("/status/"))
    assert "Last step: a selfie to compare with your ID card photo." in page
    assert "Registration status" in page


def test_a_selfie_upload_from_the_page(client, people, journey, django_capture_on_commit_callbacks):
    person = people.make()
    journey.through_phone(person)
    client.post("/masuk/", {"email": person.email, "password": "Rahasia-Sekali-2020"})
    upload = SimpleUploadedFile("me.jpg", jpeg_with_exif(), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/status/swafoto/", {"selfie": upload})
    page = text_of(client.get("/status/"))
    assert 'id="layer-face" data-status="passed"' in page
    assert "Anda lulus semua tahap verifikasi." in page


# --- API -----------------------------------------------------------------------------------------


def api_payload(person, **overrides):
    data = form_data(person, **overrides)
    data["in_school"] = False
    return data


def test_api_sign_up_then_the_email_code_then_status(
    client, people, journey, django_capture_on_commit_callbacks
):
    person = people.make()
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/auth/signup", api_payload(person), content_type="application/json"
        )
    assert created.status_code == 202
    assert sorted(created.json()) == ["email", "signup_token"]
    assert created.json()["email"] == person.email

    login = client.post(
        "/api/v1/auth/login",
        {"email": person.email, "password": "Rahasia-Sekali-2020"},
        content_type="application/json",
    )
    assert (login.status_code, login.json()["error"]["code"]) == (401, "INVALID_CREDENTIALS")
    with django_capture_on_commit_callbacks(execute=True):
        verified = client.post(
            "/api/v1/auth/signup/email",
            {"signup_token": created.json()["signup_token"], "code": email_code(person.email)},
            content_type="application/json",
        )
    assert verified.status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Bearer {verified.json()['token']}"}
    status = client.get("/api/v1/me/status", **auth).json()
    assert [layer["status"] for layer in status["layers"]][:3] == ["passed", "passed", "pending"]
    assert ApiToken.objects.filter(registrant__email=person.email).count() == 1
    assert "token" not in str(ApiToken.objects.values_list("token_hash", flat=True)[0])


def test_api_refusals_use_the_contract_error_body_and_write_nothing(client, people, journey):
    person = people.make()
    answer = client.post(
        "/api/v1/auth/signup",
        api_payload(person, nik="123"),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "VALIDATION_FAILED",
            "message": "The submitted data is not valid. Check the fields named in details.",
            "details": {"nik": "NIK_FORMAT"},
        }
    }
    malformed = client.post("/api/v1/auth/signup", {"email": "x"}, content_type="application/json")
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "VALIDATION_FAILED"
    assert set(malformed.json()["error"]["details"]) >= {"password", "nik", "birth_date"}
    assert Registrant.objects.count() == 0


def test_api_needs_a_token_and_login_does_not_enumerate(client, people, journey):
    person = people.make()
    journey.verify_email(journey.sign_up(person))
    assert client.get("/api/v1/me/status").json()["error"]["code"] == "UNAUTHENTICATED"
    assert client.get("/api/v1/me/status", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    known = client.post(
        "/api/v1/auth/login",
        {"email": person.email, "password": "wrong-one-99"},
        content_type="application/json",
    )
    unknown = client.post(
        "/api/v1/auth/login",
        {"email": "no@example.id", "password": "wrong-one-99"},
        content_type="application/json",
    )
    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()


def test_api_selfie_upload(client, people, journey, django_capture_on_commit_callbacks):
    person = people.make()
    journey.through_phone(person)
    token = client.post(
        "/api/v1/auth/login",
        {"email": person.email, "password": "Rahasia-Sekali-2020"},
        content_type="application/json",
    ).json()["token"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/me/selfie",
            {"image": SimpleUploadedFile("s.jpg", jpeg_with_exif())},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert answer.status_code == 200
    status = client.get("/api/v1/me/status", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert status["layers"][4]["status"] == "passed"


def test_openapi_document_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Kartu Prakerja — participant API"
    assert "/api/v1/auth/signup" in schema["paths"]
    assert "/api/v1/me/selfie" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_the_admin_lists_and_shows_registrants_with_the_nik_masked(admin_client, people, journey):
    person = people.make()
    registrant = journey.verify_email(journey.sign_up(person))

    listing = admin_client.get("/admin/registration/registrant/").content.decode()
    detail = admin_client.get(
        f"/admin/registration/registrant/{registrant.pk}/change/"
    ).content.decode()

    assert f"************{person.nik[-4:]}" in listing
    for page in (listing, detail):
        assert person.nik not in page
        assert registrant.nik_encrypted not in page
        assert registrant.nik_index not in page
    assert "REGISTRY_CHECKING" in detail or "passed" in detail  # the verification steps are shown
    # read-only: no way to change a layer by hand
    assert (
        admin_client.post(f"/admin/registration/registrant/{registrant.pk}/change/", {}).status_code
        == 403
    )
