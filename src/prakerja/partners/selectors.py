from dataclasses import dataclass

from prakerja.common.crypto import decrypt
from prakerja.common.errors import NotFound
from prakerja.partners.models import Partner


@dataclass(frozen=True)
class Credentials:
    code: str
    kind: str
    secret: str  # the newest live signing secret
    live_secrets: int
    webhook_secret: str


def partner_credentials(code: str) -> Credentials:
    partner = Partner.objects.filter(code=code).first()
    if partner is None:
        raise NotFound(details={"partner": code})
    live = list(
        partner.secrets.filter(retired_at__isnull=True)
        .order_by("-created_at", "-pk")
        .values_list("secret_encrypted", flat=True)
    )
    if not live:
        raise NotFound(details={"partner": code, "secret": "NO_LIVE_SECRET"})
    return Credentials(
        code=partner.code,
        kind=partner.kind,
        secret=decrypt(live[0]),
        live_secrets=len(live),
        webhook_secret=decrypt(partner.webhook_secret_encrypted)
        if partner.webhook_secret_encrypted
        else "",
    )
