"""The rules of registration, stated once: which fields a sign-up keeps, and how each verification
layer decides from what it has read. Pure functions of values already read (no queries): the
per-request services (signup.py, registry.py, phone.py, eligibility.py) and their set-based twins
(bulk*.py) both call them, so the two paths cannot drift apart. The paths differ only in what they
read and write at once, and in that the set-based one sends no messages."""

import dataclasses
import datetime
import re
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from prakerja.common import clock, crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import FieldsDisagree, ValidationFailed
from prakerja.common.images import NotAPicture, jpeg_without_metadata
from prakerja.common.text import CHARACTER_INVALID, text_problem
from prakerja.integrations.population import FaceResult, RegistryRecord
from prakerja.registration.errors import SelfieInvalid
from prakerja.registration.field_rules import (
    EMAIL_MAX,
    EMAIL_PATTERN,
    NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PASSWORD_PATTERN,
    phone_e164,
)
from prakerja.registration.models import Education, Employment, Layer, LayerStatus, Registrant
from prakerja.registration.names import names_match
from prakerja.registration.nik import NikProblem, check_nik, normalise_nik, parse_nik
from prakerja.registration.regions import region

P, OK, NO = LayerStatus.PENDING, LayerStatus.PASSED, LayerStatus.FAILED

SELFIE_MAX_BYTES = 5 * 1024 * 1024
NIK_TAKEN_ACTOR = Actor.system("nik_taken")
REGISTRY_ACTOR = Actor.system("registry_check")
ELIGIBILITY_ACTOR = Actor.system("eligibility")
FACE_ACTOR = Actor.system("face_check")
REGISTRY_RETRY_BACKOFF = (60, 120, 300, 600, 1800, 3600)  # seconds, then hourly
REGISTRY_SAFETY_NET = datetime.timedelta(minutes=5)
WAITING_ON_REGISTRY = ("REGISTRY_CHECKING", "REGISTRY_RETRYING")
# Where a new account's layers start: the email code is on its way, the rest wait their turn.
INITIAL_REASONS = {layer: "WAITING_EARLIER_LAYER" for layer in Layer} | {
    Layer.EMAIL: "AWAITING_EMAIL_CODE"
}
PHONE_AWAITING_CODE = (P, "AWAITING_PHONE_CODE")  # the one state a phone code is taken in
FACE_OPENS_FROM = (P, "WAITING_EARLIER_LAYER")
# The two states a selfie is taken in: awaiting one, or a retry after a mismatch.
FACE_SUBMIT_FROM = ((P, "AWAITING_SELFIE"), (NO, "FACE_MISMATCH"))


# --- sign-up -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignUpFields:
    """What a person enters at sign-up but the password: the batch path's people (who sign in by
    one-time code) are just these."""

    email: str
    nik: str
    full_name: str
    birth_date: datetime.date
    phone: str
    regency_code: str
    education: str
    employment: str
    in_school: bool

    def fields(self) -> dict[str, Any]:
        """These fields alone (not those a subclass adds), as keyword arguments."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(SignUpFields)}


@dataclass(frozen=True)
class SignUp(SignUpFields):
    password: str
    language: str = "id"


def normalise_phone(raw: str) -> str:
    """Indonesian mobile numbers in any common spelling (0812…, 62812…, +62 812-…) to E.164, by
    the pattern the participant API's schema states (field_rules.PHONE_PATTERN)."""
    return phone_e164(raw.strip())


_EDUCATIONS = frozenset(Education.values)  # `.values` builds its list on every call
_EMPLOYMENTS = frozenset(Employment.values)


def sign_up_checked(
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
    name_problem = full_name_problem(data.full_name)
    if name_problem:
        problems["full_name"] = name_problem
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
    if not datetime.date(1900, 1, 1) <= data.birth_date <= clock.today():
        disagree["birth_date"] = "BIRTH_DATE_INVALID"
    if password_rule:
        try:
            password_check(data.password, email, full_name)
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


def full_name_problem(raw: str) -> str:
    """The reason a full name is refused (empty when it is fine), at sign-up and when corrected."""
    clean = " ".join(raw.split())
    if text_problem(raw):
        return CHARACTER_INVALID
    if len(clean) < 2:
        return "NAME_REQUIRED"
    if len(clean) > NAME_MAX:
        return "TOO_LONG"
    return ""


def password_check(password: str, email: str, full_name: str) -> None:
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


def sign_up_fields(
    clean: dict[str, object],
    nik: str,
    sex: str,
    nik_index: str,
    *,
    nik_held: bool,
    phone_used: bool,
) -> dict[str, object]:
    """The columns a sign-up writes from its checked values (all but the password and the
    receipt). A NIK another account holds is kept but not claimed (NIK_TAKEN once the email is
    proved); a phone another active account uses is not kept (the phone layer asks for another)."""
    return {
        **clean,
        "phone": None if phone_used else clean["phone"],
        "sex": sex,
        "nik_encrypted": crypto.encrypt(nik),
        "nik_index": None if nik_held else nik_index,
        "nik_last4": nik[-4:],
    }


# --- email and NIK -------------------------------------------------------------------------------


def nik_after_email(*, nik_claimed: bool) -> tuple[LayerStatus, str, Actor | None]:
    """The NIK layer once the email is proved: it waits on the registry, or fails NIK_TAKEN (by
    NIK_TAKEN_ACTOR, nothing to ask) when the NIK given at sign-up belongs to another account.
    The actor is None where the caller's own is recorded."""
    if nik_claimed:
        return P, "REGISTRY_CHECKING", None
    return NO, "NIK_TAKEN", NIK_TAKEN_ACTOR


class NikVerdict(NamedTuple):
    status: LayerStatus  # passed or failed
    reason: str
    details: dict[str, Any] | None
    kk_index: str | None  # the family card's blind index, of a passed NIK


def nik_verdict(
    record: RegistryRecord | None, full_name: str, birth_date: datetime.date
) -> NikVerdict:
    """The registry's record decides the NIK layer: not found, deceased, or the name or birth date
    given differ from the record's (the first that differs names the reason; details list all)."""
    if record is None:
        return NikVerdict(NO, "NIK_NOT_FOUND", None, None)
    if record.deceased:
        return NikVerdict(NO, "DECEASED", None, None)
    mismatched = []
    if not names_match(full_name, record.full_name):
        mismatched.append("full_name")
    if record.birth_date != birth_date:
        mismatched.append("birth_date")
    if mismatched:
        reason = "NAME_MISMATCH" if mismatched[0] == "full_name" else "BIRTH_DATE_MISMATCH"
        return NikVerdict(NO, reason, {"fields": mismatched}, None)
    return NikVerdict(OK, "", None, crypto.blind_index(record.kk_number, purpose="kk"))


def registry_retry_wait(attempts: int) -> datetime.timedelta:
    """How long a layer waits for the registry after `attempts` failed calls: backing off, then
    hourly."""
    seconds = REGISTRY_RETRY_BACKOFF[min(attempts, len(REGISTRY_RETRY_BACKOFF) - 1)]
    return datetime.timedelta(seconds=seconds)


def retry_is_a_step(reason: str) -> bool:
    """Only the first outage of a wait is a layer change (to REGISTRY_RETRYING); later ones only
    move the retry time."""
    return reason != "REGISTRY_RETRYING"


# --- phone and eligibility -----------------------------------------------------------------------


def phone_opening(phone: str | None) -> str:
    """How the phone layer opens once the NIK passes: with the SMS code, or asking for another
    number when the one given at sign-up is another account's (not kept)."""
    return "PHONE_TAKEN" if phone is None else "AWAITING_PHONE_CODE"


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def eligibility_verdict(
    *,
    birth_date: datetime.date,
    in_school: bool,
    categories: list[str],
    min_age: int,
    today: datetime.date,
) -> tuple[LayerStatus, str, dict[str, Any]]:
    """Age, formal education and exclusion lists (`categories`: the lists the NIK is on, sorted),
    in that order: the outcome, its reason and details."""
    if age_on(birth_date, today) < min_age:
        return NO, "UNDER_AGE", {"min_age": min_age}
    if in_school:
        return NO, "IN_SCHOOL", {}
    if categories:
        return NO, "EXCLUDED", {"category": ", ".join(categories)}
    return OK, "", {}


def eligibility_moves(current: tuple[str, str], status: str, reason: str) -> bool:
    """A re-check that changes nothing records nothing."""
    return tuple(current) != (status, reason)


def face_opens(status: str, face: tuple[str, str]) -> bool:
    """Passing eligibility opens the face check, when it was waiting for it."""
    return status == OK and tuple(face) == FACE_OPENS_FROM


# --- face ----------------------------------------------------------------------------------------


def face_submit_allowed(status: str, reason: str) -> bool:
    return (status, reason) in FACE_SUBMIT_FROM


def stripped_image(data: bytes) -> bytes:
    """Decode, check and re-encode as JPEG without any metadata (EXIF holds GPS and device data)."""
    if len(data) > SELFIE_MAX_BYTES or not data:
        raise SelfieInvalid(details={"selfie": "SELFIE_TOO_LARGE" if data else "SELFIE_EMPTY"})
    try:
        return jpeg_without_metadata(data)
    except NotAPicture:
        raise SelfieInvalid(details={"selfie": "SELFIE_FORMAT"}) from None


def face_verdict(result: FaceResult) -> tuple[LayerStatus, str, dict[str, Any]]:
    """The registry's comparison decides the face layer, with its score."""
    details = {"score": round(result.score, 3)}
    if result.matched:
        return OK, "", details
    return NO, "FACE_MISMATCH", details
