from typing import Any

from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "prakerja.incentives"
    verbose_name = "Incentives, payment accounts and disbursement"

    def ready(self) -> None:
        from prakerja.orders.signals import reviews_created
        from prakerja.registration.signals import phone_changed

        phone_changed.connect(_phone_changed, dispatch_uid="incentives.phone_changed")
        reviews_created.connect(_reviews_created, dispatch_uid="incentives.reviews_created")


def _phone_changed(sender: Any, *, registrant_id: int, actor: Any, **kwargs: Any) -> None:
    """E-wallets keyed by the old number are unlinked and unpaid incentives held with
    PHONE_CHANGED until an account is linked again (program.md §5)."""
    from prakerja.incentives.accounts import payment_accounts_phone_changed

    payment_accounts_phone_changed(registrant_id=registrant_id, actor=actor)


def _reviews_created(sender: Any, *, participant_ids: list[int], actor: Any, **kwargs: Any) -> None:
    """A first review of a completed training may be the last condition of an incentive
    (program.md §5): grant those now, in the reviews' transaction."""
    from prakerja.incentives.entitlements import entitlements_grant_bulk

    entitlements_grant_bulk(participant_ids=participant_ids, actor=actor)
