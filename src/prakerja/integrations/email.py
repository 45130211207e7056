"""Outgoing email: PRAKERJA_EMAIL_URL turned into Django's email settings, and the sandbox backend
that keeps every mail in the database for the demo's inbox page instead of sending it.

settings.py imports this module before the app registry is ready, so models are imported inside the
functions that need them.
"""

from collections.abc import Sequence
from email.utils import parseaddr
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.html import strip_tags

from prakerja.common import clock

if TYPE_CHECKING:
    from prakerja.integrations.models import SandboxEmail

ACCEPTED_FORMS = (
    "`sandbox:`, `console:`, `smtp://user:password@host:587` (STARTTLS; `?tls=false` for none) "
    "or `smtps://user:password@host:465` (TLS from the start)"
)
SMTP_TIMEOUT_S = (
    10  # Django's default is to wait forever, which would hang a worker on a dead server
)
_SUBJECT_MAX = 255
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def email_settings(url: str) -> dict[str, object]:
    """Django settings for PRAKERJA_EMAIL_URL. Error messages never repeat the URL: it may hold a
    password."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    bare = not (parts.netloc or parts.path or parts.query)
    if scheme == "sandbox" and bare:
        return {"EMAIL_BACKEND": "prakerja.integrations.email.SandboxEmailBackend"}
    if scheme == "console" and bare:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme not in {"smtp", "smtps"}:
        raise ValueError(f"PRAKERJA_EMAIL_URL must be {ACCEPTED_FORMS}; got scheme {scheme!r}")
    if not parts.hostname:
        raise ValueError(f"PRAKERJA_EMAIL_URL has no host; expected {ACCEPTED_FORMS}")
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(
            f"PRAKERJA_EMAIL_URL has a bad port ({error}); expected {ACCEPTED_FORMS}"
        ) from error
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"tls", "timeout"}
    if unknown:
        raise ValueError(
            f"PRAKERJA_EMAIL_URL has unknown options {sorted(unknown)}; use tls, timeout"
        )
    ssl = scheme == "smtps"
    tls = not ssl and _flag(query.get("tls", "true"))
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if ssl else 587),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
        "EMAIL_TIMEOUT": _seconds(query.get("timeout")),
    }


def _flag(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"PRAKERJA_EMAIL_URL: tls must be true or false, got {value!r}")


def _seconds(value: str | None) -> float:
    if value is None:
        return SMTP_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ValueError(f"PRAKERJA_EMAIL_URL: timeout must be a positive number, got {value!r}")
    return seconds


def _bodies(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a message: its body and, if it has one, its text/html alternative."""
    body = str(message.body)
    if message.content_subtype == "html":
        return strip_tags(body), body
    for alternative in getattr(message, "alternatives", None) or ():
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html":
            return body, content.decode() if isinstance(content, bytes) else str(content)
    return body, ""


class SandboxEmailBackend(BaseEmailBackend):
    """Stores one SandboxEmail row per recipient (to, cc and bcc) and sends nothing."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from prakerja.integrations.models import SandboxEmail

        now = clock.now()
        rows: list[SandboxEmail] = []
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            text, html = _bodies(message)
            subject = str(message.subject)[:_SUBJECT_MAX]
            rows += [
                SandboxEmail(
                    to=parseaddr(recipient)[1] or recipient,
                    subject=subject,
                    body_text=text,
                    body_html=html,
                    sent_at=now,
                )
                for recipient in recipients
            ]
            sent += 1
        try:
            SandboxEmail.objects.bulk_create(rows)
        except Exception:
            if not self.fail_silently:
                raise
            return 0
        return sent


def sandbox_emails_latest(*, to: str = "", limit: int = 50) -> list["SandboxEmail"]:
    """The newest sandbox emails first, to one address if given (case-insensitive)."""
    from prakerja.integrations.models import SandboxEmail

    emails = SandboxEmail.objects.order_by("-sent_at", "-id")
    if to:
        emails = emails.filter(to__iexact=to)
    return list(emails[:limit])
