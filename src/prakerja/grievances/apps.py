from django.apps import AppConfig


class GrievancesConfig(AppConfig):
    name = "prakerja.grievances"
    verbose_name = "Grievances"
