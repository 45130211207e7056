from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "prakerja.dashboards"
    verbose_name = "Dashboards"
