"""Many requests at once against one balance or one key. On PostgreSQL (CI) these race for real row
locks; on SQLite the same tests pass because writers queue on the database lock."""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from prakerja.common.actors import Actor
from prakerja.common.errors import InsufficientBalance
from prakerja.ledger.models import AccountKind, Transaction
from prakerja.ledger.selectors import balance_of, ledger_integrity_report
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
    transfer,
)

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(count: int, work: Callable[[int], str]) -> Counter[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait()
            outcome = work(index)
        except Exception as error:
            outcome = f"error:{type(error).__name__}:{error}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(outcomes)


def funded_participant(amount: int) -> tuple[int, int, int]:
    actor = Actor.system("tests")
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    participant = account_get_or_create(kind=AccountKind.TRAINING_BALANCE, owner_id=1).pk
    platform = account_get_or_create(kind=AccountKind.PLATFORM_PAYABLE, owner_id=1).pk
    transfer(
        idempotency_key="credit:1",
        kind="training_credit",
        from_account_id=budget,
        to_account_id=participant,
        amount=amount,
        actor=actor,
    )
    return budget, participant, platform


def test_twenty_concurrent_spends_of_rp100000_from_rp1000000_exactly_ten_succeed():
    _, participant, platform = funded_participant(1_000_000)

    def spend(index: int) -> str:
        try:
            transfer(
                idempotency_key=f"purchase:{index}",
                kind="purchase",
                from_account_id=participant,
                to_account_id=platform,
                amount=100_000,
                actor=Actor.system("tests"),
            )
        except InsufficientBalance:
            return "refused"
        return "spent"

    outcomes = run_at_once(20, spend)

    assert outcomes == Counter({"spent": 10, "refused": 10})
    assert balance_of(participant) == 0
    assert balance_of(platform) == 1_000_000
    assert Transaction.objects.filter(kind="purchase").count() == 10
    assert ledger_integrity_report().ok


def test_one_key_posted_by_ten_requests_at_once_moves_money_once():
    budget, participant, _ = funded_participant(1)

    def credit(index: int) -> str:
        result = transfer(
            idempotency_key="credit:again",
            kind="training_credit",
            from_account_id=budget,
            to_account_id=participant,
            amount=500_000,
            actor=Actor.system("tests"),
        )
        return "created" if result.created else "replayed"

    outcomes = run_at_once(10, credit)

    assert outcomes == Counter({"created": 1, "replayed": 9})
    assert balance_of(participant) == 500_001
    assert ledger_integrity_report().ok


def test_two_workers_posting_overlapping_chunks_credit_each_participant_once():
    actor = Actor.system("tests")
    budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
    accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=range(1, 301))
    postings = [
        Posting(f"credit:{owner}", ((budget, -1_000_000), (account, 1_000_000)))
        for owner, account in sorted(accounts.items())
    ]
    halves = [postings[:200], postings[100:]]  # owners 101..200 are in both chunks

    outcomes = run_at_once(
        2,
        lambda i: str(
            transactions_post_bulk(kind="training_credit", postings=halves[i], actor=actor)
        ),
    )

    assert sum(1 for outcome in outcomes.elements() if outcome.startswith("error")) == 0
    assert Transaction.objects.filter(kind="training_credit").count() == 300
    assert balance_of(budget) == -300_000_000
    assert {balance_of(account) for account in accounts.values()} == {1_000_000}
    assert ledger_integrity_report().ok
