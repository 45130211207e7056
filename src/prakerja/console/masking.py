"""How personal data shows on console screens unless the operator has unmasked it: enough to tell
two people apart on the phone with them, not enough to reuse the data elsewhere.

Masks keep a fixed number of stars, so the mask does not reveal how long the hidden part is.
"""

import datetime

STARS = "****"


def mask_nik(nik: str) -> str:
    """'3201011508900001' -> '3201**********01': the region of issue and the last two digits."""
    if len(nik) < 8:
        return STARS
    return nik[:4] + "*" * (len(nik) - 6) + nik[-2:]


def mask_phone(phone: str | None) -> str:
    """'+6281234567789' -> '+62812****789': the operator's prefix and the last three digits."""
    if not phone:
        return ""
    if len(phone) < 10:
        return STARS
    return phone[:6] + STARS + phone[-3:]


def mask_email(email: str) -> str:
    """'budi.santoso@contoh.co.id' -> 'b***@c***.id': first letters and the top-level domain."""
    local, at, domain = email.partition("@")
    if not at or not local or not domain:
        return STARS
    name, dot, top = domain.rpartition(".")
    if not dot or not name:
        return f"{local[0]}***@{domain[0]}***"
    return f"{local[0]}***@{name[0]}***.{top}"


def mask_name(name: str) -> str:
    """'Budi Santoso' -> 'B*** S***': the first letter of each word."""
    return " ".join(f"{word[0]}***" for word in name.split())


def mask_card(card_number: str) -> str:
    """'5123456789012346' -> '**** 2346': the last four digits, as on a receipt."""
    if len(card_number) < 4:
        return STARS
    return f"{STARS} {card_number[-4:]}"


def mask_account_number(number: str) -> str:
    """A bank virtual account or an e-wallet's phone number: the last four digits."""
    return mask_card(number)


def mask_birth_date(born: datetime.date) -> str:
    """The year only: the age still shows, the date that identifies does not."""
    return str(born.year)
