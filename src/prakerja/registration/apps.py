from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "prakerja.registration"
    verbose_name = "Registration and verification"
