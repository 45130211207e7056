from django.apps import AppConfig


class WavesConfig(AppConfig):
    name = "prakerja.waves"
    verbose_name = "Program scheme and waves"

    def ready(self) -> None:
        from prakerja.waves import lottery, messages  # noqa: F401 - registers message wording

        lottery.install()
