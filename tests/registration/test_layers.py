"""Each verification layer's accepted and refused paths. A refusal changes nothing."""

import datetime
import io

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from PIL import Image

from prakerja.audit.models import AuditEvent
from prakerja.common import crypto
from prakerja.common.errors import ValidationFailed
from prakerja.registration import services
from prakerja.registration.codes import CodeExpired, CodeWrong, ResendTooSoon
from prakerja.registration.models import ExclusionEntry, OneTimeCode, Registrant, VerificationStep
from prakerja.registration.selectors import funnel_totals, registrant_layers
from prakerja.throttle.services import RateLimited
from tests.registration.kit import jpeg_with_exif, sign_up_data

pytestmark = pytest.mark.django_db


def nothing_written() -> tuple[int, int, int, int, int]:
    return (
        Registrant.objects.count(),
        OneTimeCode.objects.count(),
        VerificationStep.objects.count(),
        AuditEvent.objects.count(),
        len(mail.outbox),
    )


def layer_states(registrant: Registrant) -> list[tuple[str, str]]:
    registrant.refresh_from_db()
    return [
        (registrant.email_status, registrant.email_reason),
        (registrant.nik_status, registrant.nik_reason),
        (registrant.phone_status, registrant.phone_reason),
        (registrant.eligibility_status, registrant.eligibility_reason),
        (registrant.face_status, registrant.face_reason),
    ]


# --- sign-up -------------------------------------------------------------------------------------


def test_sign_up_creates_the_account_with_every_layer_pending_and_mails_the_code(journey, people):
    person = people.make()

    registrant = journey.sign_up(person)

    assert layer_states(registrant) == [
        ("pending", "AWAITING_EMAIL_CODE"),
        ("pending", "WAITING_EARLIER_LAYER"),
        ("pending", "WAITING_EARLIER_LAYER"),
        ("pending", "WAITING_EARLIER_LAYER"),
        ("pending", "WAITING_EARLIER_LAYER"),
    ]
    assert registrant.email == person.email
    assert registrant.phone == "+6281234560001"
    assert registrant.sex == "M"
    assert registrant.province_code == "32"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Kode verifikasi email Kartu Prakerja"
    assert "/verifikasi-email/" in mail.outbox[0].body


def test_the_nik_is_stored_encrypted_and_indexed_never_in_clear(journey, people):
    person = people.make()
    registrant = journey.sign_up(person)

    assert crypto.decrypt(registrant.nik_encrypted) == person.nik
    assert registrant.nik_index == crypto.blind_index(person.nik, purpose="nik")
    assert registrant.nik_last4 == person.nik[-4:]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registration_registrant")
        row = cursor.fetchone()
    assert all(person.nik not in str(value) for value in row)
    assert all(person.nik not in str(event.details) for event in AuditEvent.objects.all())


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"nik": "12345"}, "nik", "NIK_FORMAT"),
        ({"nik": "9901011508900001"}, "nik", "NIK_REGION_UNKNOWN"),
        ({"nik": "3201013213900001"}, "nik", "NIK_BIRTH_DATE_INVALID"),
        ({"nik": "3201011508900000"}, "nik", "NIK_SERIAL_INVALID"),
        ({"birth_date": datetime.date(1990, 8, 16)}, "nik", "NIK_BIRTH_DATE_MISMATCH"),
        ({"email": "not-an-email"}, "email", "EMAIL_INVALID"),
        ({"phone": "12345"}, "phone", "PHONE_INVALID"),
        ({"phone": "+6531234567"}, "phone", "PHONE_INVALID"),
        ({"regency_code": "99.99"}, "regency_code", "REGION_UNKNOWN"),
        ({"full_name": " "}, "full_name", "NAME_REQUIRED"),
        ({"education": "phd"}, "education", "CHOICE_INVALID"),
    ],
)
def test_each_refused_field_is_named_and_nothing_is_written(
    journey, people, overrides, field, code
):
    person = people.make()
    with pytest.raises(ValidationFailed) as refused:
        journey.sign_up(person, **overrides)
    assert refused.value.details[field] == code
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_a_weak_password_is_refused_with_the_reasons(journey, people):
    with pytest.raises(ValidationFailed) as refused:
        journey.sign_up(people.make(), password="12345678")
    assert refused.value.details["password"]["code"] == "PASSWORD_WEAK"
    assert len(refused.value.details["password"]["messages"]) >= 1
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_one_nik_is_one_account_for_ever(journey, people, registry):
    person = people.make()
    first = journey.sign_up(person)
    calls = registry.calls

    second = journey.verify_email(
        journey.sign_up(person, email="other@example.id", phone="081299990000")
    )

    first.refresh_from_db()
    assert first.nik_index == crypto.blind_index(person.nik, purpose="nik")
    assert second.nik_index is None
    assert crypto.decrypt(second.nik_encrypted) == person.nik  # kept for the complaint
    assert layer_states(second)[:2] == [("passed", ""), ("failed", "NIK_TAKEN")]
    assert registry.calls == calls  # nothing to ask the registry


def test_the_holder_of_a_nik_hears_when_another_account_gives_it(journey, people):
    person = people.make()
    holder = journey.verify_email(journey.sign_up(person))
    mail.outbox.clear()

    journey.verify_email(journey.sign_up(person, email="other@example.id", phone="081299990000"))

    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["other@example.id"], "Kode verifikasi email Kartu Prakerja"),
        ([holder.email], "NIK Anda dipakai untuk mendaftar akun lain"),
    ]
    assert f"berakhiran {person.nik[-4:]}" in mail.outbox[1].body
    assert "/pengaduan/baru/" in mail.outbox[1].body


def test_a_phone_of_another_account_is_not_kept_and_the_phone_layer_asks_for_another(
    journey, people, sms
):
    first = people.make()
    journey.sign_up(first)
    second = journey.verify_email(journey.sign_up(people.make(), phone=first.phone))

    assert second.phone is None
    assert layer_states(second)[2] == ("pending", "PHONE_TAKEN")
    assert sms.sent == []
    with_number = services.phone_change(
        registrant=second, phone="081277776666", client_ip="10.0.0.9"
    )
    assert (with_number.phone, with_number.phone_reason) == (
        "+6281277776666",
        "AWAITING_PHONE_CODE",
    )


def test_phone_numbers_are_normalised_to_e164():
    assert services.normalise_phone("0812-3456-7890") == "+6281234567890"
    assert services.normalise_phone("62 812 3456 7890") == "+6281234567890"
    assert services.normalise_phone("+6281234567890") == "+6281234567890"
    with pytest.raises(ValueError):
        services.normalise_phone("021 555 1234 9999 9")


# --- email ---------------------------------------------------------------------------------------


def test_the_email_code_passes_the_layer_and_the_registry_check_follows(
    journey, people, registry, sms
):
    person = people.make()
    registrant = journey.verify_email(journey.sign_up(person))

    assert layer_states(registrant)[:3] == [
        ("passed", ""),
        ("passed", ""),
        ("pending", "AWAITING_PHONE_CODE"),
    ]
    assert registrant.kk_index == crypto.blind_index("3201011501200001", purpose="kk")
    assert [to for to, _, _ in sms.sent] == [registrant.phone]
    assert "kode OTP Anda" in sms.sent[0][1]


def test_the_email_link_passes_the_layer_on_the_device_that_signed_up_and_works_twice(
    journey, people, django_capture_on_commit_callbacks
):
    registrant = journey.sign_up(people.make())
    token = services.email_link_token(registrant)
    signup_token = journey.receipts[registrant.pk].token
    with django_capture_on_commit_callbacks(execute=True):
        first = services.email_verify_link(token=token, signup_token=signup_token)
        again = services.email_verify_link(token=token, signup_token=signup_token)
    registrant.refresh_from_db()
    assert (first.pk, again) == (registrant.pk, None)
    assert registrant.email_status == "passed"
    assert registrant.signup_token_hash is None
    assert (
        VerificationStep.objects.filter(
            registrant=registrant, layer="email", outcome="passed"
        ).count()
        == 1
    )


def test_the_email_link_opened_elsewhere_asks_for_the_code(journey, people):
    registrant = journey.sign_up(people.make())
    token = services.email_link_token(registrant)
    for elsewhere in ("", "a-token-of-another-sign-up"):
        with pytest.raises(services.LinkNeedsCode):
            services.email_verify_link(token=token, signup_token=elsewhere)
    registrant.refresh_from_db()
    assert registrant.email_status == "pending"


def test_a_tampered_email_link_is_refused(journey, people):
    registrant = journey.sign_up(people.make())
    token = services.email_link_token(registrant)
    with pytest.raises(services.LinkInvalid):
        services.email_verify_link(
            token=token[:-2] + "xx", signup_token=journey.receipts[registrant.pk].token
        )
    registrant.refresh_from_db()
    assert registrant.email_status == "pending"


def test_email_code_brute_force_is_stopped_after_five_tries(journey, people):
    registrant = journey.sign_up(people.make())
    token = journey.receipts[registrant.pk].token
    right = __import__("tests.registration.kit", fromlist=["email_code"]).email_code(
        registrant.email
    )
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(services.CodeRefused):
            services.sign_up_email_verify(token=token, code=wrong, client_ip="10.0.0.9")
    # the right code no longer helps: a new code must be asked for
    with pytest.raises(services.CodeRefused):
        services.sign_up_email_verify(token=token, code=right, client_ip="10.0.0.9")
    code = OneTimeCode.objects.get(registrant=registrant)
    assert (code.attempts, code.used_at) == (5, None)
    registrant.refresh_from_db()
    assert registrant.email_status == "pending"


def test_email_resend_waits_a_minute_between_codes_without_saying_so(journey, people):
    registrant = journey.sign_up(people.make())
    mail.outbox.clear()
    services.sign_up_email_resend(token=journey.receipts[registrant.pk].token, client_ip="10.0.0.9")
    assert OneTimeCode.objects.filter(registrant=registrant).count() == 1
    assert mail.outbox == []


# --- NIK -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "typed", "reason"),
    [
        ({"in_registry": False}, {}, "NIK_NOT_FOUND"),
        ({"deceased": True}, {}, "DECEASED"),
        ({"name": "ANDI WIJAYA"}, {"full_name": "Andy Wijaya"}, "NAME_MISMATCH"),
    ],
)
def test_registry_answers_that_fail_the_nik_layer_say_why(journey, people, make, typed, reason):
    registrant = journey.verify_email(journey.sign_up(people.make(**make), **typed))
    assert layer_states(registrant)[1] == ("failed", reason)
    assert layer_states(registrant)[2] == ("pending", "WAITING_EARLIER_LAYER")


def test_a_birth_date_mismatch_names_the_field_and_a_fix_passes(
    journey, people, registry, django_capture_on_commit_callbacks
):
    person = people.make()
    record = registry.records[person.nik]
    # the registry holds a birth date the NIK does not encode (an old data-entry error there)
    registry.records[person.nik] = record.__class__(
        **{**record.__dict__, "birth_date": datetime.date(1990, 8, 15), "full_name": "BUDI SANTOSO"}
    )
    registrant = journey.verify_email(journey.sign_up(person, full_name="Budy Santoso"))
    assert layer_states(registrant)[1] == ("failed", "NAME_MISMATCH")
    step = VerificationStep.objects.filter(
        registrant=registrant, layer="nik", outcome="failed"
    ).get()
    assert step.details == {"fields": ["full_name"]}

    with django_capture_on_commit_callbacks(execute=True):
        services.nik_correct(
            registrant=registrant, full_name="BUDI  santoso", birth_date=person.birth_date
        )

    assert layer_states(registrant)[1] == ("passed", "")


def test_names_tolerate_case_spacing_and_titles(journey, people):
    person = people.make(name="SITI AMINAH", sex="F", birth_date=datetime.date(1985, 2, 3))
    registrant = journey.verify_email(journey.sign_up(person, full_name="Hj. siti   Aminah, S.Pd."))
    assert layer_states(registrant)[1] == ("passed", "")


def test_registry_outage_keeps_people_pending_then_completes_them(
    journey, people, registry, django_capture_on_commit_callbacks
):
    registry.down = True
    registrants = [journey.verify_email(journey.sign_up(people.make())) for _ in range(3)]
    for registrant in registrants:
        assert layer_states(registrant)[1] == ("pending", "REGISTRY_RETRYING")
        assert registrant.registry_retry_at is not None
    assert services.registry_retry_due() == 0  # not due yet: nothing is hammered

    registry.down = False
    later = timezone.now() + datetime.timedelta(minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.registry_retry_due(now=later)

    assert queued == 3
    for registrant in registrants:
        assert layer_states(registrant)[1] == ("passed", "")
        assert registrant.registry_retry_at is None
    assert services.registry_retry_due(now=later) == 0


def test_retries_back_off(journey, people, registry, django_capture_on_commit_callbacks):
    registry.down = True
    registrant = journey.verify_email(journey.sign_up(people.make()))
    assert registrant.registry_retry_at >= timezone.now() + datetime.timedelta(seconds=55)
    with django_capture_on_commit_callbacks(execute=True):
        services.registry_retry_due(now=timezone.now() + datetime.timedelta(minutes=2))
    registrant.refresh_from_db()
    assert registrant.registry_attempts == 2
    # the second wait is twice the first (60 s, then 120 s)
    assert registrant.registry_retry_at >= timezone.now() + datetime.timedelta(seconds=115)
    assert layer_states(registrant)[1] == ("pending", "REGISTRY_RETRYING")
    assert (
        VerificationStep.objects.filter(
            registrant=registrant, layer="nik", reason="REGISTRY_RETRYING"
        ).count()
        == 1
    )


# --- phone ---------------------------------------------------------------------------------------


def test_the_sms_code_passes_the_phone_and_eligibility_opens_the_face_check(journey, people):
    registrant = journey.through_phone(people.make())
    assert layer_states(registrant)[2:] == [
        ("passed", ""),
        ("passed", ""),
        ("pending", "AWAITING_SELFIE"),
    ]


def test_otp_brute_force_is_stopped(journey, people, sms):
    registrant = journey.verify_email(journey.sign_up(people.make()))
    right = sms.last_code(registrant.phone)
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(CodeWrong):
            services.phone_verify_code(registrant=registrant, code=wrong, client_ip="10.0.0.2")
    with pytest.raises(CodeExpired):
        services.phone_verify_code(registrant=registrant, code=wrong, client_ip="10.0.0.2")
    with pytest.raises(CodeExpired):
        services.phone_verify_code(registrant=registrant, code=right, client_ip="10.0.0.2")
    assert layer_states(registrant)[2] == ("pending", "AWAITING_PHONE_CODE")


def test_an_otp_expires_after_five_minutes(journey, people, sms):
    registrant = journey.verify_email(journey.sign_up(people.make()))
    OneTimeCode.objects.filter(registrant=registrant, purpose="phone").update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with pytest.raises(CodeExpired):
        services.phone_verify_code(
            registrant=registrant, code=sms.last_code(registrant.phone), client_ip="x"
        )


def test_sms_resend_has_a_cooldown_and_a_daily_cap_per_number(
    journey, people, sms, django_capture_on_commit_callbacks
):
    registrant = journey.verify_email(journey.sign_up(people.make()))
    with pytest.raises(ResendTooSoon):
        services.phone_resend(registrant=registrant, client_ip="10.0.0.3")
    for _ in range(4):  # the first code plus four resends reach the cap of five a day
        OneTimeCode.objects.filter(registrant=registrant).update(
            created_at=timezone.now() - datetime.timedelta(minutes=2)
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.phone_resend(registrant=registrant, client_ip="10.0.0.3")
    OneTimeCode.objects.filter(registrant=registrant).update(
        created_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    with pytest.raises(RateLimited):
        services.phone_resend(registrant=registrant, client_ip="10.0.0.3")
    assert len(sms.sent) == 5


def test_changing_the_phone_asks_for_a_new_code(
    journey, people, sms, django_capture_on_commit_callbacks
):
    registrant = journey.through_phone(people.make())
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_change(registrant=registrant, phone="0813 1111 2222", client_ip="10.0.0.4")
    registrant.refresh_from_db()
    assert registrant.phone == "+6281311112222"
    assert layer_states(registrant)[2] == ("pending", "AWAITING_PHONE_CODE")
    assert sms.sent[-1][0] == "+6281311112222"


# --- eligibility ---------------------------------------------------------------------------------


def test_a_17_year_old_fails_eligibility_with_the_minimum_age(journey, people):
    today = timezone.localdate()
    birth = datetime.date(today.year - 17, 1, 10)
    registrant = journey.through_phone(people.make(birth_date=birth))
    assert layer_states(registrant)[3] == ("failed", "UNDER_AGE")
    views = registrant_layers(registrant, language="en")
    assert views[3].message == "Participants must be at least 18 years old."


def test_a_student_fails_eligibility(journey, people):
    registrant = journey.through_phone(people.make(), in_school=True)
    assert layer_states(registrant)[3] == ("failed", "IN_SCHOOL")


def test_a_person_on_an_exclusion_list_fails_eligibility_with_the_category(journey, people):
    person = people.make()
    ExclusionEntry.objects.create(
        nik_index=crypto.blind_index(person.nik, purpose="nik"), category="PNS"
    )
    registrant = journey.through_phone(person)
    assert layer_states(registrant)[3] == ("failed", "EXCLUDED")
    assert registrant_layers(registrant)[3].message == (
        "NIK Anda termasuk daftar yang tidak dapat mengikuti program (PNS)."
    )


# --- face ----------------------------------------------------------------------------------------


def test_a_selfie_passes_the_face_check_and_is_not_kept(
    journey, people, django_capture_on_commit_callbacks
):
    registrant = journey.through_phone(people.make())
    with django_capture_on_commit_callbacks(execute=True):
        services.face_submit(registrant=registrant, image=jpeg_with_exif())
    assert layer_states(registrant)[4] == ("passed", "")
    assert registrant.pending_selfie is None


def test_metadata_is_stripped_before_the_image_goes_anywhere():
    clean = services.stripped_image(jpeg_with_exif())
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
    assert b"SecretPhoneMaker" not in clean


def test_a_face_mismatch_can_be_retried(
    journey, people, registry, django_capture_on_commit_callbacks
):
    person = people.make(face_ok=False)
    registrant = journey.through_phone(person)
    with django_capture_on_commit_callbacks(execute=True):
        services.face_submit(registrant=registrant, image=jpeg_with_exif())
    assert layer_states(registrant)[4] == ("failed", "FACE_MISMATCH")
    registry.faces_ok.add(person.nik)
    with django_capture_on_commit_callbacks(execute=True):
        services.face_submit(registrant=registrant, image=jpeg_with_exif())
    assert layer_states(registrant)[4] == ("passed", "")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", "SELFIE_EMPTY"),
        (b"GIF89a....", "SELFIE_FORMAT"),
        (b"\xff\xd8" + b"0" * (5 * 1024 * 1024), "SELFIE_TOO_LARGE"),
    ],
)
def test_bad_selfies_are_refused_and_change_nothing(journey, people, payload, code):
    registrant = journey.through_phone(people.make())
    before = (layer_states(registrant), VerificationStep.objects.count())
    with pytest.raises(services.SelfieInvalid) as refused:
        services.face_submit(registrant=registrant, image=payload)
    assert refused.value.details == {"selfie": code}
    assert (layer_states(registrant), VerificationStep.objects.count()) == before


def test_a_step_out_of_order_is_refused(journey, people):
    registrant = journey.sign_up(people.make())
    with pytest.raises(services.StepNotAvailable):
        services.face_submit(registrant=registrant, image=jpeg_with_exif())
    with pytest.raises(services.StepNotAvailable):
        services.phone_verify_code(registrant=registrant, code="123456", client_ip="x")


# --- funnel --------------------------------------------------------------------------------------


def test_the_funnel_counts_each_layer_exactly(journey, people, django_capture_on_commit_callbacks):
    journey.sign_up(people.make())  # registered only
    journey.verify_email(journey.sign_up(people.make(in_registry=False)))  # email, NIK failed
    journey.through_phone(people.make(), in_school=True)  # through phone, not eligible
    done = journey.through_phone(people.make())
    with django_capture_on_commit_callbacks(execute=True):
        services.face_submit(registrant=done, image=jpeg_with_exif())

    assert funnel_totals() == {
        "registered": 4,
        "email": 3,
        "nik": 2,
        "phone": 2,
        "eligibility": 1,
        "face": 1,
    }
    from prakerja.registration.selectors import funnel_by_day_and_province

    rows = funnel_by_day_and_province()
    assert {(r.province_code, r.stage): r.count for r in rows} == {
        ("32", "registered"): 4,
        ("32", "email"): 3,
        ("32", "nik"): 2,
        ("32", "phone"): 2,
        ("32", "eligibility"): 1,
        ("32", "face"): 1,
    }
    assert {r.day for r in rows} == {timezone.localdate()}


def test_sign_up_data_helper_is_valid(people):
    assert sign_up_data(people.make()).regency_code == "32.01"


def test_an_exclusion_list_imported_later_takes_eligibility_away(journey, people):
    from prakerja.common.actors import Actor
    from prakerja.registration.exclusions import exclusion_list_import

    person, other = people.make(), people.make()
    registrant = journey.through_phone(person)
    bystander = journey.through_phone(other)
    assert layer_states(registrant)[3] == ("passed", "")

    exclusion_list_import(
        stream=io.StringIO(f"nik,category\n{person.nik},bansos\n"),
        file_name="late.csv",
        category=None,
        actor=Actor.system("tests"),
    )

    assert layer_states(registrant)[3] == ("failed", "EXCLUDED")
    assert layer_states(bystander)[3] == ("passed", "")
    assert registrant_layers(registrant, language="en")[3].message == (
        "Your NIK is on a list of people who cannot join the program (bansos)."
    )


def test_a_lost_registry_task_is_caught_by_the_periodic_sweep(
    journey, people, django_capture_on_commit_callbacks
):
    registrant = journey.sign_up(people.make())
    # the email passes but the queued registry check never runs (callbacks not executed: lost task)
    services.sign_up_email_verify(
        token=journey.receipts[registrant.pk].token,
        code=__import__("tests.registration.kit", fromlist=["x"]).email_code(registrant.email),
        client_ip="10.0.0.1",
    )
    assert layer_states(registrant)[1] == ("pending", "REGISTRY_CHECKING")
    assert services.registry_retry_due() == 0  # the task gets its five minutes first

    with django_capture_on_commit_callbacks(execute=True):
        queued = services.registry_retry_due(now=timezone.now() + datetime.timedelta(minutes=6))

    assert queued == 1
    assert layer_states(registrant)[1] == ("passed", "")
    assert registrant.registry_retry_at is None


def test_a_sweep_of_someone_no_longer_waiting_clears_the_retry(
    journey, people, django_capture_on_commit_callbacks
):
    registrant = journey.through_phone(people.make())
    Registrant.objects.filter(pk=registrant.pk).update(registry_retry_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.registry_retry_due(now=timezone.now() + datetime.timedelta(seconds=1)) == 1
    registrant.refresh_from_db()
    assert registrant.registry_retry_at is None
    assert services.registry_retry_due(now=timezone.now() + datetime.timedelta(hours=1)) == 0
    assert layer_states(registrant)[:3] == [("passed", ""), ("passed", ""), ("passed", "")]
