"""URLs for the email inbox tests: the portal plus the sandbox pages, mounted as in the project."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("sandbox/", include("prakerja.integrations.urls")),
    path("", include("prakerja.portal.urls")),
]
