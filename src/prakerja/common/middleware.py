"""Turns an ApplicationError raised anywhere in a request into the contract's error body or page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language

from prakerja.common.errors import ApplicationError


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
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return error_response(request, exception)
        return None
