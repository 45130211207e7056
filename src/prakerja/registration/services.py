"""Registration and its verification layers (program.md §2): email → NIK → phone → eligibility →
face check. Each layer's outcome is recorded by `layers.layer_set`; calls to the registry and the SMS
gateway happen in tasks queued on commit, so a slow or broken partner never holds a request open."""

import contextlib
import datetime
from dataclasses import dataclass
from typing import Any, cast

import phonenumbers
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from prakerja.common.images import NotAPicture, jpeg_without_metadata
from prakerja.common.timeutil import WIB
from prakerja.integrations.population import RegistryUnavailable, population_registry
from prakerja.registration import notify
from prakerja.registration.codes import ResendTooSoon, code_check, code_issue
from prakerja.registration.exclusions import exclusion_categories_for
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
from prakerja.registration.nik import NikProblem, check_nik, normalise_nik
from prakerja.registration.regions import region
from prakerja.throttle.services import Limit, RateLimited, throttle_count, throttle_hit
from prakerja.waves.selectors import scheme_active

P, OK, NO = LayerStatus.PENDING, LayerStatus.PASSED, LayerStatus.FAILED

SIGNUP_PER_IP = Limit(hits=20, seconds=3600)
LOGIN_PER_IP = Limit(hits=60, seconds=900)
LOGIN_FAILURES_PER_EMAIL = Limit(hits=5, seconds=900)
RESET_PER_IP = Limit(hits=10, seconds=3600)
RESET_PER_EMAIL = Limit(hits=3, seconds=3600)
EMAIL_SENDS_PER_DAY = Limit(hits=5, seconds=86400)
SMS_PER_NUMBER_PER_DAY = Limit(hits=5, seconds=86400)
SMS_PER_IP_PER_DAY = Limit(hits=20, seconds=86400)
OTP_CHECKS_PER_IP = Limit(hits=30, seconds=900)
SELFIE_MAX_BYTES = 5 * 1024 * 1024
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
    """Indonesian mobile numbers in any common spelling (0812…, 62812…, +62 812-…) to E.164."""
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        raise ValueError("PHONE_INVALID") from None
    if (
        number.country_code != 62
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number)
        not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
    ):
        raise ValueError("PHONE_INVALID")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EDUCATIONS = frozenset(Education.values)  # `.values` builds its list on every call
_EMPLOYMENTS = frozenset(Employment.values)


def _checked_sign_up(
    data: SignUp, *, password_rule: bool = True
) -> tuple[dict[str, object], str, str]:
    """All field rules at once, so the form shows every problem together. Returns the clean values,
    the NIK and its sex, or raises ValidationFailed with details {field: reason code}. Without
    `password_rule` (a sign-up with no password: one-time codes only) the password is not checked."""
    problems: dict[str, object] = {}
    email = data.email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        problems["email"] = "EMAIL_INVALID"
    nik = normalise_nik(data.nik)
    sex = ""
    try:
        sex = check_nik(nik, data.birth_date).sex
    except NikProblem as problem:
        problems["nik"] = problem.reason
    full_name = " ".join(data.full_name.split())
    if len(full_name) < 2:
        problems["full_name"] = "NAME_REQUIRED"
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
        problems["birth_date"] = "BIRTH_DATE_INVALID"
    try:
        if password_rule:
            validate_password(data.password, user=cast(Any, _PasswordSubject)(email, full_name))
    except ValidationError as error:
        problems["password"] = {
            "code": "PASSWORD_WEAK",
            "messages": [str(m) for m in error.messages],
        }
    if problems:
        raise ValidationFailed(details=problems)
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


@dataclass(frozen=True)
class _PasswordSubject:
    """What UserAttributeSimilarityValidator compares the password with."""

    email: str
    full_name: str


def registrant_sign_up(*, data: SignUp, client_ip: str, actor: Actor | None = None) -> Registrant:
    """Create the account with every layer pending and send the email code. Refused input raises
    ValidationFailed naming each field and writes nothing."""
    throttle_hit(key=f"signup:ip:{client_ip}", limit=SIGNUP_PER_IP)
    clean, nik, sex = _checked_sign_up(data)
    nik_index = crypto.blind_index(nik, purpose="nik")
    taken: dict[str, object] = {}
    if Registrant.objects.filter(nik_index=nik_index).exists():
        taken["nik"] = "NIK_TAKEN"
    if Registrant.objects.filter(email=clean["email"]).exists():
        taken["email"] = "EMAIL_TAKEN"
    if Registrant.objects.filter(phone=clean["phone"], is_active=True).exists():
        taken["phone"] = "PHONE_TAKEN"
    if taken:
        raise ValidationFailed(details=taken)
    try:
        with transaction.atomic():
            registrant = Registrant.objects.create(
                **clean,
                password=make_password(data.password),
                sex=sex,
                nik_encrypted=crypto.encrypt(nik),
                nik_index=nik_index,
                nik_last4=nik[-4:],
                email_reason="AWAITING_EMAIL_CODE",
                nik_reason="WAITING_EARLIER_LAYER",
                phone_reason="WAITING_EARLIER_LAYER",
                eligibility_reason="WAITING_EARLIER_LAYER",
                face_reason="WAITING_EARLIER_LAYER",
            )
            _send_email_code(registrant)
    except IntegrityError:
        # Two sign-ups with one NIK (or email, or phone) at once: the database lets one through.
        raise ValidationFailed(details=_which_is_taken(nik_index, clean)) from None
    return registrant


def _which_is_taken(nik_index: str, clean: dict[str, object]) -> dict[str, object]:
    details: dict[str, object] = {}
    if Registrant.objects.filter(nik_index=nik_index).exists():
        details["nik"] = "NIK_TAKEN"
    if Registrant.objects.filter(email=clean["email"]).exists():
        details["email"] = "EMAIL_TAKEN"
    if Registrant.objects.filter(phone=clean["phone"], is_active=True).exists():
        details["phone"] = "PHONE_TAKEN"
    return details or {"account": "TAKEN"}


# --- email layer ---------------------------------------------------------------------------------

EMAIL_LINK_SALT = "prakerja.email-verify"


def email_link_token(registrant: Registrant) -> str:
    return signing.TimestampSigner(salt=EMAIL_LINK_SALT).sign(f"{registrant.pk}:{registrant.email}")


def _send_email_code(registrant: Registrant) -> None:
    throttle_hit(key=f"email-send:{registrant.pk}", limit=EMAIL_SENDS_PER_DAY)
    code = code_issue(registrant=registrant, purpose=CodePurpose.EMAIL, target=registrant.email)
    notify.email_verification(registrant, code=code, token=email_link_token(registrant))


def email_resend(*, registrant: Registrant) -> None:
    if registrant.email_status != P:
        raise StepNotAvailable(details={"layer": "email"})
    with transaction.atomic():
        _send_email_code(registrant)


def email_verify_code(*, registrant: Registrant, code: str, client_ip: str) -> Registrant:
    if registrant.email_status != P:
        raise StepNotAvailable(details={"layer": "email"})
    throttle_hit(key=f"otp-check:ip:{client_ip}", limit=OTP_CHECKS_PER_IP)
    code_check(registrant=registrant, purpose=CodePurpose.EMAIL, code=code)
    return _email_passed(registrant.pk, how="code")


def email_verify_link(*, token: str) -> Registrant:
    try:
        value = signing.TimestampSigner(salt=EMAIL_LINK_SALT).unsign(
            token, max_age=datetime.timedelta(hours=24)
        )
    except signing.BadSignature:
        raise LinkInvalid() from None
    registrant_id, email = value.split(":", 1)
    registrant = Registrant.objects.filter(pk=int(registrant_id), email=email).first()
    if registrant is None:
        raise LinkInvalid()
    if registrant.email_status == OK:
        return registrant  # a second click on the same link is fine
    return _email_passed(registrant.pk, how="link")


def _email_passed(registrant_id: int, *, how: str) -> Registrant:
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant_id)
        if registrant.email_status == OK:
            return registrant
        actor = Actor.participant(registrant.pk)
        layer_set(registrant, Layer.EMAIL, OK, actor=actor, details={"via": how})
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
    problems: dict[str, object] = {}
    clean_name = " ".join(full_name.split())
    if len(clean_name) < 2:
        problems["full_name"] = "NAME_REQUIRED"
    try:
        check_nik(crypto.decrypt(registrant.nik_encrypted), birth_date)
    except NikProblem as problem:
        problems["birth_date"] = problem.reason
    if problems:
        raise ValidationFailed(details=problems)
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
    layer_set(registrant, Layer.PHONE, P, reason="AWAITING_PHONE_CODE", actor=actor)
    # If the number hit its cap, the passed NIK check stands; the person asks again later.
    with contextlib.suppress(RateLimited, ResendTooSoon):
        _send_phone_code(registrant, client_ip="system")


def _send_phone_code(registrant: Registrant, *, client_ip: str) -> None:
    assert registrant.phone
    throttle_hit(key=f"sms:number:{registrant.phone}", limit=SMS_PER_NUMBER_PER_DAY)
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
    if (
        Registrant.objects.filter(phone=new_phone, is_active=True)
        .exclude(pk=registrant.pk)
        .exists()
    ):
        raise ValidationFailed(details={"phone": "PHONE_TAKEN"})
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
        raise ValidationFailed(details={"phone": "PHONE_TAKEN"}) from None
    return registrant


# --- eligibility ---------------------------------------------------------------------------------


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _eligibility_check(registrant: Registrant, *, actor: Actor) -> None:
    """Age, formal education and exclusion lists; passing opens the face check."""
    scheme = scheme_active()
    today = timezone.localdate(timezone=WIB)
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
    cannot tell anyone which emails are registered. Failures lock the email for a while."""
    email = email.strip().lower()
    throttle_hit(key=f"login:ip:{client_ip}", limit=LOGIN_PER_IP)
    failures_key = f"login-fail:email:{crypto.blind_index(email, purpose='email')}"
    if (
        throttle_count(key=failures_key, limit=LOGIN_FAILURES_PER_EMAIL)
        >= LOGIN_FAILURES_PER_EMAIL.hits
    ):
        raise AccountLocked(minutes=LOGIN_FAILURES_PER_EMAIL.seconds // 60)
    registrant = Registrant.objects.filter(email=email, is_active=True).first()
    valid = check_password(password, registrant.password if registrant else _DUMMY_HASH)
    if registrant is None or not valid:
        throttle_hit(
            key=failures_key, limit=Limit(hits=10**6, seconds=LOGIN_FAILURES_PER_EMAIL.seconds)
        )
        raise InvalidCredentials()
    return registrant


RESET_SALT = "prakerja.password-reset"


def password_reset_request(*, email: str, client_ip: str) -> None:
    """Always the same outcome for the caller; an email goes out only when the account exists."""
    email = email.strip().lower()
    throttle_hit(key=f"reset:ip:{client_ip}", limit=RESET_PER_IP)
    throttle_hit(
        key=f"reset:email:{crypto.blind_index(email, purpose='email')}", limit=RESET_PER_EMAIL
    )
    registrant = Registrant.objects.filter(email=email, is_active=True).first()
    if registrant is None:
        return
    with transaction.atomic():
        code = code_issue(registrant=registrant, purpose=CodePurpose.RESET, target=email)
        token = signing.TimestampSigner(salt=RESET_SALT).sign(f"{registrant.pk}:{code}")
        notify.password_reset(registrant, code=code, token=token)


def password_reset_confirm(
    *, email: str = "", code: str = "", token: str = "", new_password: str
) -> Registrant:
    """Set a new password with the emailed code (app) or the emailed link's token (web)."""
    if token:
        try:
            value = signing.TimestampSigner(salt=RESET_SALT).unsign(token, max_age=3600)
        except signing.BadSignature:
            raise LinkInvalid() from None
        registrant_id, code = value.split(":", 1)
        registrant = Registrant.objects.filter(pk=int(registrant_id), is_active=True).first()
    else:
        registrant = Registrant.objects.filter(email=email.strip().lower(), is_active=True).first()
    if registrant is None:
        raise LinkInvalid()
    try:
        validate_password(
            new_password, user=cast(Any, _PasswordSubject)(registrant.email, registrant.full_name)
        )
    except ValidationError as error:
        raise ValidationFailed(
            details={
                "password": {"code": "PASSWORD_WEAK", "messages": [str(m) for m in error.messages]}
            }
        ) from None
    code_check(registrant=registrant, purpose=CodePurpose.RESET, code=code)
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
