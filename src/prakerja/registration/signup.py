"""Sign-up and the email layer (program.md §2), per request: the account is made with every layer
pending, and the emailed code or link proves the email and sends the NIK to the registry. The
rules (what a sign-up keeps, how the NIK layer opens) are rules.py's, shared with bulk.py."""

import contextlib
import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import IntegrityError, transaction

from prakerja.audit.services import audit_record
from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.registration import limits, notify
from prakerja.registration.codes import (
    CodeExpired,
    CodeWrong,
    ResendTooSoon,
    code_check,
    code_issue,
)
from prakerja.registration.errors import CodeRefused, LinkInvalid, LinkNeedsCode
from prakerja.registration.layers import layer_set
from prakerja.registration.models import CodePurpose, Layer, Registrant
from prakerja.registration.registry import registry_check_queue
from prakerja.registration.rules import (
    INITIAL_REASONS,
    NO,
    OK,
    P,
    SignUp,
    nik_after_email,
    sign_up_checked,
    sign_up_fields,
)
from prakerja.throttle.services import RateLimited, throttle_hit

EMAIL_LINK_SALT = "prakerja.email-verify"


@dataclass(frozen=True)
class SignUpReceipt:
    """What a sign-up answers, the same whether or not the email, NIK or phone is registered: the
    token that, with the code sent to the email, finishes the sign-up (sign_up_email_verify)."""

    token: str
    email: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def email_key(email: str) -> str:
    return crypto.blind_index(email.strip().lower(), purpose="email")


def registrant_sign_up(
    *, data: SignUp, client_ip: str, actor: Actor | None = None
) -> SignUpReceipt:
    """Take a sign-up without telling the caller anything about other accounts (docs/security.md).
    Refused input raises ValidationFailed naming each field and writes nothing; otherwise the answer
    is a receipt, whatever the state:

    - a new email: the account is made with every layer pending and the email code sent. A NIK
      another account holds is kept but not claimed (NIK_TAKEN once the email is proved); a phone
      another account uses is not kept (the phone layer asks for another number);
    - the email of an account that never proved it: that sign-up starts over with these details
      (the latest sign-up of a mailbox is the one its code finishes);
    - the email of an account that proved it: nothing changes; its owner is told by email.

    Only the device holding the receipt's token can finish with the code, so whoever reads the
    mailbox cannot finish a sign-up someone else started, nor the reverse."""
    throttle_hit(key=f"signup:ip:{client_ip}", limit=limits.SIGNUP_PER_IP)
    clean, nik, sex = sign_up_checked(data)
    email = str(clean["email"])
    nik_index = crypto.blind_index(nik, purpose="nik")
    throttle_hit(key=f"signup:email:{email_key(email)}", limit=limits.SIGNUP_PER_EMAIL)
    throttle_hit(key=f"signup:nik:{nik_index}", limit=limits.SIGNUP_PER_NIK)
    # The hash is the dearest step: every path pays it, so the answer takes as long either way.
    password = make_password(data.password)
    token = secrets.token_urlsafe(32)
    for attempt in range(3):
        try:
            with transaction.atomic(durable=True):
                _sign_up_apply(clean, nik, sex, nik_index, password, token_hash(token))
            break
        except IntegrityError:
            # A concurrent sign-up took this email, NIK or phone first: decide again, seeing it.
            if attempt == 2:
                raise
    return SignUpReceipt(token=token, email=email)


def _sign_up_apply(
    clean: dict[str, object],
    nik: str,
    sex: str,
    nik_index: str,
    password: str,
    signup_token_hash: str,
) -> None:
    existing = Registrant.objects.select_for_update().filter(email=clean["email"]).first()
    if existing is not None and (existing.email_status != P or not existing.is_active):
        notify.sign_up_attempted(existing)
        return
    others = Registrant.objects.exclude(pk=existing.pk) if existing else Registrant.objects.all()
    fields = sign_up_fields(
        clean,
        nik,
        sex,
        nik_index,
        nik_held=others.filter(nik_index=nik_index).exists(),
        phone_used=others.filter(phone=clean["phone"], is_active=True).exists(),
    )
    fields |= {"password": password, "signup_token_hash": signup_token_hash}
    if existing is None:
        registrant = Registrant.objects.create(
            **fields,
            **{f"{layer.value}_reason": reason for layer, reason in INITIAL_REASONS.items()},
        )
    else:
        registrant = existing
        for name, value in fields.items():
            setattr(registrant, name, value)
        registrant.save(update_fields=list(fields))
        audit_record(
            actor=Actor.participant(registrant.pk),
            event_type="registration.sign_up_restarted",
            subject=registrant,
        )
    _send_email_code_quietly(registrant)


# --- email layer ---------------------------------------------------------------------------------


def email_link_token(registrant: Registrant) -> str:
    """The emailed link: this account, this address and this sign-up (a later sign-up of the same
    mailbox makes earlier links invalid)."""
    attempt = (registrant.signup_token_hash or "")[:16]
    return signing.TimestampSigner(salt=EMAIL_LINK_SALT).sign(
        f"{registrant.pk}:{attempt}:{registrant.email}"
    )


def _send_email_code(registrant: Registrant) -> None:
    throttle_hit(key=f"email-send:{registrant.pk}", limit=limits.EMAIL_SENDS_PER_DAY)
    code = code_issue(registrant=registrant, purpose=CodePurpose.EMAIL, target=registrant.email)
    notify.email_verification(registrant, code=code, token=email_link_token(registrant))


def _send_email_code_quietly(registrant: Registrant) -> None:
    """Send a code unless the mailbox got one a moment ago or too many today; the caller's answer
    must not tell which (a code sent earlier keeps working)."""
    with contextlib.suppress(RateLimited, ResendTooSoon):
        _send_email_code(registrant)


def _awaiting_email(token: str) -> Registrant | None:
    return Registrant.objects.filter(
        signup_token_hash=token_hash(token), email_status=P, is_active=True
    ).first()


def sign_up_email_verify(*, token: str, code: str, client_ip: str) -> Registrant:
    """Finish a sign-up: the receipt's token and the code from the email. Returns the account, now
    with its email proved, for the caller to sign in; CodeRefused otherwise, whatever the
    cause."""
    throttle_hit(key=f"otp-check:ip:{client_ip}", limit=limits.OTP_CHECKS_PER_IP)
    throttle_hit(key=f"signup-code:{token_hash(token)}", limit=limits.SIGNUP_CODE_CHECKS_PER_TOKEN)
    registrant = _awaiting_email(token)
    if registrant is None:
        raise CodeRefused()
    try:
        code_check(registrant=registrant, purpose=CodePurpose.EMAIL, code=code)
    except (CodeWrong, CodeExpired):
        raise CodeRefused() from None
    return _email_passed(registrant.pk, how="code")


def sign_up_email_resend(*, token: str, client_ip: str) -> None:
    """A new email code for the sign-up of this receipt; the same (empty) answer when there is
    nothing to send it for."""
    throttle_hit(key=f"signup-resend:ip:{client_ip}", limit=limits.SIGNUP_PER_IP)
    throttle_hit(key=f"signup-resend:{token_hash(token)}", limit=limits.EMAIL_SENDS_PER_DAY)
    registrant = _awaiting_email(token)
    if registrant is None:
        return
    with transaction.atomic(durable=True):
        _send_email_code_quietly(registrant)


def email_verify_link(*, token: str, signup_token: str) -> Registrant | None:
    """The emailed link, opened where the sign-up was made (`signup_token`, kept by the portal's
    session): proves the email and returns the account to sign in. None when the email was proved
    already; LinkNeedsCode when opened elsewhere: whoever reads the mailbox must not finish a
    sign-up someone else started; LinkInvalid for an expired, forged or superseded link."""
    try:
        value = signing.TimestampSigner(salt=EMAIL_LINK_SALT).unsign(
            token, max_age=datetime.timedelta(hours=24)
        )
        registrant_id, attempt, email = value.split(":", 2)
    except (signing.BadSignature, ValueError):
        raise LinkInvalid() from None
    registrant = Registrant.objects.filter(pk=int(registrant_id), email=email).first()
    if registrant is None:
        raise LinkInvalid()
    if registrant.email_status == OK:
        return None  # a second click on the same link is fine
    if (registrant.signup_token_hash or "")[:16] != attempt:
        raise LinkInvalid()
    if not signup_token or token_hash(signup_token) != registrant.signup_token_hash:
        raise LinkNeedsCode()
    return _email_passed(registrant.pk, how="link")


def _email_passed(registrant_id: int, *, how: str) -> Registrant:
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant_id)
        if registrant.email_status == OK:
            return registrant
        actor = Actor.participant(registrant.pk)
        layer_set(registrant, Layer.EMAIL, OK, actor=actor, details={"via": how})
        registrant.signup_token_hash = None
        registrant.save(update_fields=["signup_token_hash"])
        status, reason, nik_actor = nik_after_email(nik_claimed=registrant.nik_index is not None)
        layer_set(registrant, Layer.NIK, status, reason=reason, actor=nik_actor or actor)
        if status == NO:
            holder = Registrant.objects.filter(
                nik_index=crypto.blind_index(
                    crypto.decrypt(registrant.nik_encrypted), purpose="nik"
                ),
                email_status=OK,
            ).first()
            if holder is not None:
                notify.nik_attempted(holder)
            return registrant
        registry_check_queue(registrant)
    return registrant
