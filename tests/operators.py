"""Operators signed in as the console demands: the password's session plus a passed second factor
(django_otp keeps the verified device's id in the session)."""

from typing import Any

from django.contrib.auth.models import Permission, User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def staff_user(username: str, *permissions: str, staff: bool = True, active: bool = True) -> Any:
    """A user holding exactly `permissions` ("grievances.view_complaint", …), read back fresh so
    no permission cache is carried over."""
    user = User.objects.create_user(username, f"{username}@prakerja.example", "rahasia-panjang-1")
    user.is_staff = staff
    user.is_active = active
    user.save()
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)


def operator_device(user: Any) -> TOTPDevice:
    found = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return found or TOTPDevice.objects.create(user=user, name="tests", confirmed=True)


def operator_login(client: Client, user: Any) -> Client:
    """`client.force_login(user)` with the second factor passed (a device made if none)."""
    device = operator_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The current 6-digit code of a base32 key, as an authenticator app shows it."""
    import time
    from base64 import b32decode

    from django_otp.oath import TOTP

    key = b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"
