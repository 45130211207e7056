"""Participant sign-in on the portal: the session holds the registrant id and a keyed digest of
the password hash, so changing the password ends every other session."""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest

from prakerja.common.client_address import client_address
from prakerja.registration.models import Registrant

KEY_ID = "registrant_id"
KEY_HASH = "registrant_hash"


def _digest(registrant: Registrant) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), registrant.password.encode(), hashlib.sha256
    ).hexdigest()


def sign_in(request: HttpRequest, registrant: Registrant) -> None:
    request.session.cycle_key()  # a new session id at sign-in defeats session fixation
    request.session[KEY_ID] = registrant.pk
    request.session[KEY_HASH] = _digest(registrant)


def sign_out(request: HttpRequest) -> None:
    request.session.flush()


def current_registrant(request: HttpRequest) -> Registrant | None:
    registrant_id = request.session.get(KEY_ID)
    if registrant_id is None:
        return None
    registrant = Registrant.objects.filter(pk=registrant_id, is_active=True).first()
    if registrant is None or not hmac.compare_digest(
        request.session.get(KEY_HASH, ""), _digest(registrant)
    ):
        request.session.flush()
        return None
    return registrant


def client_ip(request: HttpRequest) -> str:
    return client_address(request)
