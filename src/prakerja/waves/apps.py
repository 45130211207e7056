from django.apps import AppConfig


class WavesConfig(AppConfig):
    name = "prakerja.waves"
    verbose_name = "Program scheme and waves"
