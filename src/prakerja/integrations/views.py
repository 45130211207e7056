"""Sandbox pages: what the system "sent", for the demo and browser tests. Never on in production."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from prakerja.integrations.email import sandbox_emails_latest

INBOX_SIZE = 50


@require_GET
def email_inbox(request: HttpRequest) -> HttpResponse:
    # 404 rather than 403: with the pages off, nothing should hint that an inbox exists.
    if not getattr(settings, "SANDBOX_PAGES", False):
        raise Http404("sandbox pages are off")
    to = request.GET.get("to", "").strip()
    emails = sandbox_emails_latest(to=to, limit=INBOX_SIZE)
    return render(request, "integrations/email_inbox.html", {"emails": emails, "to": to})
