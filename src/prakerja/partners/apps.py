from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "prakerja.partners"
    verbose_name = "Partners and the partner API"

    def ready(self) -> None:
        from prakerja.partners import admin_events  # noqa: F401 - registers the events' admin
