"""Registration and its verification layers (program.md §2): email → NIK → phone → eligibility →
face check. Each layer's outcome is recorded by `layers.layer_set`; calls to the registry and the SMS
gateway happen in tasks queued on commit, so a slow or broken partner never holds a request open."""

import contextlib
import datetime
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import (
    ApplicationError,
    Conflict,
    FieldsDisagree,
    NotFound,
    ValidationFailed,
)
from prakerja.common.images import NotAPicture, jpeg_without_metadata
from prakerja.common.text import CHARACTER_INVALID, text_problem
from prakerja.common.timeutil import WIB
from prakerja.integrations.population import RegistryUnavailable, population_registry
from prakerja.registration import notify
from prakerja.registration.codes import (
    CodeExpired,
    CodeWrong,
    ResendTooSoon,
    code_check,
    code_issue,
)
from prakerja.registration.exclusions import exclusion_categories_for
from prakerja.registration.field_rules import (
    EMAIL_MAX,
    EMAIL_PATTERN,
    NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PASSWORD_PATTERN,
    phone_e164,
)
from prakerja.registration.layers import layer_set
from prakerja.registration.models import (
    CodePurpose,
    Education,
    Employment,
    Layer,
    LayerStatus,
    Registrant,
)
from prakerja.registration.names import names_match
from prakerja.registration.nik import NikProblem, check_nik, normalise_nik, parse_nik
from prakerja.registration.regions import region
from prakerja.throttle.services import Limit, RateLimited, throttle_count, throttle_hit
from prakerja.waves.selectors import scheme_active

P, OK, NO = LayerStatus.PENDING, LayerStatus.PASSED, LayerStatus.FAILED

# Limits count first what they protect: an email, a NIK, a phone number, an account, a code. Per
# address only as a ceiling against one machine's flood, sized for carrier-grade NAT, where thousands
# of phones share an address (the reasoning and figures: docs/operations.md, "Rate limits").
SIGNUP_PER_EMAIL = Limit(hits=5, seconds=3600)
SIGNUP_PER_NIK = Limit(hits=5, seconds=3600)
SIGNUP_PER_IP = Limit(hits=1000, seconds=3600)
SIGNUP_CODE_CHECKS_PER_TOKEN = Limit(hits=10, seconds=900)
LOGIN_PER_IP = Limit(hits=3000, seconds=900)
LOGIN_FAILURES_PER_EMAIL = Limit(hits=5, seconds=900)
RESET_PER_IP = Limit(hits=500, seconds=3600)
RESET_PER_EMAIL = Limit(hits=3, seconds=3600)
RESET_CHECKS_PER_EMAIL = Limit(hits=10, seconds=3600)
EMAIL_SENDS_PER_DAY = Limit(hits=5, seconds=86400)
SMS_PER_NUMBER_PER_DAY = Limit(hits=5, seconds=86400)
SMS_PER_ACCOUNT_PER_DAY = Limit(hits=10, seconds=86400)
SMS_PER_IP_PER_DAY = Limit(hits=5000, seconds=86400)
OTP_CHECKS_PER_IP = Limit(hits=3000, seconds=900)
PHONE_CHANGES_PER_DAY = Limit(hits=5, seconds=86400)
SELFIE_MAX_BYTES = 5 * 1024 * 1024
NIK_TAKEN_ACTOR = Actor.system("nik_taken")
REGISTRY_RETRY_BACKOFF = (60, 120, 300, 600, 1800, 3600)  # seconds, then hourly
REGISTRY_SAFETY_NET = datetime.timedelta(minutes=5)


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    http_status = 401
    message_id = "Email atau kata sandi salah."
    message_en = "The email or password is wrong."


class AccountLocked(ApplicationError):
    code = "ACCOUNT_LOCKED"
    http_status = 429
    message_id = (
        "Terlalu banyak percobaan masuk yang gagal. Demi keamanan, coba lagi dalam {minutes} "
        "menit atau atur ulang kata sandi."
    )
    message_en = (
        "Too many failed sign-in attempts. For your safety, try again in {minutes} minutes or "
        "reset your password."
    )


class LinkInvalid(ApplicationError):
    code = "LINK_INVALID"
    http_status = 400
    message_id = "Tautan tidak berlaku atau sudah kedaluwarsa. Minta tautan baru."
    message_en = "The link is not valid or has expired. Ask for a new one."


class PhoneTaken(Conflict):
    code = "PHONE_TAKEN"
    message_id = "Nomor ponsel ini sudah dipakai akun lain. Tulis nomor ponsel lain milik Anda."
    message_en = "This mobile number is used by another account. Write another number of yours."


class StepNotAvailable(Conflict):
    code = "STEP_NOT_AVAILABLE"
    message_id = "Langkah ini belum atau tidak lagi tersedia untuk akun Anda."
    message_en = "This step is not available for your account now."


class SelfieInvalid(ValidationFailed):
    code = "SELFIE_INVALID"
    message_id = "Foto harus berformat JPEG atau PNG dan paling besar 5 MB."
    message_en = "The photo must be a JPEG or PNG of at most 5 MB."


# --- sign-up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    nik: str
    full_name: str
    birth_date: datetime.date
    phone: str
    regency_code: str
    education: str
    employment: str
    in_school: bool
    language: str = "id"


def normalise_phone(raw: str) -> str:
    """Indonesian mobile numbers in any common spelling (0812…, 62812…, +62 812-…) to E.164, by
    the pattern the participant API's schema states (field_rules.PHONE_PATTERN)."""
    return phone_e164(raw.strip())


_EDUCATIONS = frozenset(Education.values)  # `.values` builds its list on every call
_EMPLOYMENTS = frozenset(Employment.values)


def _checked_sign_up(
    data: SignUp, *, password_rule: bool = True
) -> tuple[dict[str, object], str, str]:
    """All field rules at once, so the form shows every problem together. Returns the clean values,
    the NIK and its sex. A field that breaks its own rule (the rules the API's schema states) is
    ValidationFailed; when every field is well formed but some do not fit together or with today
    (a birth date the NIK does not encode or in the future, a password like the email or the name
    or a common one), FieldsDisagree. Details are {field: reason code} either way. Without
    `password_rule` (a sign-up with no password: one-time codes only) the password is not checked."""
    problems: dict[str, object] = {}
    disagree: dict[str, object] = {}
    email = data.email.strip().lower()
    if not re.fullmatch(EMAIL_PATTERN, email):
        problems["email"] = "EMAIL_INVALID"
    elif len(email) > EMAIL_MAX:
        problems["email"] = "TOO_LONG"
    nik = normalise_nik(data.nik)
    sex = ""
    try:
        sex = parse_nik(nik).sex
    except NikProblem as problem:
        problems["nik"] = problem.reason
    else:
        try:
            check_nik(nik, data.birth_date)
        except NikProblem as problem:
            disagree["nik"] = problem.reason
    full_name = " ".join(data.full_name.split())
    if text_problem(data.full_name):
        problems["full_name"] = CHARACTER_INVALID
    elif len(full_name) < 2:
        problems["full_name"] = "NAME_REQUIRED"
    elif len(full_name) > NAME_MAX:
        problems["full_name"] = "TOO_LONG"
    try:
        phone = normalise_phone(data.phone)
    except ValueError:
        problems["phone"] = "PHONE_INVALID"
        phone = ""
    regency = region(data.regency_code)
    if regency is None or regency.level != "regency":
        problems["regency_code"] = "REGION_UNKNOWN"
    if data.education not in _EDUCATIONS:
        problems["education"] = "CHOICE_INVALID"
    if data.employment not in _EMPLOYMENTS:
        problems["employment"] = "CHOICE_INVALID"
    if not datetime.date(1900, 1, 1) <= data.birth_date <= timezone.localdate(timezone=WIB):
        disagree["birth_date"] = "BIRTH_DATE_INVALID"
    if password_rule:
        try:
            _password_rule(data.password, email, full_name)
        except FieldsDisagree as error:
            disagree.update(error.details)
        except ValidationFailed as error:
            problems.update(error.details)
    if problems:
        raise ValidationFailed(details={**problems, **disagree})
    if disagree:
        raise FieldsDisagree(details=disagree)
    clean = {
        "email": email,
        "full_name": full_name,
        "phone": phone,
        "regency_code": data.regency_code,
        "province_code": data.regency_code[:2],
        "birth_date": data.birth_date,
        "education": data.education,
        "employment": data.employment,
        "in_school": data.in_school,
        "language": "en" if data.language.startswith("en") else "id",
    }
    return clean, nik, sex


def _password_rule(password: str, email: str, full_name: str) -> None:
    """Django's password rules (settings.AUTH_PASSWORD_VALIDATORS): ValidationFailed for what the
    API's schema states (length, not only digits), FieldsDisagree for the rest (like the email or
    the name, or a common one); details {"password": {code, messages}}."""
    try:
        validate_password(password, user=cast(Any, _password_subject(email, full_name)))
    except ValidationError as error:
        details = {"password": {"code": "PASSWORD_WEAK", "messages": list(error.messages)}}
        if PASSWORD_MIN <= len(password) <= PASSWORD_MAX and re.fullmatch(
            PASSWORD_PATTERN, password
        ):
            raise FieldsDisagree(details=details) from None
        raise ValidationFailed(details=details) from None
    if not (
        PASSWORD_MIN <= len(password) <= PASSWORD_MAX and re.fullmatch(PASSWORD_PATTERN, password)
    ):
        raise ValidationFailed(details={"password": {"code": "PASSWORD_WEAK", "messages": []}})


def _password_subject(email: str, full_name: str) -> Registrant:
    """What UserAttributeSimilarityValidator compares the password with: an unsaved account (the
    validator names a similar attribute by the model field's verbose name)."""
    return Registrant(email=email, full_name=full_name)


@dataclass(frozen=True)
class SignUpReceipt:
    """What a sign-up answers, the same whether or not the email, NIK or phone is registered: the
    token that, with the code sent to the email, finishes the sign-up (sign_up_email_verify)."""

    token: str
    email: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    throttle_hit(key=f"signup:ip:{client_ip}", limit=SIGNUP_PER_IP)
    clean, nik, sex = _checked_sign_up(data)
    email = str(clean["email"])
    nik_index = crypto.blind_index(nik, purpose="nik")
    throttle_hit(key=f"signup:email:{_email_key(email)}", limit=SIGNUP_PER_EMAIL)
    throttle_hit(key=f"signup:nik:{nik_index}", limit=SIGNUP_PER_NIK)
    # The hash is the dearest step: every path pays it, so the answer takes as long either way.
    password = make_password(data.password)
    token = secrets.token_urlsafe(32)
    for attempt in range(3):
        try:
            with transaction.atomic():
                _sign_up_apply(clean, nik, sex, nik_index, password, _token_hash(token))
            break
        except IntegrityError:
            # A concurrent sign-up took this email, NIK or phone first: decide again, seeing it.
            if attempt == 2:
                raise
    return SignUpReceipt(token=token, email=email)


def _email_key(email: str) -> str:
    return crypto.blind_index(email.strip().lower(), purpose="email")


def _sign_up_apply(
    clean: dict[str, object],
    nik: str,
    sex: str,
    nik_index: str,
    password: str,
    token_hash: str,
) -> None:
    existing = Registrant.objects.select_for_update().filter(email=clean["email"]).first()
    if existing is not None and (existing.email_status != P or not existing.is_active):
        notify.sign_up_attempted(existing)
        return
    others = Registrant.objects.exclude(pk=existing.pk) if existing else Registrant.objects.all()
    nik_free = not others.filter(nik_index=nik_index).exists()
    phone_free = not others.filter(phone=clean["phone"], is_active=True).exists()
    fields: dict[str, object] = {
        **clean,
        "phone": clean["phone"] if phone_free else None,
        "password": password,
        "sex": sex,
        "nik_encrypted": crypto.encrypt(nik),
        "nik_index": nik_index if nik_free else None,
        "nik_last4": nik[-4:],
        "signup_token_hash": token_hash,
    }
    if existing is None:
        registrant = Registrant.objects.create(
            **fields,
            email_reason="AWAITING_EMAIL_CODE",
            nik_reason="WAITING_EARLIER_LAYER",
            phone_reason="WAITING_EARLIER_LAYER",
            eligibility_reason="WAITING_EARLIER_LAYER",
            face_reason="WAITING_EARLIER_LAYER",
        )
    else:
        registrant = existing
        for name, value in fields.items():
            setattr(registrant, name, value)
        registrant.save(update_fields=list(fields))
        from prakerja.audit.services import audit_record

        audit_record(
            actor=Actor.participant(registrant.pk),
            event_type="registration.sign_up_restarted",
            subject=registrant,
        )
    _send_email_code_quietly(registrant)


# --- email layer ---------------------------------------------------------------------------------

EMAIL_LINK_SALT = "prakerja.email-verify"


class CodeRefused(ApplicationError):
    """An emailed code refused where the caller is not signed in (finishing a sign-up, resetting a
    password): one answer for a wrong code, a used-up or expired one, and a receipt or an email with
    no account behind it, so a caller learns nothing about other accounts from it."""

    code = "CODE_INVALID"
    http_status = 401  # the code is the credential here, as the password is at sign-in
    message_id = (
        "Kode salah atau sudah tidak berlaku. Periksa email terbaru dari Kartu Prakerja, atau minta "
        "kode baru."
    )
    message_en = (
        "The code is wrong or no longer valid. Check the latest email from Kartu Prakerja, or ask "
        "for a new code."
    )


class LinkNeedsCode(ApplicationError):
    code = "LINK_NEEDS_CODE"
    http_status = 400
    message_id = (
        "Demi keamanan, tautan ini hanya berlaku di ponsel atau peramban tempat Anda mendaftar. "
        "Buka tautan di sana, atau masukkan kode 6 angka dari email di halaman pendaftaran."
    )
    message_en = (
        "For your safety this link works only on the phone or browser you signed up on. Open it "
        "there, or enter the 6-digit code from the email on the sign-up page."
    )


def email_link_token(registrant: Registrant) -> str:
    """The emailed link: this account, this address and this sign-up (a later sign-up of the same
    mailbox makes earlier links invalid)."""
    attempt = (registrant.signup_token_hash or "")[:16]
    return signing.TimestampSigner(salt=EMAIL_LINK_SALT).sign(
        f"{registrant.pk}:{attempt}:{registrant.email}"
    )


def _send_email_code(registrant: Registrant) -> None:
    throttle_hit(key=f"email-send:{registrant.pk}", limit=EMAIL_SENDS_PER_DAY)
    code = code_issue(registrant=registrant, purpose=CodePurpose.EMAIL, target=registrant.email)
    notify.email_verification(registrant, code=code, token=email_link_token(registrant))


def _send_email_code_quietly(registrant: Registrant) -> None:
    """Send a code unless the mailbox got one a moment ago or too many today; the caller's answer
    must not tell which (a code sent earlier keeps working)."""
    with contextlib.suppress(RateLimited, ResendTooSoon):
        _send_email_code(registrant)


def _awaiting_email(token: str) -> Registrant | None:
    return Registrant.objects.filter(
        signup_token_hash=_token_hash(token), email_status=P, is_active=True
    ).first()


def sign_up_email_verify(*, token: str, code: str, client_ip: str) -> Registrant:
    """Finish a sign-up: the receipt's token and the code from the email. Returns the account, now
    with its email proved, for the caller to sign in; CodeRefused otherwise, whatever the
    cause."""
    throttle_hit(key=f"otp-check:ip:{client_ip}", limit=OTP_CHECKS_PER_IP)
    throttle_hit(key=f"signup-code:{_token_hash(token)}", limit=SIGNUP_CODE_CHECKS_PER_TOKEN)
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
    throttle_hit(key=f"signup-resend:ip:{client_ip}", limit=SIGNUP_PER_IP)
    throttle_hit(key=f"signup-resend:{_token_hash(token)}", limit=EMAIL_SENDS_PER_DAY)
    registrant = _awaiting_email(token)
    if registrant is None:
        return
    with transaction.atomic():
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
    if not signup_token or _token_hash(signup_token) != registrant.signup_token_hash:
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
        if registrant.nik_index is None:
            # The NIK given at sign-up belongs to another account: nothing to ask the registry.
            layer_set(registrant, Layer.NIK, NO, reason="NIK_TAKEN", actor=NIK_TAKEN_ACTOR)
            holder = Registrant.objects.filter(
                nik_index=crypto.blind_index(
                    crypto.decrypt(registrant.nik_encrypted), purpose="nik"
                ),
                email_status=OK,
            ).first()
            if holder is not None:
                notify.nik_attempted(holder)
            return registrant
        layer_set(registrant, Layer.NIK, P, reason="REGISTRY_CHECKING", actor=actor)
        _queue_registry_check(registrant)
    return registrant


# --- NIK layer -----------------------------------------------------------------------------------


def _queue_registry_check(registrant: Registrant) -> None:
    """Queue the registry call after commit, and leave a retry time as a safety net: if the task is
    lost (broker down, worker killed), the periodic sweep asks the registry instead."""
    from prakerja.registration.tasks import registry_check_task

    registrant.registry_retry_at = timezone.now() + REGISTRY_SAFETY_NET
    registrant.save(update_fields=["registry_retry_at"])
    registrant_id = registrant.pk
    transaction.on_commit(lambda: registry_check_task.delay(registrant_id), robust=True)


def registrant_registry_check(*, registrant_id: int) -> Registrant:
    """Ask the registry for whichever layer waits on it (NIK, or the face check). While the registry
    is down the layer stays pending with a retry time; nothing is lost and nothing is failed."""
    registrant = Registrant.objects.get(pk=registrant_id)
    if registrant.nik_status == P and registrant.nik_reason in (
        "REGISTRY_CHECKING",
        "REGISTRY_RETRYING",
    ):
        return _nik_check(registrant)
    if registrant.face_status == P and registrant.face_reason in (
        "REGISTRY_CHECKING",
        "REGISTRY_RETRYING",
    ):
        return _face_check(registrant)
    # Nothing waits on the registry (settled meanwhile): stop the sweep from queuing this again.
    Registrant.objects.filter(pk=registrant.pk).update(registry_retry_at=None, registry_attempts=0)
    return registrant


def _nik_check(registrant: Registrant) -> Registrant:
    nik = crypto.decrypt(registrant.nik_encrypted)
    try:
        record = population_registry().lookup(nik)
    except RegistryUnavailable:
        return _registry_later(registrant.pk, Layer.NIK)
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        if registrant.nik_status != P:
            return registrant  # another worker settled it first
        actor = Actor.system("registry_check")
        reason, mismatched = "", []
        if record is None:
            reason = "NIK_NOT_FOUND"
        elif record.deceased:
            reason = "DECEASED"
        else:
            if not names_match(registrant.full_name, record.full_name):
                mismatched.append("full_name")
            if record.birth_date != registrant.birth_date:
                mismatched.append("birth_date")
            if mismatched:
                reason = "NAME_MISMATCH" if mismatched[0] == "full_name" else "BIRTH_DATE_MISMATCH"
        _registry_done(registrant)
        if reason:
            layer_set(
                registrant,
                Layer.NIK,
                NO,
                reason=reason,
                actor=actor,
                details={"fields": mismatched} if mismatched else None,
            )
            return registrant
        assert record is not None
        registrant.kk_index = crypto.blind_index(record.kk_number, purpose="kk")
        registrant.save(update_fields=["kk_index"])
        layer_set(registrant, Layer.NIK, OK, actor=actor)
        _start_phone_layer(registrant, actor=actor)
    return registrant


def _registry_later(registrant_id: int, layer: Layer) -> Registrant:
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant_id)
        attempt = registrant.registry_attempts
        wait = REGISTRY_RETRY_BACKOFF[min(attempt, len(REGISTRY_RETRY_BACKOFF) - 1)]
        registrant.registry_attempts = attempt + 1
        registrant.registry_retry_at = timezone.now() + datetime.timedelta(seconds=wait)
        registrant.save(update_fields=["registry_attempts", "registry_retry_at"])
        if getattr(registrant, f"{layer.value}_reason") != "REGISTRY_RETRYING":
            layer_set(
                registrant,
                layer,
                P,
                reason="REGISTRY_RETRYING",
                actor=Actor.system("registry_check"),
            )
    return registrant


def _registry_done(registrant: Registrant) -> None:
    registrant.registry_attempts = 0
    registrant.registry_retry_at = None
    registrant.save(update_fields=["registry_attempts", "registry_retry_at"])


def registry_retry_due(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """The periodic job: queue the registry check again for every registrant whose retry time has
    come. Returns how many were queued."""
    from prakerja.registration.tasks import registry_check_task

    due = list(
        Registrant.objects.filter(registry_retry_at__lte=now or timezone.now())
        .order_by("registry_retry_at")
        .values_list("pk", flat=True)[:limit]
    )
    for registrant_id in due:
        registry_check_task.delay(registrant_id)
    return len(due)


def nik_correct(*, registrant: Registrant, full_name: str, birth_date: datetime.date) -> Registrant:
    """After a name or birth-date mismatch the person fixes the typo and the registry is asked again.
    The NIK itself never changes: one NIK, one account."""
    if registrant.nik_status != NO or registrant.nik_reason not in (
        "NAME_MISMATCH",
        "BIRTH_DATE_MISMATCH",
    ):
        raise StepNotAvailable(details={"layer": "nik"})
    clean_name = " ".join(full_name.split())
    if text_problem(full_name):
        raise ValidationFailed(details={"full_name": CHARACTER_INVALID})
    if not 2 <= len(clean_name) <= NAME_MAX:
        raise ValidationFailed(
            details={"full_name": "NAME_REQUIRED" if len(clean_name) < 2 else "TOO_LONG"}
        )
    try:
        check_nik(crypto.decrypt(registrant.nik_encrypted), birth_date)
    except NikProblem as problem:
        # The date must be the one the NIK on record encodes: a rule of the stored NIK, not of the
        # field alone.
        raise FieldsDisagree(details={"birth_date": problem.reason}) from None
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        registrant.full_name, registrant.birth_date = clean_name, birth_date
        registrant.save(update_fields=["full_name", "birth_date"])
        layer_set(
            registrant,
            Layer.NIK,
            P,
            reason="REGISTRY_CHECKING",
            actor=Actor.participant(registrant.pk),
            details={"corrected": True},
        )
        _queue_registry_check(registrant)
    return registrant


# --- phone layer ---------------------------------------------------------------------------------


def _start_phone_layer(registrant: Registrant, *, actor: Actor) -> None:
    if registrant.phone is None:
        # The number given at sign-up is another account's: the person gives another one.
        layer_set(registrant, Layer.PHONE, P, reason="PHONE_TAKEN", actor=actor)
        return
    layer_set(registrant, Layer.PHONE, P, reason="AWAITING_PHONE_CODE", actor=actor)
    # If the number hit its cap, the passed NIK check stands; the person asks again later.
    with contextlib.suppress(RateLimited, ResendTooSoon):
        _send_phone_code(registrant, client_ip="system")


def _send_phone_code(registrant: Registrant, *, client_ip: str) -> None:
    assert registrant.phone
    throttle_hit(key=f"sms:number:{registrant.phone}", limit=SMS_PER_NUMBER_PER_DAY)
    throttle_hit(key=f"sms:account:{registrant.pk}", limit=SMS_PER_ACCOUNT_PER_DAY)
    if client_ip != "system":
        throttle_hit(key=f"sms:ip:{client_ip}", limit=SMS_PER_IP_PER_DAY)
    code = code_issue(registrant=registrant, purpose=CodePurpose.PHONE, target=registrant.phone)
    notify.phone_code(registrant, code=code)


def phone_resend(*, registrant: Registrant, client_ip: str) -> None:
    if registrant.phone_status != P or registrant.phone_reason != "AWAITING_PHONE_CODE":
        raise StepNotAvailable(details={"layer": "phone"})
    with transaction.atomic():
        _send_phone_code(registrant, client_ip=client_ip)


def phone_verify_code(*, registrant: Registrant, code: str, client_ip: str) -> Registrant:
    if registrant.phone_status != P or registrant.phone_reason != "AWAITING_PHONE_CODE":
        raise StepNotAvailable(details={"layer": "phone"})
    throttle_hit(key=f"otp-check:ip:{client_ip}", limit=OTP_CHECKS_PER_IP)
    code_check(registrant=registrant, purpose=CodePurpose.PHONE, code=code)
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        actor = Actor.participant(registrant.pk)
        layer_set(registrant, Layer.PHONE, OK, actor=actor)
        _eligibility_check(registrant, actor=Actor.system("eligibility"))
    return registrant


def phone_change(*, registrant: Registrant, phone: str, client_ip: str) -> Registrant:
    """A new number must be verified again. E-wallets keyed by the old number are unlinked and
    unpaid incentives held with PHONE_CHANGED until an account is linked again (program.md §5)."""
    if registrant.phone_status == P and registrant.phone_reason == "WAITING_EARLIER_LAYER":
        raise StepNotAvailable(details={"layer": "phone"})
    try:
        new_phone = normalise_phone(phone)
    except ValueError:
        raise ValidationFailed(details={"phone": "PHONE_INVALID"}) from None
    # Signed in, the person may learn that a number is taken; a day's cap keeps that from becoming
    # a way to test numbers by the thousand.
    throttle_hit(key=f"phone-change:{registrant.pk}", limit=PHONE_CHANGES_PER_DAY)
    if (
        Registrant.objects.filter(phone=new_phone, is_active=True)
        .exclude(pk=registrant.pk)
        .exists()
    ):
        raise PhoneTaken(details={"phone": "PHONE_TAKEN"})
    try:
        with transaction.atomic():
            registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
            registrant.phone = new_phone
            registrant.save(update_fields=["phone"])
            layer_set(
                registrant,
                Layer.PHONE,
                P,
                reason="AWAITING_PHONE_CODE",
                actor=Actor.participant(registrant.pk),
                details={"changed": True},
            )
            from prakerja.incentives.accounts import payment_accounts_phone_changed

            payment_accounts_phone_changed(
                registrant_id=registrant.pk, actor=Actor.participant(registrant.pk)
            )
            _send_phone_code(registrant, client_ip=client_ip)
    except IntegrityError:
        raise PhoneTaken(details={"phone": "PHONE_TAKEN"}) from None
    return registrant


# --- eligibility ---------------------------------------------------------------------------------


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _eligibility_check(registrant: Registrant, *, actor: Actor) -> None:
    """Age, formal education and exclusion lists; passing opens the face check."""
    scheme = scheme_active()
    today = timezone.localdate(timezone=WIB)
    # Eligibility follows a passed NIK layer, so the account holds its NIK.
    assert registrant.nik_index is not None
    categories = exclusion_categories_for(registrant.nik_index)
    details: dict[str, object] = {}
    if age_on(registrant.birth_date, today) < scheme.min_age_years:
        reason, details = "UNDER_AGE", {"min_age": scheme.min_age_years}
    elif registrant.in_school:
        reason = "IN_SCHOOL"
    elif categories:
        reason, details = "EXCLUDED", {"category": ", ".join(categories)}
    else:
        reason = ""
    outcome = NO if reason else OK
    if (registrant.eligibility_status, registrant.eligibility_reason) == (outcome, reason):
        return  # a re-check that changes nothing records nothing
    if reason:
        layer_set(registrant, Layer.ELIGIBILITY, NO, reason=reason, actor=actor, details=details)
        return
    layer_set(registrant, Layer.ELIGIBILITY, OK, actor=actor)
    if registrant.face_status == P and registrant.face_reason == "WAITING_EARLIER_LAYER":
        layer_set(registrant, Layer.FACE, P, reason="AWAITING_SELFIE", actor=actor)


def eligibility_recheck(*, registrant: Registrant, actor: Actor) -> Registrant:
    """Run the eligibility rules again (after an exclusion import or a profile change)."""
    if registrant.phone_status != OK:
        raise StepNotAvailable(details={"layer": "eligibility"})
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        _eligibility_check(registrant, actor=actor)
    return registrant


# --- face check ----------------------------------------------------------------------------------


def stripped_image(data: bytes) -> bytes:
    """Decode, check and re-encode as JPEG without any metadata (EXIF holds GPS and device data)."""
    if len(data) > SELFIE_MAX_BYTES or not data:
        raise SelfieInvalid(details={"selfie": "SELFIE_TOO_LARGE" if data else "SELFIE_EMPTY"})
    try:
        return jpeg_without_metadata(data)
    except NotAPicture:
        raise SelfieInvalid(details={"selfie": "SELFIE_FORMAT"}) from None


def face_submit(*, registrant: Registrant, image: bytes) -> Registrant:
    allowed = registrant.face_status == P and registrant.face_reason == "AWAITING_SELFIE"
    retry = registrant.face_status == NO and registrant.face_reason == "FACE_MISMATCH"
    if not (allowed or retry):
        raise StepNotAvailable(details={"layer": "face"})
    clean = stripped_image(image)
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        registrant.pending_selfie = clean
        registrant.save(update_fields=["pending_selfie"])
        layer_set(
            registrant,
            Layer.FACE,
            P,
            reason="REGISTRY_CHECKING",
            actor=Actor.participant(registrant.pk),
        )
        _queue_registry_check(registrant)
    return registrant


def _face_check(registrant: Registrant) -> Registrant:
    nik = crypto.decrypt(registrant.nik_encrypted)
    try:
        result = population_registry().face_match(nik, bytes(registrant.pending_selfie or b""))
    except RegistryUnavailable:
        return _registry_later(registrant.pk, Layer.FACE)
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        if registrant.face_status != P:
            return registrant
        _registry_done(registrant)
        # The selfie is not kept once the registry has answered (data minimisation).
        registrant.pending_selfie = None
        registrant.save(update_fields=["pending_selfie"])
        actor = Actor.system("face_check")
        details = {"score": round(result.score, 3)}
        if result.matched:
            layer_set(registrant, Layer.FACE, OK, actor=actor, details=details)
        else:
            layer_set(
                registrant, Layer.FACE, NO, reason="FACE_MISMATCH", actor=actor, details=details
            )
    return registrant


# --- sign-in and password --------------------------------------------------------------------------

_DUMMY_HASH = make_password("prakerja-timing-equaliser")


def registrant_authenticate(*, email: str, password: str, client_ip: str) -> Registrant:
    """The same answer and about the same time whether or not the email has an account, so sign-in
    cannot tell anyone which emails are registered. An account whose email was never proved cannot
    sign in with its password either: its sign-up is finished with the emailed code on the device
    that made it (or made again), else signing in would tell a stranger which sign-ups went
    through. Failures lock the email for a while."""
    email = email.strip().lower()
    throttle_hit(key=f"login:ip:{client_ip}", limit=LOGIN_PER_IP)
    failures_key = f"login-fail:email:{_email_key(email)}"
    if (
        throttle_count(key=failures_key, limit=LOGIN_FAILURES_PER_EMAIL)
        >= LOGIN_FAILURES_PER_EMAIL.hits
    ):
        locked_for = LOGIN_FAILURES_PER_EMAIL.seconds
        raise AccountLocked(details={"retry_after_s": locked_for}, minutes=locked_for // 60)
    registrant = Registrant.objects.filter(email=email, is_active=True).first()
    valid = check_password(password, registrant.password if registrant else _DUMMY_HASH)
    if registrant is None or not valid or registrant.email_status != OK:
        throttle_hit(
            key=failures_key, limit=Limit(hits=10**6, seconds=LOGIN_FAILURES_PER_EMAIL.seconds)
        )
        raise InvalidCredentials()
    return registrant


RESET_SALT = "prakerja.password-reset"


def password_reset_request(*, email: str, client_ip: str) -> None:
    """Always the same answer for the caller, in about the same time; an email goes out only when
    an account with that (proved) email exists, and at most once a minute and three times an
    hour."""
    email = email.strip().lower()
    throttle_hit(key=f"reset:ip:{client_ip}", limit=RESET_PER_IP)
    throttle_hit(key=f"reset:email:{_email_key(email)}", limit=RESET_PER_EMAIL)
    registrant = Registrant.objects.filter(email=email, is_active=True, email_status=OK).first()
    if registrant is None:
        return
    # A reset asked again within a minute keeps the code already sent; saying so would tell the
    # caller that the email has an account.
    with contextlib.suppress(ResendTooSoon), transaction.atomic():
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
        throttle_hit(key=f"reset-check:{_email_key(email)}", limit=RESET_CHECKS_PER_EMAIL)
    _password_rule(new_password, email, "")
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
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        registrant.password = make_password(new_password)
        registrant.save(update_fields=["password"])
        registrant.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        from prakerja.audit.services import audit_record

        audit_record(
            actor=Actor.participant(registrant.pk),
            event_type="registration.password_reset",
            subject=registrant,
        )
    return registrant


def registrant_get(*, registrant_id: int) -> Registrant:
    registrant = Registrant.objects.filter(pk=registrant_id, is_active=True).first()
    if registrant is None:
        raise NotFound()
    return registrant
