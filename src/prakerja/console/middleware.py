"""Every operator action is audited: each request by a staff member to the console (/admin/,
/console/) that may change something (any method but GET, HEAD, OPTIONS), with its answer — refused
ones too. Never the request's body: it may hold personal data or secrets. Sign-in and sign-out have
their own events (console/auth_audit.py)."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.console.auth_audit import on_console

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_EVENTS = frozenset({"admin:login", "admin:logout"})
ACTION_EVENT = "console.action"


def _details(request: HttpRequest, status: int) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    url_name = match.view_name if match is not None else ""
    details: dict[str, Any] = {
        "method": request.method,
        "path": request.path_info,
        "url_name": url_name,
        "status": status,
    }
    object_id = match.kwargs.get("object_id") if match is not None else None
    if object_id is not None:
        details["object_id"] = str(object_id)
    if url_name.endswith("_changelist") and "action" in request.POST:
        # An admin action is named in the form; only its name and the ids it was applied to are
        # kept (ids, like object_id above), never the other fields.
        details["admin_action"] = request.POST.get("action", "")[:100]
        details["selected_ids"] = request.POST.getlist("_selected_action")[:1000]
    return details


class OperatorAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method in SAFE_METHODS or not on_console(request):
            return self.get_response(request)
        # The user as the request found them: a sign-out leaves an anonymous user behind.
        user = request.user
        operator = user.is_authenticated and user.is_staff
        try:
            response = self.get_response(request)
        except Exception:
            if operator:
                self._record(request, user, 500)
            raise
        if operator:
            self._record(request, user, response.status_code)
        return response

    def _record(self, request: HttpRequest, user: Any, status: int) -> None:
        details = _details(request, status)
        if details["url_name"] in OWN_EVENTS:
            return
        audit_record(actor=Actor.for_user(user), event_type=ACTION_EVENT, details=details)
