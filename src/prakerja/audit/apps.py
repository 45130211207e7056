from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "prakerja.audit"
    verbose_name = "Audit"
