import pytest

from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import account_get_or_create, transfer


class Book:
    """Accounts for a test: the program budget and a few participants' training balances."""

    def __init__(self, actor):  # type: ignore[no-untyped-def]
        self.actor = actor
        self.budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET)
        self.treasury = account_get_or_create(kind=AccountKind.TREASURY_RETURN)

    def participant(self, owner_id: int, *, credit: int = 0) -> int:
        account = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=owner_id)
        if credit:
            transfer(
                idempotency_key=f"test-credit:{owner_id}",
                kind="training_credit",
                from_account_id=self.budget.pk,
                to_account_id=account.pk,
                amount=credit,
                actor=self.actor,
            )
        return account.pk

    def platform(self, owner_id: int) -> int:
        return account_get_or_create(kind=AccountKind.PLATFORM_PAYABLE, owner_id=owner_id).pk


@pytest.fixture
def book(db, actor) -> Book:  # type: ignore[no-untyped-def]
    return Book(actor)
