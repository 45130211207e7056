"""The Django admin as the program office's console: signing in asks for the second factor
(console/otp.py), and a signed-in staff member who has not passed it is treated as not signed in."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from prakerja.console.access import operator_verified
from prakerja.console.otp import OperatorLoginForm


class ConsoleAdminSite(admin.AdminSite):
    site_header = _("Prakerja console")
    site_title = _("Prakerja console")
    login_form = OperatorLoginForm
    login_template = "console/login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and operator_verified(request)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["audit_log_url"] = (
            "/admin/audit/auditevent/"
            if request.user.is_authenticated and request.user.has_perm("console.view_audit_log")
            else None
        )
        return context
