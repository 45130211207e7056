from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "prakerja.integrations"
    verbose_name = "Integrations: registry, SMS, email, financial institutions"
