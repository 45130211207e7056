"""Turns an ApplicationError raised anywhere in a request into the contract's error body or page.

Under /api/ every answer is the contract's JSON, also those the web framework gives before or
around the API's code: an unknown path (404 PATH_NOT_FOUND), a method the path does not take (405
METHOD_NOT_ALLOWED, with `Allow`), a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413 REQUEST_TOO_LARGE),
any other request Django could not read (400 BAD_REQUEST), and an exception no code expected (500
INTERNAL_ERROR). Such an exception is logged with its traceback and a reference that the answer
gives in `details.reference`; the answer never shows the exception itself.

The layers in front answer for themselves in the same body: gunicorn's refusals of requests it
cannot read (ops/gunicorn_worker.py) and the proxy's (deploy/nginx/prakerja.conf). An exception in
a middleware outside this one reaches Django's handler500: `server_error` below is that handler."""

import logging
import secrets
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest as DjangoBadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import get_language
from django.views import defaults

from prakerja.common.errors import (
    ApplicationError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    PathNotFound,
    PermissionDenied,
    RequestHeadersTooLarge,
    RequestTooLarge,
    UriTooLong,
)

log = logging.getLogger(__name__)

# Exceptions Django itself answers with a 4xx (Http404 → 404, PermissionDenied → 403); the answer
# then gets the contract's body on its way out (ApplicationErrorMiddleware.__call__).
_DJANGO_ANSWERS = (Http404, DjangoPermissionDenied)
# Exceptions of a request Django could not read.
_UNREADABLE = (SuspiciousOperation, DjangoBadRequest, MultiPartParserError)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def wants_json(request: HttpRequest) -> bool:
    return is_api(request) or "application/json" in request.headers.get("Accept", "")


def error_response(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    language = get_language() or "id"
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(error.body(language), status=error.http_status)
    else:
        response = render(
            request,
            "portal/error.html",
            {"code": error.code, "message": error.message(language)},
            status=error.http_status,
        )
    for name, value in error.headers().items():
        response[name] = value
    return response


def internal_error(request: HttpRequest, exc_info: BaseException | None = None) -> InternalError:
    """Log the unexpected exception (traceback, method, path; never the body, which may hold
    personal data) under a fresh reference, and the 500 that names that reference."""
    reference = secrets.token_hex(8)
    log.error(
        "unhandled exception in %s %s (reference %s)",
        request.method,
        request.path,
        reference,
        exc_info=exc_info or True,
    )
    return InternalError(details={"reference": reference})


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            return _api_error_of(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return error_response(request, exception)
        if not is_api(request) or isinstance(exception, _DJANGO_ANSWERS):
            return None  # pages keep Django's answers (and its handler500: `server_error`)
        if isinstance(exception, _UNREADABLE):
            return error_response(request, _unreadable(exception))
        return error_response(request, internal_error(request, exception))


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500 (config/urls.py): the answer to an exception of any layer, also of a
    middleware outside ApplicationErrorMiddleware. Django calls it while the exception is being
    handled, so it is logged here with its traceback (Django logs it only to `django.request`,
    which outside DEBUG mails admins and prints nothing); under /api/ the answer is the contract's
    JSON, elsewhere Django's page."""
    error = internal_error(request, sys.exc_info()[1])
    if not is_api(request):
        return defaults.server_error(request)
    return JsonResponse(error.body(get_language() or "id"), status=error.http_status)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _unreadable(exception: Exception) -> ApplicationError:
    if isinstance(exception, RequestDataTooBig):
        return RequestTooLarge(limit_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return BadRequest()


def _api_error_of(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The contract's body for an answer under /api/ that is not JSON: the framework's plain 400,
    403, 404, 405, 413 or 500 (or any other status, as the nearest of those)."""
    status = response.status_code
    if status == 405:
        allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
        answer = error_response(request, MethodNotAllowed(details={"allowed": allowed}))
        answer["Allow"] = ", ".join(allowed)
        return answer
    error: ApplicationError
    if status == 404:
        error = PathNotFound(details={"path": request.path})
    elif status == 403:
        error = PermissionDenied()
    elif status == 413:
        error = RequestTooLarge(limit_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif status == 414:
        error = UriTooLong()
    elif status == 431:
        error = RequestHeadersTooLarge()
    elif status >= 500:
        # The exception, if there was one, was logged where it was caught (django.request, or
        # ninja's handler in DEBUG); this line ties the reference in the answer to the time.
        error = InternalError(details={"reference": secrets.token_hex(8)})
        log.error(
            "a %s answer to %s %s was replaced by INTERNAL_ERROR (reference %s)",
            status,
            request.method,
            request.path,
            error.details["reference"],
        )
    else:
        error = BadRequest()
    answer = error_response(request, error)
    answer.status_code = status
    return answer
