from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "prakerja.ledger"
    verbose_name = "Ledger"
