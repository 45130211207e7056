from django.apps import AppConfig


class ThrottleConfig(AppConfig):
    name = "prakerja.throttle"
    verbose_name = "Rate limits"
