"""The financial institutions that pay incentives (2020: BNI by virtual account; LinkAja, OVO and
GoPay by e-wallet, keyed by the participant's phone number). Each is a partner of kind institution
with the same code; the adapter reaches it at its PRAKERJA_BANK_URLS address."""

from prakerja.incentives.models import AccountType
from prakerja.partners.models import Partner, PartnerKind, PartnerStatus

INSTITUTIONS: dict[str, tuple[str, str]] = {
    "bni": ("BNI", AccountType.VIRTUAL_ACCOUNT),
    "linkaja": ("LinkAja", AccountType.E_WALLET),
    "ovo": ("OVO", AccountType.E_WALLET),
    "gopay": ("GoPay", AccountType.E_WALLET),
}


def account_type_of(code: str) -> str:
    return INSTITUTIONS[code][1]


def institutions_active() -> list[Partner]:
    return list(
        Partner.objects.filter(
            kind=PartnerKind.INSTITUTION, status=PartnerStatus.ACTIVE, code__in=list(INSTITUTIONS)
        ).order_by("code")
    )
