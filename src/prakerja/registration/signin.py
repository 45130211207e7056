"""Sign-in with its lockout, and the password reset: the same answer, in about the same time,
whether or not an email has an account."""

import contextlib

from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.registration import limits, notify
from prakerja.registration.codes import (
    CodeExpired,
    CodeWrong,
    ResendTooSoon,
    code_check,
    code_issue,
)
from prakerja.registration.errors import AccountLocked, CodeRefused, InvalidCredentials, LinkInvalid
from prakerja.registration.models import CodePurpose, Registrant
from prakerja.registration.rules import OK, password_check
from prakerja.registration.signup import email_key
from prakerja.throttle.services import Limit, throttle_count, throttle_hit

_DUMMY_HASH = make_password("prakerja-timing-equaliser")
RESET_SALT = "prakerja.password-reset"


def registrant_authenticate(*, email: str, password: str, client_ip: str) -> Registrant:
    """The same answer and about the same time whether or not the email has an account, so sign-in
    cannot tell anyone which emails are registered. An account whose email was never proved cannot
    sign in with its password either: its sign-up is finished with the emailed code on the device
    that made it (or made again), else signing in would tell a stranger which sign-ups went
    through. Failures lock the email for a while."""
    email = email.strip().lower()
    throttle_hit(key=f"login:ip:{client_ip}", limit=limits.LOGIN_PER_IP)
    failures_key = f"login-fail:email:{email_key(email)}"
    failures = limits.LOGIN_FAILURES_PER_EMAIL
    if throttle_count(key=failures_key, limit=failures) >= failures.hits:
        raise AccountLocked(
            details={"retry_after_s": failures.seconds}, minutes=failures.seconds // 60
        )
    registrant = Registrant.objects.filter(email=email, is_active=True).first()
    valid = check_password(password, registrant.password if registrant else _DUMMY_HASH)
    if registrant is None or not valid or registrant.email_status != OK:
        throttle_hit(key=failures_key, limit=Limit(hits=10**6, seconds=failures.seconds))
        raise InvalidCredentials()
    return registrant


def password_reset_request(*, email: str, client_ip: str) -> None:
    """Always the same answer for the caller, in about the same time; an email goes out only when
    an account with that (proved) email exists, and at most once a minute and three times an
    hour."""
    email = email.strip().lower()
    throttle_hit(key=f"reset:ip:{client_ip}", limit=limits.RESET_PER_IP)
    throttle_hit(key=f"reset:email:{email_key(email)}", limit=limits.RESET_PER_EMAIL)
    registrant = Registrant.objects.filter(email=email, is_active=True, email_status=OK).first()
    if registrant is None:
        return
    # A reset asked again within a minute keeps the code already sent; saying so would tell the
    # caller that the email has an account.
    with contextlib.suppress(ResendTooSoon), transaction.atomic(durable=True):
        code = code_issue(registrant=registrant, purpose=CodePurpose.RESET, target=email)
        token = signing.TimestampSigner(salt=RESET_SALT).sign(f"{registrant.pk}:{code}")
        notify.password_reset(registrant, code=code, token=token)


def password_reset_confirm(
    *, email: str = "", code: str = "", token: str = "", new_password: str
) -> Registrant:
    """Set a new password with the emailed code (app) or the emailed link's token (web). With the
    code, every refusal but a weak password is CodeRefused, whether or not the email has an
    account; the password rule is checked first, against the email alone, for the same reason."""
    if token:
        try:
            value = signing.TimestampSigner(salt=RESET_SALT).unsign(token, max_age=3600)
            registrant_id, code = value.split(":", 1)
        except (signing.BadSignature, ValueError):
            raise LinkInvalid() from None
        registrant = Registrant.objects.filter(pk=int(registrant_id), is_active=True).first()
        if registrant is None:
            raise LinkInvalid()
        email = registrant.email
    else:
        email = email.strip().lower()
        throttle_hit(key=f"reset-check:{email_key(email)}", limit=limits.RESET_CHECKS_PER_EMAIL)
    password_check(new_password, email, "")
    if not token:
        registrant = Registrant.objects.filter(email=email, is_active=True, email_status=OK).first()
    if registrant is None:
        raise CodeRefused()
    try:
        code_check(registrant=registrant, purpose=CodePurpose.RESET, code=code)
    except (CodeWrong, CodeExpired):
        if token:
            raise LinkInvalid() from None
        raise CodeRefused() from None
    with transaction.atomic(durable=True):
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        registrant.password = make_password(new_password)
        registrant.save(update_fields=["password"])
        registrant.tokens.filter(revoked_at__isnull=True).update(revoked_at=clock.now())
        audit_record(
            actor=Actor.participant(registrant.pk),
            event_type="registration.password_reset",
            subject=registrant,
        )
    return registrant
