"""The participant API's bearer tokens: issued at sign-in, kept only as a SHA-256 digest, revoked at
sign-out. Every app's participant endpoints authenticate with `BearerToken` and read the caller
with `me()`."""

import hashlib
import secrets

from django.http import HttpRequest
from ninja.security import HttpBearer

from prakerja.common import clock
from prakerja.registration.models import ApiToken, Registrant


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Registrant | None:
        found = (
            ApiToken.objects.select_related("registrant")
            .filter(token_hash=_hash(token), revoked_at__isnull=True, registrant__is_active=True)
            .first()
        )
        return found.registrant if found else None


def me(request: HttpRequest) -> Registrant:
    """The registrant whose token came with this call (an endpoint with `auth=BearerToken()`)."""
    registrant = request.auth  # type: ignore[attr-defined]
    assert isinstance(registrant, Registrant)
    return registrant


def api_token_issue(*, registrant: Registrant) -> str:
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(registrant=registrant, token_hash=_hash(token))
    return token


def api_token_revoke(*, token: str) -> None:
    ApiToken.objects.filter(token_hash=_hash(token)).update(revoked_at=clock.now())
