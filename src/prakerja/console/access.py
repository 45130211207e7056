"""Who may open a console page: a signed-in, active staff member who has passed the second factor,
and holds the page's permission. Console pages outside the Django admin use `operator_required`."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

View = Callable[..., HttpResponseBase]


def operator_verified(request: HttpRequest) -> bool:
    """True when the operator has passed the second factor in this session (django_otp's
    middleware remembers the device); always, if PRAKERJA_OPERATOR_OTP turned the factor off."""
    if not getattr(settings, "OPERATOR_OTP", True):
        return True
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def is_operator(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and operator_verified(request)
    )


def operator_required(permission: str | None = None) -> Callable[[View], View]:
    """Sign-in (with the second factor) first; then 403 unless the operator holds `permission`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not is_operator(request):
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if permission is not None and not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
