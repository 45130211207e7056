"""Operators: their roles (console/roles.py) and their second factor. Each service is one
transaction and writes its audit event; a refusal changes nothing."""

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.console.errors import RolesIncompatible, RolesSelfChange, RoleUnknown
from prakerja.console.roles import ROLES, ROLES_BY_CODE, incompatible_pairs, roles_of, roles_sync

TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"
BACKUP_CODES_COUNT = 5


def _checked(roles: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(roles))
    unknown = [code for code in wanted if code not in ROLES_BY_CODE]
    if unknown:
        raise RoleUnknown(
            details={"unknown": unknown},
            roles=", ".join(unknown),
            known=", ".join(ROLES_BY_CODE),
        )
    pairs = incompatible_pairs(wanted)
    if pairs:
        raise RolesIncompatible(
            details={"pairs": [list(pair) for pair in pairs]},
            pairs="; ".join(" + ".join(pair) for pair in pairs),
        )
    return [role.code for role in ROLES if role.code in wanted]


def _role_groups(codes: list[str]) -> list[Group]:
    names = [ROLES_BY_CODE[code].group_name for code in codes]
    groups = list(Group.objects.filter(name__in=names))
    if len(groups) != len(names):
        roles_sync()  # a database migrated before the roles existed
        groups = list(Group.objects.filter(name__in=names))
    return groups


def _roles_write(user: User, codes: list[str]) -> list[str]:
    before = roles_of(user)
    role_names = [role.group_name for role in ROLES]
    user.groups.remove(*Group.objects.filter(name__in=role_names))
    user.groups.add(*_role_groups(codes))
    return before


def operator_roles_set(*, user: User, roles: Iterable[str], actor: Actor) -> User:
    """Give an operator exactly these roles (other groups stay). Refused: an unknown role,
    incompatible roles held together, or an operator changing their own roles."""
    codes = _checked(roles)
    if actor.kind == "user" and actor.id == user.pk:
        raise RolesSelfChange()
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        before = _roles_write(user, codes)
        if codes and not user.is_staff:
            User.objects.filter(pk=user.pk).update(is_staff=True)
            user.is_staff = True
        audit_record(
            actor=actor,
            event_type="operator.roles_set",
            subject=user,
            details={"username": user.get_username(), "before": before, "after": codes},
        )
    return user


def operator_create(
    *, username: str, roles: Iterable[str], actor: Actor, email: str = ""
) -> tuple[User, str | None]:
    """Create a staff operator with these roles, or update an existing one's roles and email. A
    new operator gets a random password, returned once (None for an existing one)."""
    codes = _checked(roles)
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().filter(username=username).first()
        password: str | None = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username, email, password, is_staff=True)
        else:
            if email:
                user.email = email
            user.is_staff = True
            user.save(update_fields=["email", "is_staff"])
        before = _roles_write(user, codes)
        audit_record(
            actor=actor,
            event_type="operator.created" if password else "operator.updated",
            subject=user,
            details={"username": username, "before": before, "after": codes},
        )
    return user, password


def operator_totp_enrol(*, user: User, actor: Actor, key: str | None = None) -> TOTPDevice:
    """Replace the operator's authenticator with a new key (hex); the old one stops working."""
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
        if key is not None:
            device.key = key
        device.save()
        audit_record(
            actor=actor,
            event_type="operator.totp_enrolled",
            subject=user,
            details={"username": user.get_username(), "device_id": device.persistent_id},
        )
    return device


def operator_backup_codes_set(
    *, user: User, actor: Actor, codes: Iterable[str] | None = None
) -> list[str]:
    """Replace the operator's one-time backup codes (each works once); returns them."""
    chosen = (
        list(codes)
        if codes is not None
        else [StaticToken.random_token() for _ in range(BACKUP_CODES_COUNT)]
    )
    with transaction.atomic(durable=True):
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in chosen])
        audit_record(
            actor=actor,
            event_type="operator.backup_codes_set",
            subject=user,
            details={"username": user.get_username(), "count": len(chosen)},
        )
    return chosen
