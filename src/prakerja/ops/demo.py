"""The demo's seed: program accounts, one operator login per role, and (as later issues add them) a
small program's worth of data. Safe to run again: everything is get-or-create or keyed.

Each demo operator has an authenticator key and backup codes fixed by their username, printed with
the login, so a newcomer can add the key to an authenticator app or sign in with a backup code.
Demo only: a real operator is enrolled with `prakerja operators create`, keys shown once."""

import hashlib
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.common.actors import Actor
from prakerja.console.roles import roles_of
from prakerja.console.services import (
    operator_backup_codes_set,
    operator_roles_set,
    operator_totp_enrol,
)
from prakerja.ledger.models import SYSTEM_KINDS, AccountKind
from prakerja.ledger.services import account_get_or_create

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "prakerja-demo-2020"  # noqa: S105 - printed on purpose: demo only, localhost
DEMO_BACKUP_CODES = 3

# (role code, username, how the login line names it)
DEMO_OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("program_admin", DEMO_ADMIN_USERNAME, "program admin (Django admin)"),
    ("verifier", "verifikator", "verifier"),
    ("finance_maker", "keuangan-maker", "finance maker"),
    ("finance_checker", "keuangan-checker", "finance checker"),
    ("partner_manager", "mitra", "partner manager"),
    ("support", "dukungan", "support"),
    ("auditor", "auditor", "auditor (read-only)"),
)


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    password: str
    totp_key: str = ""  # base32, as authenticator apps take it
    backup_codes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        line = f"{self.role}: {self.username} / {self.password}"
        if self.totp_key:
            line += f"  TOTP key {self.totp_key}"
        if self.backup_codes:
            line += f"  backup code {self.backup_codes[0]}"
        return line


def demo_totp_key(username: str) -> str:
    """The demo operator's authenticator key (hex, 20 bytes), fixed by the username."""
    return hashlib.sha256(f"prakerja-demo-totp:{username}".encode()).hexdigest()[:40]


def demo_totp_secret(username: str) -> str:
    return b32encode(unhexlify(demo_totp_key(username))).decode().rstrip("=")


def demo_backup_codes(username: str) -> list[str]:
    return [
        hashlib.sha256(f"prakerja-demo-backup:{username}:{n}".encode()).hexdigest()[:8]
        for n in range(DEMO_BACKUP_CODES)
    ]


def _demo_operator(code: str, username: str, actor: Actor) -> None:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        make = (
            user_model.objects.create_superuser
            if username == DEMO_ADMIN_USERNAME
            else user_model.objects.create_user
        )
        user = make(
            username=username,
            email=f"{username}@prakerja.test",
            password=DEMO_ADMIN_PASSWORD,
            is_staff=True,
        )
    if roles_of(user) != [code]:
        operator_roles_set(user=user, roles=[code], actor=actor)
    key = demo_totp_key(username)
    if not TOTPDevice.objects.filter(user=user, key=key, confirmed=True).exists():
        operator_totp_enrol(user=user, key=key, actor=actor)
    codes = demo_backup_codes(username)
    held = StaticToken.objects.filter(device__user=user).values_list("token", flat=True)
    if sorted(held) != sorted(codes):  # a code used in an earlier run is given back
        operator_backup_codes_set(user=user, codes=codes, actor=actor)


def demo_seed() -> list[Login]:
    actor = Actor.system("demo-seed")
    # Each step is its own (durable) unit of work and skips what exists: a seed stopped half-way
    # is completed by the next start, not rolled back as one.
    for kind in sorted(SYSTEM_KINDS):
        account_get_or_create(kind=AccountKind(kind))
    for code, username, _label in DEMO_OPERATORS:
        _demo_operator(code, username, actor)
    return [
        Login(
            label,
            username,
            DEMO_ADMIN_PASSWORD,
            demo_totp_secret(username),
            tuple(demo_backup_codes(username)),
        )
        for _code, username, label in DEMO_OPERATORS
    ]
