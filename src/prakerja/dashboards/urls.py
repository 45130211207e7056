from django.urls import path

from prakerja.dashboards.views import dashboard_page, dashboards_index

app_name = "dashboards"
urlpatterns = [
    path("", dashboards_index, name="index"),
    path("<slug:slug>/", dashboard_page, name="page"),
]
