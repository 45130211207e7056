from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "prakerja.ops"
    verbose_name = "Operations: demo, servers, workers, benchmarks"
