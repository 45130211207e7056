"""Six-digit one-time codes for email, SMS and password reset: random, stored only as a keyed hash,
valid for a limited time and a limited number of wrong guesses, and replaced by each resend."""

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F

from prakerja.common import clock
from prakerja.common.errors import ApplicationError, Conflict
from prakerja.registration.models import CodePurpose, OneTimeCode, Registrant


@dataclass(frozen=True)
class CodeRules:
    valid_for: datetime.timedelta
    max_attempts: int
    resend_cooldown: datetime.timedelta


RULES = {
    CodePurpose.EMAIL: CodeRules(datetime.timedelta(hours=24), 5, datetime.timedelta(seconds=60)),
    CodePurpose.PHONE: CodeRules(datetime.timedelta(minutes=5), 5, datetime.timedelta(seconds=60)),
    CodePurpose.RESET: CodeRules(datetime.timedelta(hours=1), 5, datetime.timedelta(seconds=60)),
}


# A wrong code of a signed-in person is 403 (the code does not prove the number), never 401: the
# bearer token is fine, and a client that drops its token on 401 must not sign the person out.
class CodeWrong(ApplicationError):
    code = "CODE_WRONG"
    http_status = 403
    message_id = "Kode salah. Sisa {left} kali percobaan."
    message_en = "Wrong code. {left} attempts left."


class CodeExpired(ApplicationError):
    code = "CODE_EXPIRED"
    http_status = 403
    message_id = "Kode sudah kedaluwarsa atau terlalu banyak salah. Minta kode baru."
    message_en = "The code has expired or was entered wrongly too often. Ask for a new code."


class ResendTooSoon(Conflict):
    code = "RESEND_TOO_SOON"
    http_status = 429
    message_id = "Tunggu {seconds} detik sebelum meminta kode baru."
    message_en = "Wait {seconds} seconds before asking for a new code."


def _hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def code_issue(*, registrant: Registrant, purpose: CodePurpose, target: str) -> str:
    """A fresh code for `purpose` (earlier unused ones stop working). Returns the clear code, which
    only the message to the person carries."""
    rules = RULES[purpose]
    now = clock.now()
    # The cooldown protects one recipient from a flood; a code to a new number or address may go now.
    latest = (
        OneTimeCode.objects.filter(registrant=registrant, purpose=purpose, target=target)
        .order_by("-created_at")
        .first()
    )
    if latest is not None and now - latest.created_at < rules.resend_cooldown:
        wait = rules.resend_cooldown - (now - latest.created_at)
        raise ResendTooSoon(
            details={"retry_after_s": int(wait.total_seconds()) + 1},
            seconds=int(wait.total_seconds()) + 1,
        )
    OneTimeCode.objects.filter(registrant=registrant, purpose=purpose, used_at__isnull=True).update(
        used_at=now
    )
    code = f"{secrets.randbelow(10**6):06d}"  # six random digits
    OneTimeCode.objects.create(
        registrant=registrant,
        purpose=purpose,
        target=target,
        code_hash=_hash(code),
        created_at=now,
        expires_at=now + rules.valid_for,
    )
    return code


def code_check(*, registrant: Registrant, purpose: CodePurpose, code: str) -> OneTimeCode:
    """Spend one attempt on the current code, then compare. Call it OUTSIDE a transaction: each
    attempt is claimed by a conditional UPDATE that commits at once, so a wrong guess counts even
    though the caller refuses the request, and two racing guesses cannot share one attempt."""
    now = clock.now()
    rules = RULES[purpose]
    current = (
        OneTimeCode.objects.filter(registrant=registrant, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if current is None or current.expires_at <= now:
        raise CodeExpired()
    claimed = OneTimeCode.objects.filter(
        pk=current.pk, used_at__isnull=True, attempts__lt=rules.max_attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        raise CodeExpired()
    if not hmac.compare_digest(current.code_hash, _hash(code.strip())):
        left = rules.max_attempts - (current.attempts + 1)
        if left <= 0:
            raise CodeExpired()
        raise CodeWrong(details={"attempts_left": left}, left=left)
    if not OneTimeCode.objects.filter(pk=current.pk, used_at__isnull=True).update(used_at=now):
        raise CodeExpired()  # a concurrent request used it first
    return current
