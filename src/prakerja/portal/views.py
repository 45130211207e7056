from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prakerja.waves.selectors import scheme_active


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"scheme": scheme_active()})


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
