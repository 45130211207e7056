from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "prakerja.catalog"
    verbose_name = "Training catalog"
