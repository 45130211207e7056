import pytest
from django.db import IntegrityError, connection, transaction

from prakerja.common.errors import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientBalance,
    NotFound,
    ValidationFailed,
)
from prakerja.common.immutable import AppendOnlyError
from prakerja.ledger.models import Account, AccountKind, Balance, Leg, Transaction
from prakerja.ledger.selectors import account_balance, balance_of
from prakerja.ledger.services import (
    account_get_or_create,
    accounts_ensure,
    transaction_post,
    transaction_reverse,
    transfer,
)


def snapshot() -> tuple[int, int, list[tuple[int, int]]]:
    return (
        Transaction.objects.count(),
        Leg.objects.count(),
        sorted(Balance.objects.values_list("account_id", "amount")),
    )


def test_credit_moves_money_from_budget_to_participant(book, actor):
    # given a participant with an empty training balance
    participant = book.participant(1)
    # when the budget credits Rp1.000.000
    result = transfer(
        idempotency_key="credit:1",
        kind="training_credit",
        from_account_id=book.budget.pk,
        to_account_id=participant,
        amount=1_000_000,
        actor=actor,
    )
    # then one transaction of two legs exists and both balance rows follow it
    assert result.created is True
    assert sorted(result.transaction.legs.values_list("account_id", "amount")) == sorted(
        [(book.budget.pk, -1_000_000), (participant, 1_000_000)]
    )
    assert balance_of(participant) == 1_000_000
    assert balance_of(book.budget.pk) == -1_000_000
    assert result.transaction.actor == "system:tests"
    assert account_balance(kind=AccountKind.TRAINING_BALANCE, owner_id=1) == 1_000_000


def test_replaying_a_key_returns_the_first_transaction_and_changes_nothing(book, actor):
    participant = book.participant(1)
    kwargs = dict(
        idempotency_key="credit:1",
        kind="training_credit",
        from_account_id=book.budget.pk,
        to_account_id=participant,
        amount=1_000_000,
        actor=actor,
    )
    first = transfer(**kwargs)
    before = snapshot()

    again = transfer(**kwargs)

    assert again.created is False
    assert again.transaction.pk == first.transaction.pk
    assert snapshot() == before


def test_same_key_with_other_legs_is_refused_and_changes_nothing(book, actor):
    participant = book.participant(1)
    transfer(
        idempotency_key="credit:1",
        kind="training_credit",
        from_account_id=book.budget.pk,
        to_account_id=participant,
        amount=1_000_000,
        actor=actor,
    )
    before = snapshot()

    with pytest.raises(IdempotencyKeyReused) as refused:
        transfer(
            idempotency_key="credit:1",
            kind="training_credit",
            from_account_id=book.budget.pk,
            to_account_id=participant,
            amount=999_999,
            actor=actor,
        )

    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert refused.value.http_status == 409
    assert snapshot() == before


def test_spend_beyond_balance_is_refused_and_changes_nothing(book, actor):
    participant = book.participant(1, credit=300_000)
    platform = book.platform(7)
    before = snapshot()

    with pytest.raises(InsufficientBalance) as refused:
        transfer(
            idempotency_key="purchase:1",
            kind="purchase",
            from_account_id=participant,
            to_account_id=platform,
            amount=300_001,
            actor=actor,
        )

    assert refused.value.details == {
        "account_id": participant,
        "balance_idr": 300_000,
        "change_idr": -300_001,
        "refused_accounts": 1,
    }
    assert snapshot() == before
    assert not Transaction.objects.filter(idempotency_key="purchase:1").exists()


def test_spending_the_exact_balance_leaves_zero(book, actor):
    participant = book.participant(1, credit=300_000)
    platform = book.platform(7)

    transfer(
        idempotency_key="purchase:1",
        kind="purchase",
        from_account_id=participant,
        to_account_id=platform,
        amount=300_000,
        actor=actor,
    )

    assert balance_of(participant) == 0
    assert balance_of(platform) == 300_000


@pytest.mark.parametrize(
    ("legs", "field", "problem"),
    [
        ([(1, 100)], "legs", "a transaction needs at least two legs"),
        ([(1, 100), (2, -99)], "legs", "legs must sum to zero, they sum to 1"),
        ([(1, 0), (2, 0)], "legs", "a leg cannot be zero"),
        ([(1, 100), (1, -100)], "legs", "each account appears once per transaction"),
    ],
)
def test_malformed_transactions_are_refused_and_change_nothing(book, actor, legs, field, problem):
    ids = [book.budget.pk, book.participant(1)]
    real_legs = [(ids[account - 1], amount) for account, amount in legs]
    before = snapshot()

    with pytest.raises(ValidationFailed) as refused:
        transaction_post(idempotency_key="bad", kind="test", legs=real_legs, actor=actor)

    assert refused.value.details == {field: problem}
    assert snapshot() == before


@pytest.mark.parametrize("amount", [1.5, 100.0, True])
def test_amounts_that_are_not_whole_rupiah_are_refused(book, actor, amount):
    participant = book.participant(1)
    before = snapshot()
    with pytest.raises(TypeError):
        transaction_post(
            idempotency_key="float",
            kind="test",
            legs=[(book.budget.pk, -amount), (participant, amount)],
            actor=actor,
        )
    assert snapshot() == before


def test_empty_and_overlong_keys_are_refused(book, actor):
    participant = book.participant(1)
    for key in ("", "k" * 201):
        with pytest.raises(ValidationFailed) as refused:
            transaction_post(
                idempotency_key=key,
                kind="test",
                legs=[(book.budget.pk, -1), (participant, 1)],
                actor=actor,
            )
        assert refused.value.details == {"idempotency_key": "must be 1 to 200 characters"}
    assert Transaction.objects.count() == 0


def test_reversal_undoes_a_transaction_once(book, actor):
    participant = book.participant(1, credit=1_000_000)
    platform = book.platform(7)
    purchase = transfer(
        idempotency_key="purchase:1",
        kind="purchase",
        from_account_id=participant,
        to_account_id=platform,
        amount=250_000,
        actor=actor,
    ).transaction

    reversal = transaction_reverse(transaction_id=purchase.pk, actor=actor, reason="typo")
    again = transaction_reverse(transaction_id=purchase.pk, actor=actor, reason="typo")

    assert reversal.created is True
    assert again.created is False and again.transaction.pk == reversal.transaction.pk
    assert reversal.transaction.reverses_id == purchase.pk
    assert balance_of(participant) == 1_000_000
    assert balance_of(platform) == 0
    assert Transaction.objects.filter(reverses=purchase).count() == 1


def test_a_second_reversal_under_another_key_is_refused_by_the_database(book, actor):
    participant = book.participant(1, credit=1_000)
    credit = Transaction.objects.get(idempotency_key="test-credit:1")
    transaction_reverse(transaction_id=credit.pk, actor=actor, reason="first")
    before = snapshot()
    with pytest.raises(AlreadyReversed):
        transaction_post(
            idempotency_key="sneaky-second-reversal",
            kind="reversal",
            legs=[(participant, 1_000), (book.budget.pk, -1_000)],
            actor=actor,
            reverses=credit,
        )
    assert snapshot() == before


def test_reversing_money_already_spent_is_refused(book, actor):
    participant = book.participant(1, credit=1_000_000)
    platform = book.platform(7)
    transfer(
        idempotency_key="purchase:1",
        kind="purchase",
        from_account_id=participant,
        to_account_id=platform,
        amount=900_000,
        actor=actor,
    )
    credit = Transaction.objects.get(idempotency_key="test-credit:1")
    before = snapshot()
    with pytest.raises(InsufficientBalance):
        transaction_reverse(transaction_id=credit.pk, actor=actor, reason="clawback")
    assert snapshot() == before


def test_reversing_an_unknown_transaction_is_not_found(db, actor):
    with pytest.raises(NotFound):
        transaction_reverse(transaction_id=999_999, actor=actor, reason="x")


def test_transactions_and_legs_cannot_be_edited_or_deleted(book, actor):
    book.participant(1, credit=500)
    txn = Transaction.objects.get()
    leg = Leg.objects.first()
    assert leg is not None
    txn.memo = "changed"
    with pytest.raises(AppendOnlyError):
        txn.save()
    with pytest.raises(AppendOnlyError):
        leg.delete()
    with pytest.raises(AppendOnlyError):
        Leg.objects.filter(pk=leg.pk).update(amount=1)
    with pytest.raises(AppendOnlyError):
        Transaction.objects.all().delete()
    # raw SQL is stopped by the database trigger
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_leg SET amount = amount + 1")
    assert Leg.objects.get(pk=leg.pk).amount == leg.amount


def test_database_refuses_a_negative_participant_balance_written_by_hand(book):
    participant = book.participant(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(account_id=participant).update(amount=-1)
    assert balance_of(participant) == 0


def test_accounts_are_one_per_owner_and_kind(db):
    first = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=5)
    second = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=5)
    payable = account_get_or_create(kind=AccountKind.INCENTIVE_PAYABLE, owner_id=5)
    assert first.pk == second.pk
    assert payable.pk != first.pk
    assert Account.objects.count() == 2
    assert Balance.objects.filter(account_id__in=[first.pk, payable.pk]).count() == 2


def test_owner_rules_per_kind(db):
    with pytest.raises(ValidationFailed):
        account_get_or_create(kind=AccountKind.TRAINING_BALANCE)
    with pytest.raises(ValidationFailed):
        account_get_or_create(kind=AccountKind.PROGRAM_BUDGET, owner_id=3)
    assert Account.objects.count() == 0


def test_accounts_ensure_creates_missing_and_reuses_existing(db):
    existing = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=2)
    ids = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=[1, 2, 3, 3])
    assert set(ids) == {1, 2, 3}
    assert ids[2] == existing.pk
    assert Account.objects.filter(kind=AccountKind.TRAINING_BALANCE).count() == 3
    assert Balance.objects.filter(account_id__in=ids.values(), amount=0).count() == 3
