"""Reads of the participant look-up (issue 9): who matches a key (console/timeline.py: what
happened to them).

A NIK is found through its blind index, never by decrypting stored NIKs; a phone number is
normalised as registration stores it; an email is lower-cased as registration stores it (an exact
match, so the unique index serves it); a card number is checked against its Luhn digit first.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prakerja.common import crypto
from prakerja.common.errors import ValidationFailed
from prakerja.registration.models import Registrant
from prakerja.registration.nik import normalise_nik
from prakerja.registration.rules import normalise_phone
from prakerja.waves.cards import luhn_valid

MAX_RESULTS = 50  # one phone number can belong to several closed accounts; never a full table


class KeyKind(TextChoices):
    AUTO = "auto", gettext_lazy("Detect automatically")
    NIK = "nik", gettext_lazy("NIK")
    PHONE = "phone", gettext_lazy("Phone number")
    EMAIL = "email", gettext_lazy("Email")
    CARD = "card", gettext_lazy("Card number")


class LookupKeyInvalid(ValidationFailed):
    code = "LOOKUP_KEY_INVALID"
    message_id = "Kata kunci pencarian tidak sesuai dengan jenisnya."
    message_en = "The search key does not fit its kind."


class CardCheckDigitWrong(ValidationFailed):
    code = "CARD_CHECK_DIGIT_WRONG"
    message_id = "Angka terakhir nomor kartu (digit pemeriksa) salah: periksa kembali nomornya."
    message_en = "The card number's last (check) digit is wrong: check the number again."


_DIGITS_ONLY = re.compile(r"^\d+$")


def key_kind_detect(key: str) -> str:
    """An email has an @; sixteen digits are a NIK or a card number (both are searched); other
    numbers are phone numbers."""
    if "@" in key:
        return KeyKind.EMAIL
    digits = normalise_nik(key)
    if len(digits) == 16 and _DIGITS_ONLY.match(digits):
        return KeyKind.NIK
    return KeyKind.PHONE


@dataclass(frozen=True)
class SearchResult:
    kind: str  # the kind searched (after detection)
    registrants: list[Registrant]
    card_searched: bool = False  # sixteen digits in auto mode: tried as a card number as well
    note: str = ""  # what the operator should know about the key (a card's wrong check digit)


def _registrants(**filters: Any) -> list[Registrant]:
    return list(
        Registrant.objects.filter(**filters)
        .select_related("participant")
        .order_by("-is_active", "pk")[:MAX_RESULTS]
    )


def _by_nik(key: str) -> list[Registrant]:
    nik = normalise_nik(key)
    if not (len(nik) == 16 and _DIGITS_ONLY.match(nik)):
        raise LookupKeyInvalid(details={"nik": "NIK_FORMAT"})
    return _registrants(nik_index=crypto.blind_index(nik, purpose="nik"))


def _by_phone(key: str) -> list[Registrant]:
    try:
        phone = normalise_phone(key)
    except ValueError:
        raise LookupKeyInvalid(details={"phone": "PHONE_INVALID"}) from None
    return _registrants(phone=phone)


def _by_email(key: str) -> list[Registrant]:
    email = key.strip().lower()
    if "@" not in email:
        raise LookupKeyInvalid(details={"email": "EMAIL_INVALID"})
    return _registrants(email=email)


def _card_number(key: str) -> str:
    number = normalise_nik(key)
    if not (len(number) == 16 and _DIGITS_ONLY.match(number)):
        raise LookupKeyInvalid(details={"card": "CARD_FORMAT"})
    if not luhn_valid(number):
        raise CardCheckDigitWrong(details={"card": "CARD_CHECK_DIGIT_WRONG"})
    return number


def _by_card(key: str) -> list[Registrant]:
    return _registrants(participant__card_number=_card_number(key))


def registrants_find(*, key: str, kind: str = KeyKind.AUTO) -> SearchResult:
    """The registrants the key names. Raises LookupKeyInvalid or CardCheckDigitWrong when the key
    cannot be of its kind. In auto mode sixteen digits are looked up as a NIK and, when the check
    digit fits, as a card number too; when it does not fit, the result says so."""
    key = key.strip()
    if not key:
        raise LookupKeyInvalid(details={"key": "REQUIRED"})
    if kind == KeyKind.AUTO:
        detected = key_kind_detect(key)
        if detected == KeyKind.NIK:
            found = _by_nik(key)
            try:
                number = _card_number(key)
            except CardCheckDigitWrong:
                note = "" if found else _("Not a card number either: its check digit is wrong.")
                return SearchResult(kind=KeyKind.NIK, registrants=found, note=note)
            known = {registrant.pk for registrant in found}
            found += [r for r in _by_card(number) if r.pk not in known]
            return SearchResult(kind=KeyKind.NIK, registrants=found, card_searched=True)
        kind = detected
    finders: dict[str, Callable[[str], list[Registrant]]] = {
        KeyKind.NIK: _by_nik,
        KeyKind.PHONE: _by_phone,
        KeyKind.EMAIL: _by_email,
        KeyKind.CARD: _by_card,
    }
    if kind not in finders:
        raise LookupKeyInvalid(details={"kind": "UNKNOWN"})
    return SearchResult(kind=kind, registrants=finders[kind](key))
