from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "prakerja.incentives"
    verbose_name = "Incentives, payment accounts and disbursement"
