from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "prakerja.console"
    verbose_name = "Console"
