from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DashboardsConfig(AppConfig):
    name = "prakerja.dashboards"
    verbose_name = gettext_lazy("Dashboards")
