from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "prakerja.partners"
    verbose_name = "Partners and the partner API"
