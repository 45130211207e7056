from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "prakerja.portal"
    verbose_name = "Participant portal"
