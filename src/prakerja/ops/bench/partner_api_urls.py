"""The project's URLs plus the partner-api benchmark's limit: a signed no-op under the partner API's
base path. It checks the caller exactly as every partner call is checked (`partner_authenticate`:
the four headers, the clock, the signature over the body, the partner's status and rate limit) and
answers 200 without doing anything else. Used only by the benchmark's own web server (see
partner_api_settings); the production URLconf has no such endpoint."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from prakerja.config.urls import urlpatterns as project_urlpatterns
from prakerja.partners.auth import partner_authenticate

NOOP_PREFIX = "/api/partner/v1/bench-noop/"


@csrf_exempt
def signed_noop(request: HttpRequest, external_id: str) -> HttpResponse:
    """A refused call raises ApplicationError, answered by the project's middleware (401/403/429)."""
    partner = partner_authenticate(request)
    return JsonResponse({"external_id": external_id, "partner": partner.code})


urlpatterns = [
    path(NOOP_PREFIX.lstrip("/") + "<str:external_id>", signed_noop),
    *project_urlpatterns,
]
