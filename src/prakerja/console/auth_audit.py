"""Operators' sign-ins, failed sign-ins (password or second factor) and sign-outs on the console,
in the audit log. Django announces them by signals; only those under the console's paths are
recorded (a participant's portal sign-in is not an operator's)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.common.client_address import client_address

CONSOLE_PREFIXES = ("/admin/", "/console/")


def on_console(request: HttpRequest | None) -> bool:
    return request is not None and (request.path_info or "").startswith(CONSOLE_PREFIXES)


def _client(request: HttpRequest) -> dict[str, str]:
    return {"path": request.path_info, "ip": client_address(request)}


def login_failed_record(*, request: HttpRequest | None, username: str, reason: str) -> None:
    if not on_console(request):
        return
    assert request is not None
    from django.contrib.auth.models import User

    known = User.objects.filter(username=username).values_list("pk", flat=True).first()
    audit_record(
        actor=Actor(kind="user", id=known, label=f"user:{username[:140]}"),
        event_type="console.login_failed",
        details={**_client(request), "username": username[:150], "reason": reason},
    )


def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if not on_console(request):
        return
    assert request is not None
    device = getattr(user, "otp_device", None)
    audit_record(
        actor=Actor.for_user(user),
        event_type="console.login",
        details={**_client(request), "device": device.persistent_id if device else ""},
    )


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    login_failed_record(
        request=request, username=str(credentials.get("username", "")), reason="password"
    )


def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None or not on_console(request):
        return
    assert request is not None
    audit_record(actor=Actor.for_user(user), event_type="console.logout", details=_client(request))


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="console-login-audit")
    user_login_failed.connect(_login_failed, dispatch_uid="console-login-failed-audit")
    user_logged_out.connect(_logged_out, dispatch_uid="console-logout-audit")
