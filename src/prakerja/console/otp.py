"""The operators' second factor: a TOTP code from an authenticator app (or a one-time backup
code) on the admin's login page, after the password. Off only when PRAKERJA_OPERATOR_OTP is false
(local debugging)."""

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.console.auth_audit import login_failed_record

TOTP_CODE = re.compile(r"\d{6}")


def otp_required() -> bool:
    return bool(getattr(settings, "OPERATOR_OTP", True))


def device_matching(user: Any, token: str) -> Device | None:
    """The user's device that accepts `token`: six digits are an authenticator code, anything
    else a backup code, so a mistyped code counts against only the device it was meant for."""
    kind: type[Device] = TOTPDevice if TOTP_CODE.fullmatch(token) else StaticDevice
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if not isinstance(device, kind):
                continue
            allowed, _extra = device.verify_is_allowed()
            if allowed and device.verify_token(token):
                return device
    return None


class OperatorLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": False}
        ),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_no_device": _(
            "Your account has no second-factor device yet, so it cannot sign in to the console. "
            "Ask a program admin to enrol you (prakerja operators totp USERNAME)."
        ),
        "otp_required": _("Enter the code from your authenticator app."),
        "otp_invalid": _(
            "The code is not valid. Enter the current code from your authenticator app (or an "
            "unused backup code); after several wrong codes, wait a little before trying again."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        if not otp_required():
            del self.fields["otp_token"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is None or not otp_required():
            return cleaned
        token = re.sub(r"\s", "", self.cleaned_data.get("otp_token") or "")
        if not any(True for _device in devices_for_user(user)):
            self._refuse(user, "otp_no_device")
        if not token:
            self._refuse(user, "otp_required")
        device = device_matching(user, token)
        if device is None:
            self._refuse(user, "otp_invalid")
        # django_otp's user_logged_in receiver stores this device in the session: verified.
        user.otp_device = device  # type: ignore[attr-defined]
        return cleaned

    def _refuse(self, user: Any, code: str) -> None:
        login_failed_record(request=self.request, username=user.get_username(), reason=code)
        raise forms.ValidationError(self.error_messages[code], code=code)
