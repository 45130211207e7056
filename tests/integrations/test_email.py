"""Email: PRAKERJA_EMAIL_URL parsing, the sandbox backend and the sandbox inbox page."""

from datetime import UTC, datetime

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail
from django.test import override_settings

from prakerja.integrations.email import email_settings
from prakerja.integrations.models import SandboxEmail

SANDBOX_BACKEND = "prakerja.integrations.email.SandboxEmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


# --- settings from PRAKERJA_EMAIL_URL ------------------------------------------------------------


def test_sandbox_url_selects_the_sandbox_backend():
    assert email_settings("sandbox:") == {"EMAIL_BACKEND": SANDBOX_BACKEND}


def test_console_url_selects_the_console_backend():
    assert email_settings("console:") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


def test_smtp_url_gives_starttls_on_the_given_port_with_decoded_password():
    assert email_settings("smtp://mailer:p%40ss%3Aw0rd@mail.example.id:2525") == {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "mail.example.id",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss:w0rd",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }


def test_smtp_url_defaults_to_port_587_and_can_turn_tls_off():
    assert email_settings("smtp://relay.local?tls=false") == {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "relay.local",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }


def test_smtps_url_uses_ssl_on_port_465_by_default():
    assert email_settings("smtps://user:secret@smtp.example.id?timeout=30") == {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "smtp.example.id",
        "EMAIL_PORT": 465,
        "EMAIL_HOST_USER": "user",
        "EMAIL_HOST_PASSWORD": "secret",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": True,
        "EMAIL_TIMEOUT": 30.0,
    }


@pytest.mark.parametrize(
    "url",
    [
        "",
        "mailto:someone@example.id",
        "http://user:secret@mail.example.id",
        "smtp://",
        "smtp://user:secret@mail.example.id:notaport",
        "smtp://mail.example.id?tls=maybe",
        "smtp://mail.example.id?tsl=false",
        "sandbox:inbox",
    ],
)
def test_any_other_url_is_refused_naming_the_accepted_forms(url):
    with pytest.raises(ValueError) as refused:
        email_settings(url)
    message = str(refused.value)
    assert "PRAKERJA_EMAIL_URL" in message
    assert "secret" not in message  # a password in the URL never reaches a log


def test_an_unknown_scheme_lists_every_accepted_form():
    with pytest.raises(ValueError) as refused:
        email_settings("ftp://mail.example.id")
    for form in ("sandbox:", "console:", "smtp://user:password@host:587", "smtps://"):
        assert form in str(refused.value)


# --- the sandbox backend -------------------------------------------------------------------------


@override_settings(EMAIL_BACKEND=SANDBOX_BACKEND)
def test_send_mail_stores_one_row_per_recipient(db):
    # given no emails
    # when a mail with a text and an HTML body goes to two recipients
    sent = send_mail(
        "Verifikasi email Anda",
        "Buka https://prakerja.test/verify/abc untuk verifikasi.",
        "Kartu Prakerja <noreply@prakerja.test>",
        ["budi@example.id", "Siti <siti@example.id>"],
        html_message="<p>Buka <a href='https://prakerja.test/verify/abc'>tautan</a></p>",
    )

    # then one message was sent and each recipient has a row with both bodies
    assert sent == 1
    rows = list(
        SandboxEmail.objects.order_by("to").values("to", "subject", "body_text", "body_html")
    )
    assert rows == [
        {
            "to": to,
            "subject": "Verifikasi email Anda",
            "body_text": "Buka https://prakerja.test/verify/abc untuk verifikasi.",
            "body_html": "<p>Buka <a href='https://prakerja.test/verify/abc'>tautan</a></p>",
        }
        for to in ("budi@example.id", "siti@example.id")
    ]


@override_settings(EMAIL_BACKEND=SANDBOX_BACKEND)
def test_a_plain_text_mail_has_no_html_and_cc_and_bcc_get_rows(db):
    message = EmailMultiAlternatives(
        "Halo", "Teks saja", "noreply@prakerja.test", ["a@example.id"], cc=["b@example.id"]
    )
    message.bcc = ["c@example.id"]
    assert message.send() == 1
    assert list(SandboxEmail.objects.order_by("to").values_list("to", "body_html")) == [
        ("a@example.id", ""),
        ("b@example.id", ""),
        ("c@example.id", ""),
    ]


@override_settings(EMAIL_BACKEND=SANDBOX_BACKEND)
def test_a_mail_without_recipients_stores_nothing(db):
    assert EmailMultiAlternatives("Halo", "Teks", "noreply@prakerja.test", []).send() == 0
    assert SandboxEmail.objects.count() == 0


# --- the inbox page ------------------------------------------------------------------------------

INBOX = "/sandbox/email/"


def store(to: str, subject: str, body: str, at: datetime) -> SandboxEmail:
    return SandboxEmail.objects.create(to=to, subject=subject, body_text=body, sent_at=at)


@pytest.mark.urls("tests.integrations.email_urls")
def test_the_inbox_is_not_found_when_sandbox_pages_are_off(db, client, settings):
    # given sandbox pages off and one stored email
    settings.SANDBOX_PAGES = False
    store("budi@example.id", "Rahasia", "isi", datetime(2020, 4, 22, 10, 36, tzinfo=UTC))

    # when the inbox is opened, then it does not exist
    page = client.get(INBOX)
    assert page.status_code == 404
    assert "Rahasia" not in page.content.decode()


@pytest.mark.urls("tests.integrations.email_urls")
def test_the_inbox_lists_emails_newest_first_with_clickable_links(db, client, settings):
    # given sandbox pages on and two emails
    settings.SANDBOX_PAGES = True
    store(
        "budi@example.id",
        "Verifikasi email Anda",
        "Buka https://prakerja.test/verify/abc123 untuk verifikasi.\n<b>bukan markup</b>",
        datetime(2020, 4, 22, 10, 36, tzinfo=UTC),
    )
    store(
        "siti@example.id", "Selamat datang", "Halo Siti", datetime(2020, 4, 22, 11, 0, tzinfo=UTC)
    )

    # when the inbox is opened (in Indonesian, the default)
    page = client.get(INBOX)

    # then both are shown newest first, times in WIB, links clickable and bodies escaped
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index("Selamat datang") < text.index("Verifikasi email Anda")
    assert "budi@example.id" in text and "siti@example.id" in text
    assert "22 Apr 2020 17.36 WIB" in text
    assert "22 Apr 2020 18.00 WIB" in text
    assert (
        '<a href="https://prakerja.test/verify/abc123" rel="nofollow">'
        "https://prakerja.test/verify/abc123</a>" in text
    )
    assert "&lt;b&gt;bukan markup&lt;/b&gt;" in text
    assert "<b>bukan markup</b>" not in text


@pytest.mark.urls("tests.integrations.email_urls")
def test_the_inbox_filters_by_address_ignoring_case(db, client, settings):
    # given emails to two addresses
    settings.SANDBOX_PAGES = True
    store("budi@example.id", "Untuk Budi", "satu", datetime(2020, 4, 22, 10, 0, tzinfo=UTC))
    store("siti@example.id", "Untuk Siti", "dua", datetime(2020, 4, 22, 11, 0, tzinfo=UTC))

    # when the inbox is filtered by Budi's address in other capitals
    text = client.get(INBOX, {"to": "Budi@Example.ID"}).content.decode()

    # then only Budi's email is listed, and the filter keeps its value
    assert "Untuk Budi" in text
    assert "Untuk Siti" not in text
    assert 'value="Budi@Example.ID"' in text


@pytest.mark.urls("tests.integrations.email_urls")
def test_the_inbox_shows_at_most_50_and_says_when_empty(db, client, settings):
    settings.SANDBOX_PAGES = True
    empty = client.get(INBOX, {"to": "nobody@example.id"})
    assert "Belum ada email." in empty.content.decode()  # pages are Indonesian by default
    client.cookies["django_language"] = "en"  # what the language switch sets
    empty = client.get(INBOX, {"to": "nobody@example.id"})
    assert "No emails yet." in empty.content.decode()

    for n in range(51):
        store("budi@example.id", f"Email nomor {n:02d}", "isi", datetime(2020, 4, 22, tzinfo=UTC))
    text = client.get(INBOX).content.decode()
    assert text.count("<article") == 50
    assert "Email nomor 50" in text
    assert "Email nomor 00" not in text
