"""Personal identifiers at rest: encrypted for reading back, and a keyed blind index for look-ups.

A NIK is never stored, logged or put in a URL in clear text. `encrypt`/`decrypt` use Fernet
(AES-128-CBC + HMAC-SHA256) with PRAKERJA_NIK_KEY; `blind_index` is HMAC-SHA256 with a separate key
(PRAKERJA_BLIND_INDEX_KEY) and a purpose label, so equal NIKs give equal indexes (uniqueness, joins,
exclusion look-ups) while the index alone reveals nothing without the key.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet

from prakerja.config import env


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    secret = env.get("PRAKERJA_NIK_KEY").encode()
    # Any passphrase works: it is stretched to the 32-byte key Fernet needs.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))


@lru_cache(maxsize=1)
def _index_key() -> bytes:
    return hashlib.sha256(env.get("PRAKERJA_BLIND_INDEX_KEY").encode()).digest()


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def blind_index(value: str, *, purpose: str) -> str:
    """64 hex characters. `purpose` separates index spaces (a NIK and a KK number never collide)."""
    return hmac.new(_index_key(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def blind_index_many(values: list[str], *, purpose: str) -> list[str]:
    """The same as `blind_index` for a chunk, without re-deriving the key per value."""
    key = _index_key()
    prefix = f"{purpose}:".encode()
    return [hmac.new(key, prefix + value.encode(), hashlib.sha256).hexdigest() for value in values]


def mask(value: str, *, keep: int = 4) -> str:
    """For screens and logs: '3201011508900001' -> '************0001'."""
    return "*" * max(len(value) - keep, 0) + value[-keep:]
