from django.contrib import admin
from django.urls import include, path

from prakerja.incentives.metrics import metrics_view
from prakerja.partners.api import partner_api
from prakerja.portal.api import participant_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", participant_api.urls),
    path("api/partner/v1/", partner_api.urls),
    path("sandbox/", include("prakerja.integrations.urls")),
    path("console/dashboards/", include("prakerja.dashboards.urls")),
    path("console/peserta/", include("prakerja.console.lookup_urls")),
    path("metrics", metrics_view, name="metrics"),
    path("transparansi/", include("prakerja.dashboards.public_urls")),
    path("pengaduan/", include("prakerja.grievances.urls")),
    path("", include("prakerja.portal.urls")),
]

# An exception that escapes every layer (a middleware outside ApplicationErrorMiddleware too):
# under /api/ still the contract's JSON body, logged with a reference.
handler500 = "prakerja.common.middleware.server_error"
