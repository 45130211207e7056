"""The rules of single sign-up fields written as regular expressions, so that the participant API's
schema states them as `pattern`s and the services check the very same expressions: a value the
schema accepts is one the service accepts (tests/registration/test_field_rules.py checks the NIK
pattern against nik.parse_nik both ways).

What no pattern can say is checked by the services and answered 409 FIELDS_DISAGREE: a birth date
the NIK does not encode, a birth date in the future, a password like the email or the name, or
among the common ones."""

import functools
import re

import phonenumbers

from prakerja.common.text import REFUSED_ALWAYS
from prakerja.registration.regions import provinces, regencies

NAME_MAX = 150  # Registrant.full_name
EMAIL_MAX = 254  # Registrant.email
PASSWORD_MIN = 8  # Django's MinimumLengthValidator, settings.AUTH_PASSWORD_VALIDATORS
PASSWORD_MAX = 128
# Not only digits (Django's NumericPasswordValidator), and the one text policy.
PASSWORD_PATTERN = rf"^[^{REFUSED_ALWAYS}]*[^0-9{REFUSED_ALWAYS}][^{REFUSED_ALWAYS}]*$"
CODE_PATTERN = r"^[0-9]{6}$"  # the six digits of an emailed or texted code
# An email address in the everyday form: a local part of up to 64 characters (no dot at either
# end), one to three host labels of up to 40 letters, digits and hyphens, a top-level domain of 2 to
# 24 letters; at most 212 characters, so the pattern alone bounds the length. Stricter than Django's
# validator (no quoted local parts, no address literals, no internationalised names), so every
# address the schema admits is one a mail server takes.
_ATOM = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LOCAL = rf"[{_ATOM}](?:[.{_ATOM}]{{0,62}}[{_ATOM}])?"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_LOCAL}@(?:{_LABEL}\.){{1,3}}[A-Za-z]{{2,24}}$"

# Indonesian mobile numbers as people write them: +62, 62 or 0, then 8 and the operator's digit,
# then 7 to 10 digits (10 to 13 digits in the national form), spaces or hyphens between groups.
PHONE_PATTERN = r"^(?:\+62|62|0)[ -]?8[1-9](?:[ -]?[0-9]){7,10}$"
_PHONE = re.compile(PHONE_PATTERN)
_PHONE_SEPARATORS = re.compile(r"[ -]")


def phone_e164(raw: str) -> str:
    """A mobile number in E.164 (+628…), or ValueError("PHONE_INVALID"). The pattern decides what
    is a number (phonenumbers' own validity tables would refuse numbers the schema promises to
    take); phonenumbers writes it."""
    if not _PHONE.fullmatch(raw):
        raise ValueError("PHONE_INVALID")
    number = phonenumbers.parse(_PHONE_SEPARATORS.sub("", raw), "ID")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# NIK: province and regency of the official tables (digits 1–4), district (5–6), the birth date
# DDMMYY with 40 added to the day for women (any day of the month in a leap year), and a serial
# that is not 0000.
_DAY_MONTH = (
    r"(?:(?:0[1-9]|[12][0-9]|4[1-9]|[56][0-9])(?:0[1-9]|1[0-2])"
    r"|(?:30|70)(?:0[13-9]|1[0-2])"
    r"|(?:31|71)(?:0[13578]|1[02]))"
)
_SERIAL = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"


@functools.cache
def nik_pattern() -> str:
    known = {p.code for p in provinces()}
    by_province: dict[str, list[str]] = {}
    for regency in regencies():
        if regency.province_code in known:
            by_province.setdefault(regency.province_code, []).append(regency.code[3:5])
    prefixes = "|".join(
        f"{province}(?:{'|'.join(sorted(set(codes)))})"
        for province, codes in sorted(by_province.items())
    )
    return rf"^(?:{prefixes})[0-9]{{2}}{_DAY_MONTH}[0-9]{{2}}{_SERIAL}$"


def regency_codes() -> list[str]:
    """Regency codes a registrant may live in (dotted, as the sign-up takes them)."""
    return sorted(r.code for r in regencies())
