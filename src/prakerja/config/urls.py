from django.contrib import admin
from django.urls import include, path

from prakerja.catalog.participant_api import router as catalog_participant_router
from prakerja.catalog.partner_api import router as trainings_router
from prakerja.grievances.participant_api import router as grievances_participant_router
from prakerja.incentives.metrics import metrics_view
from prakerja.incentives.participant_api import router as incentives_participant_router
from prakerja.incentives.partner_api import batches_router, statements_router, transfers_router
from prakerja.orders.participant_api import reviews_router as training_reviews_router
from prakerja.orders.participant_api import router as orders_participant_router
from prakerja.orders.partner_api import orders_router, vouchers_router
from prakerja.orders.settlement_api import router as settlements_router
from prakerja.partners.api import partner_api
from prakerja.portal.api import participant_api
from prakerja.registration.api_tokens import BearerToken
from prakerja.registration.participant_api import router as registration_participant_router
from prakerja.waves.participant_api import router as waves_participant_router

# Each app's endpoints are mounted here, where the URLs are, so that the API modules import no app
# and each app imports its API's shared parts, never the other way round. The order is the
# OpenAPI documents' order of paths.
participant_api.add_router("", registration_participant_router)  # /auth/…, /me/status, …
participant_api.add_router("", waves_participant_router)  # /waves/open, /me/applications, …
participant_api.add_router("", orders_participant_router)  # /orders, /me/orders
participant_api.add_router("/trainings", catalog_participant_router)
participant_api.add_router("/trainings", training_reviews_router)
# GET /me/incentives, POST /me/payment-account, POST /me/surveys/{sequence}
participant_api.add_router("/me", incentives_participant_router, auth=BearerToken())
participant_api.add_router("/me", grievances_participant_router, auth=BearerToken())

partner_api.add_router("/trainings", trainings_router)
partner_api.add_router("/vouchers", vouchers_router)
partner_api.add_router("/orders", orders_router)
partner_api.add_router("/settlements", settlements_router)
partner_api.add_router("/transfers", transfers_router)
partner_api.add_router("/transfer-batches", batches_router)
partner_api.add_router("/statements", statements_router)

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
