"""`prakerja operators`: create an operator with roles and an authenticator, enrol a new
authenticator, set roles, make backup codes. Keys, URIs, passwords and codes are printed once."""

from base64 import b32encode
from binascii import unhexlify
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.console.errors import OperatorUnknown
from prakerja.console.roles import ROLES, roles_of
from prakerja.console.services import (
    operator_backup_codes_set,
    operator_create,
    operator_roles_set,
    operator_totp_enrol,
)

ROLE_CODES = [role.code for role in ROLES]


def totp_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed in (base32, no padding)."""
    return b32encode(unhexlify(device.key)).decode().rstrip("=")


class Command(BaseCommand):
    help = "Operators: create with roles and an authenticator, re-enrol, set roles, backup codes."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a staff operator with roles and an authenticator")
        create.add_argument("username")
        create.add_argument("--role", action="append", choices=ROLE_CODES, default=[])
        create.add_argument("--email", default="")
        totp = sub.add_parser("totp", help="enrol a new authenticator (the old one stops working)")
        totp.add_argument("username")
        roles = sub.add_parser("roles", help="set an operator's roles (none: --role omitted)")
        roles.add_argument("username")
        roles.add_argument("--role", action="append", choices=ROLE_CODES, default=[])
        backup = sub.add_parser("backup-codes", help="new one-time backup codes")
        backup.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli:operators")
        action = options["action"]
        username = options["username"]
        try:
            if action == "create":
                user, password = operator_create(
                    username=username, roles=options["role"], email=options["email"], actor=actor
                )
                self.stdout.write(f"operator {username}: roles {', '.join(roles_of(user)) or '—'}")
                if password:
                    self.stdout.write(
                        f"password (shown once, change it at first sign-in): {password}"
                    )
                self._enrol(user, actor)
                return
            user = self._user(username)
            if action == "totp":
                self._enrol(user, actor)
            elif action == "roles":
                operator_roles_set(user=user, roles=options["role"], actor=actor)
                self.stdout.write(f"operator {username}: roles {', '.join(roles_of(user)) or '—'}")
            elif action == "backup-codes":
                codes = operator_backup_codes_set(user=user, actor=actor)
                self.stdout.write("backup codes (each works once, shown once): " + " ".join(codes))
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message('en')}") from error

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise OperatorUnknown(username=username)
        return user

    def _enrol(self, user: User, actor: Actor) -> None:
        device = operator_totp_enrol(user=user, actor=actor)
        self.stdout.write(
            "authenticator (shown once; scan the URI as a QR code or type the key):\n"
            f"  otpauth URI: {device.config_url}\n"
            f"  key: {totp_secret(device)}"
        )
