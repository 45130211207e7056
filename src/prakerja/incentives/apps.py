from typing import Any

from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "prakerja.incentives"
    verbose_name = "Incentives, payment accounts and disbursement"

    def ready(self) -> None:
        from prakerja.registration.signals import phone_changed

        phone_changed.connect(_phone_changed, dispatch_uid="incentives.phone_changed")


def _phone_changed(sender: Any, *, registrant_id: int, actor: Any, **kwargs: Any) -> None:
    """E-wallets keyed by the old number are unlinked and unpaid incentives held with
    PHONE_CHANGED until an account is linked again (program.md §5)."""
    from prakerja.incentives.accounts import payment_accounts_phone_changed

    payment_accounts_phone_changed(registrant_id=registrant_id, actor=actor)
