"""Who is calling: the SNAP-style headers of partner-api.md, checked in an order that tells an
outsider nothing it did not know (a suspended partner is only named after a valid signature).

The signature covers the request target exactly as the client sent it on the request line
(partner-api.md, `PATH_WITH_QUERY`): percent-encoding unchanged, the query in its order, no host.
Django only keeps the decoded path (`request.path`), and re-encoding it (`get_full_path()`) gives
`(` for a sent `%28` and `,` for a sent `%2C`, so a correctly signed call would be refused. The WSGI
servers keep the target as sent: gunicorn (`prakerja serve`, production and the demo) in
`RAW_URI`, uWSGI and mod_wsgi in `REQUEST_URI`. Where the server gives neither (Django's test
client, `runserver`), the target is rebuilt from the decoded path with `get_full_path()`, which is
the sent target for every path of unreserved characters; test clients pass `RAW_URI` as gunicorn
would. A proxy in front must pass the target on unchanged (nginx: `proxy_pass` without a URI)."""

import datetime
import hmac
import re

from django.http import HttpRequest

from prakerja.common import clock
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
RAW_TARGET_KEYS = ("RAW_URI", "REQUEST_URI")  # gunicorn; uWSGI and mod_wsgi
# An absolute-form target (`GET http://host/path HTTP/1.1`, as sent to a proxy) loses its
# `scheme://authority`: the contract signs no host.
_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def request_target(request: HttpRequest) -> str:
    """PATH_WITH_QUERY of the contract: the request target as the client sent it."""
    for key in RAW_TARGET_KEYS:
        raw = request.META.get(key)
        if raw:
            break
    else:
        return request.get_full_path()
    # A WSGI string holds the request line's bytes one per character (ISO-8859-1); the client
    # signed them as UTF-8 text (a request target is ASCII; anything else cannot be signed alike).
    text = str(raw).encode("iso-8859-1", "replace").decode("utf-8", "replace")
    found = _ABSOLUTE_FORM.match(text)
    if found:
        text = text[found.end() :]
        if not text.startswith("/"):
            text = "/" + text
    return text


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
    if abs(clock.now() - moment) > CLOCK_SKEW:
        raise TimestampOutOfRange(details={"server_time": clock.now().isoformat()})
    partner = Partner.objects.filter(code=code).first()
    if partner is None:
        raise PartnerUnknown(details={"X-PARTNER-ID": code})
    text = string_to_sign(
        method=request.method or "GET",
        path_with_query=request_target(request),
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
