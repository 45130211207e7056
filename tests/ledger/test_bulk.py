import pytest

from prakerja.common.errors import InsufficientBalance, ValidationFailed
from prakerja.ledger.models import AccountKind, Leg, Transaction
from prakerja.ledger.selectors import balance_of, ledger_integrity_report
from prakerja.ledger.services import Posting, accounts_ensure, transactions_post_bulk


def credits(budget: int, accounts: dict[int, int], amount: int) -> list[Posting]:
    return [
        Posting(f"credit:{owner}", ((budget, -amount), (account, amount)))
        for owner, account in sorted(accounts.items())
    ]


def test_bulk_credit_posts_one_transaction_per_participant(book, actor):
    accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=range(1, 251))

    result = transactions_post_bulk(
        kind="training_credit", postings=credits(book.budget.pk, accounts, 1_000_000), actor=actor
    )

    assert (result.created, result.skipped) == (250, 0)
    assert Transaction.objects.filter(kind="training_credit").count() == 250
    assert Leg.objects.count() == 500
    assert balance_of(book.budget.pk) == -250_000_000
    assert {balance_of(account) for account in accounts.values()} == {1_000_000}
    assert ledger_integrity_report().ok


def test_rerunning_a_chunk_after_partial_success_credits_nobody_twice(book, actor):
    accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=range(1, 101))
    postings = credits(book.budget.pk, accounts, 500_000)
    transactions_post_bulk(kind="training_credit", postings=postings[:40], actor=actor)

    again = transactions_post_bulk(kind="training_credit", postings=postings, actor=actor)

    assert (again.created, again.skipped) == (60, 40)
    assert Transaction.objects.count() == 100
    assert balance_of(book.budget.pk) == -50_000_000
    assert {balance_of(account) for account in accounts.values()} == {500_000}


def test_a_chunk_with_one_uncovered_spend_is_refused_whole(book, actor):
    buyers = {owner: book.participant(owner, credit=100_000) for owner in (1, 2, 3)}
    platform = book.platform(9)
    before = (Transaction.objects.count(), [balance_of(a) for a in buyers.values()])
    wanted = {1: 100_000, 2: 150_000, 3: 100_000}
    spends = [
        Posting(f"purchase:{owner}", ((account, -wanted[owner]), (platform, wanted[owner])))
        for owner, account in buyers.items()
    ]

    with pytest.raises(InsufficientBalance) as refused:
        transactions_post_bulk(kind="purchase", postings=spends, actor=actor)

    assert refused.value.details["account_id"] == buyers[2]
    assert refused.value.details["refused_accounts"] == 1
    assert (Transaction.objects.count(), [balance_of(a) for a in buyers.values()]) == before
    assert balance_of(platform) == 0


def test_repeated_keys_inside_a_chunk_are_refused(book, actor):
    account = book.participant(1)
    posting = Posting("dup", ((book.budget.pk, -1), (account, 1)))
    with pytest.raises(ValidationFailed):
        transactions_post_bulk(kind="t", postings=[posting, posting], actor=actor)
    assert Transaction.objects.count() == 0


def test_bulk_aggregates_several_legs_on_one_account(book, actor):
    platform = book.platform(4)
    buyer = book.participant(1, credit=1_000_000)
    postings = [
        Posting(f"purchase:{i}", ((buyer, -200_000), (platform, 200_000))) for i in range(5)
    ]

    transactions_post_bulk(kind="purchase", postings=postings, actor=actor)

    assert balance_of(buyer) == 0
    assert balance_of(platform) == 1_000_000
    with pytest.raises(InsufficientBalance):
        transactions_post_bulk(
            kind="purchase",
            postings=[Posting("purchase:6", ((buyer, -1), (platform, 1)))],
            actor=actor,
        )
