"""What registration tells people, by email and SMS, in their language. Messages are queued as tasks
on commit: a message never goes out for a change that was rolled back."""

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from prakerja.config import env
from prakerja.registration import tasks
from prakerja.registration.models import Registrant


def _email(
    registrant: Registrant, template: str, subject_id: str, subject_en: str, **context: object
) -> None:
    with translation.override(registrant.language):
        subject = subject_en if registrant.language == "en" else subject_id
        body = render_to_string(
            f"registration/email/{template}.txt", {"registrant": registrant, **context}
        )
    to = registrant.email
    transaction.on_commit(lambda: tasks.email_send_task.delay(to, subject, body), robust=True)


def email_verification(registrant: Registrant, *, code: str, token: str) -> None:
    link = env.get("PRAKERJA_PUBLIC_URL").rstrip("/") + reverse(
        "portal:verify_email_link", args=[token]
    )
    _email(
        registrant,
        "verify",
        "Kode verifikasi email Kartu Prakerja",
        "Your Kartu Prakerja email verification code",
        code=code,
        link=link,
    )


def password_reset(registrant: Registrant, *, code: str, token: str) -> None:
    link = env.get("PRAKERJA_PUBLIC_URL").rstrip("/") + reverse(
        "portal:reset_confirm", args=[token]
    )
    _email(
        registrant,
        "reset",
        "Atur ulang kata sandi Kartu Prakerja",
        "Reset your Kartu Prakerja password",
        code=code,
        link=link,
    )


def sign_up_attempted(registrant: Registrant) -> None:
    """Someone signed up with the email of this (proved) account: its owner hears of it."""
    base = env.get("PRAKERJA_PUBLIC_URL").rstrip("/")
    _email(
        registrant,
        "signup_attempt",
        "Ada yang mencoba mendaftar dengan email Anda",
        "Someone tried to sign up with your email",
        login_link=base + reverse("portal:login"),
        reset_link=base + reverse("portal:reset_request"),
    )


def nik_attempted(registrant: Registrant) -> None:
    """Someone proved an email and gave the NIK this account holds: its owner hears of it."""
    base = env.get("PRAKERJA_PUBLIC_URL").rstrip("/")
    _email(
        registrant,
        "nik_attempt",
        "NIK Anda dipakai untuk mendaftar akun lain",
        "Your NIK was given to sign up another account",
        complaint_link=base + reverse("grievances:new"),
    )


def phone_code(registrant: Registrant, *, code: str) -> None:
    if registrant.language == "en":
        text = (
            f"Kartu Prakerja: your code is {code}. Valid for 5 minutes. Never share it with anyone."
        )
    else:
        text = (
            f"Kartu Prakerja: kode OTP Anda {code}. Berlaku 5 menit. "
            "JANGAN berikan kode ini kepada siapa pun."
        )
    phone, reference = str(registrant.phone), f"otp:{registrant.pk}:{code}"
    transaction.on_commit(lambda: tasks.sms_send_task.delay(phone, text, reference), robust=True)
