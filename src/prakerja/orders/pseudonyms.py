"""What platforms know of participants: a pseudonym per (platform, participant), the same for every
order of that participant on that platform, different on every other platform, and never derived
from the NIK (HMAC-SHA256 under a key derived from SECRET_KEY: rotating SECRET_KEY changes every
pseudonym)."""

import base64
import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings

from prakerja.partners.models import Partner
from prakerja.waves.models import Participant

PARTICIPANT_REF_LENGTH = 20  # base32 symbols of the HMAC: 100 bits


def _participant_ref_key() -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"prakerja:orders:participant-ref", hashlib.sha256
    ).digest()


def _ref(key: bytes, platform_id: int, participant_id: int) -> str:
    digest = hmac.new(key, f"{platform_id}:{participant_id}".encode(), hashlib.sha256).digest()
    return "pk_" + base64.b32encode(digest).decode().lower()[:PARTICIPANT_REF_LENGTH]


def participant_refs() -> Callable[[int, int], str]:
    """participant_ref_of(platform id, participant id) with the key derived once, for a chunk."""
    key = _participant_ref_key()
    return lambda platform_id, participant_id: _ref(key, platform_id, participant_id)


def participant_ref_of(*, platform_id: int, participant_id: int) -> str:
    return _ref(_participant_ref_key(), platform_id, participant_id)


def participant_ref(*, platform: Partner, participant: Participant) -> str:
    """The pseudonym the platform knows the participant by."""
    return participant_ref_of(platform_id=platform.pk, participant_id=participant.pk)
