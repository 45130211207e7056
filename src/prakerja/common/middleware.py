"""Turns an ApplicationError raised anywhere in a request into the contract's error body or page.

Under /api/ every answer is the contract's JSON, also those the web framework gives before any API
code runs: an unknown path (404 PATH_NOT_FOUND), a method the path does not take (405
METHOD_NOT_ALLOWED, with `Allow`), a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413 REQUEST_TOO_LARGE)
and any other request Django could not read (400 BAD_REQUEST)."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language

from prakerja.common.errors import (
    ApplicationError,
    BadRequest,
    MethodNotAllowed,
    PathNotFound,
    RequestTooLarge,
)


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def error_response(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    language = get_language() or "id"
    if wants_json(request):
        return JsonResponse(error.body(language), status=error.http_status)
    return render(
        request,
        "portal/error.html",
        {"code": error.code, "message": error.message(language)},
        status=error.http_status,
    )


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        framework_answer = response.status_code in (400, 404, 405) and not response.get(
            "Content-Type", ""
        ).startswith("application/json")
        if framework_answer and request.path.startswith("/api/"):
            return _api_error_of(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return error_response(request, exception)
        if isinstance(exception, SuspiciousOperation) and request.path.startswith("/api/"):
            return error_response(request, _unreadable(exception))
        return None


def _unreadable(exception: SuspiciousOperation) -> ApplicationError:
    if isinstance(exception, RequestDataTooBig):
        return RequestTooLarge(limit_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return BadRequest()


def _api_error_of(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The contract's body for a framework's plain 400, 404 or 405 under /api/."""
    if response.status_code == 405:
        allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
        answer = error_response(request, MethodNotAllowed(details={"allowed": allowed}))
        answer["Allow"] = ", ".join(allowed)
        return answer
    if response.status_code == 404:
        return error_response(request, PathNotFound(details={"path": request.path}))
    return error_response(request, BadRequest())
