"""Who is calling: the SNAP-style headers of partner-api.md, checked in an order that tells an
outsider nothing it did not know (a suspended partner is only named after a valid signature)."""

import datetime
import hmac

from django.http import HttpRequest
from django.utils import timezone

from prakerja.common.crypto import decrypt
from prakerja.partners.errors import (
    PartnerSuspended,
    PartnerUnknown,
    SignatureInvalid,
    TimestampOutOfRange,
)
from prakerja.partners.models import Partner, PartnerStatus
from prakerja.partners.signing import signature, string_to_sign
from prakerja.throttle.services import Limit, throttle_hit

CLOCK_SKEW = datetime.timedelta(minutes=5)
HEADERS = ("X-PARTNER-ID", "X-TIMESTAMP", "X-EXTERNAL-ID", "X-SIGNATURE")


def partner_authenticate(request: HttpRequest) -> Partner:
    """The calling partner, or the contract's 401/403/429 refusal."""
    missing = [name for name in HEADERS if not request.headers.get(name)]
    if missing:
        raise SignatureInvalid(details={"missing_headers": missing})
    code = request.headers["X-PARTNER-ID"]
    stamp = request.headers["X-TIMESTAMP"]
    external_id = request.headers["X-EXTERNAL-ID"]
    if len(external_id) > 64:
        raise SignatureInvalid(details={"X-EXTERNAL-ID": "at most 64 characters"})
    try:
        moment = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        raise TimestampOutOfRange(details={"X-TIMESTAMP": "ISO 8601 with offset"}) from None
    if moment.tzinfo is None:
        raise TimestampOutOfRange(details={"X-TIMESTAMP": "ISO 8601 with offset"})
    if abs(timezone.now() - moment) > CLOCK_SKEW:
        raise TimestampOutOfRange(details={"server_time": timezone.now().isoformat()})
    partner = Partner.objects.filter(code=code).first()
    if partner is None:
        raise PartnerUnknown(details={"X-PARTNER-ID": code})
    text = string_to_sign(
        method=request.method or "GET",
        path_with_query=request.get_full_path(),
        body=request.body,
        timestamp=stamp,
        external_id=external_id,
    )
    given = request.headers["X-SIGNATURE"].encode()
    secrets = partner.secrets.filter(retired_at__isnull=True).values_list(
        "secret_encrypted", flat=True
    )
    # Every live secret is compared, in constant time, whichever matches.
    matches = [hmac.compare_digest(signature(decrypt(s), text).encode(), given) for s in secrets]
    if not any(matches):
        raise SignatureInvalid()
    if partner.status != PartnerStatus.ACTIVE:
        raise PartnerSuspended(details={"X-PARTNER-ID": code})
    throttle_hit(key=f"partner:{partner.code}", limit=Limit(partner.rate_limit_per_minute, 60))
    return partner
