"""Property tests: any sequence of credits, spends, lapses, reversals and replays keeps every
transaction balanced, every training balance at or above zero, and replays change nothing."""

from dataclasses import dataclass

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.common.errors import InsufficientBalance
from prakerja.ledger.models import Balance, Leg, Transaction
from prakerja.ledger.selectors import balance_of, ledger_integrity_report
from prakerja.ledger.services import transaction_reverse, transfer

PARTICIPANTS = 3
PLATFORMS = 2


@dataclass(frozen=True)
class Credit:
    participant: int
    amount: int


@dataclass(frozen=True)
class Spend:
    participant: int
    platform: int
    amount: int


@dataclass(frozen=True)
class Lapse:
    participant: int


@dataclass(frozen=True)
class Reverse:
    pick: int


@dataclass(frozen=True)
class Replay:
    pick: int


amounts = st.integers(min_value=1, max_value=1_500_000)
operations = st.lists(
    st.one_of(
        st.builds(Credit, st.integers(0, PARTICIPANTS - 1), amounts),
        st.builds(Spend, st.integers(0, PARTICIPANTS - 1), st.integers(0, PLATFORMS - 1), amounts),
        st.builds(Lapse, st.integers(0, PARTICIPANTS - 1)),
        st.builds(Reverse, st.integers(0, 50)),
        st.builds(Replay, st.integers(0, 50)),
    ),
    max_size=25,
)


def state() -> tuple[int, int, list[tuple[int, int]]]:
    return (
        Transaction.objects.count(),
        Leg.objects.count(),
        sorted(Balance.objects.values_list("account_id", "amount")),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_random_postings_keep_the_ledger_balanced(book, actor, ops):
    # Each example runs in a savepoint rolled back at the end, so examples do not see each other.
    with transaction.atomic():
        participants = [book.participant(100 + i) for i in range(PARTICIPANTS)]
        platforms = [book.platform(200 + i) for i in range(PLATFORMS)]
        expected = {account: 0 for account in participants + platforms}
        expected[book.budget.pk] = 0
        expected[book.treasury.pk] = 0
        posted: list[dict] = []  # kwargs of transfers that went through
        reversible: list[int] = []

        def move(source: int, target: int, amount: int, key: str, kind: str) -> None:
            kwargs = dict(
                idempotency_key=key,
                kind=kind,
                from_account_id=source,
                to_account_id=target,
                amount=amount,
                actor=actor,
            )
            try:
                result = transfer(**kwargs)
            except InsufficientBalance:
                assert expected[source] < amount  # refused only when it was not covered
                return
            assert result.created
            expected[source] -= amount
            expected[target] += amount
            posted.append(kwargs)
            reversible.append(result.transaction.pk)

        for step, op in enumerate(ops):
            if isinstance(op, Credit):
                move(book.budget.pk, participants[op.participant], op.amount, f"c{step}", "credit")
            elif isinstance(op, Spend):
                move(
                    participants[op.participant],
                    platforms[op.platform],
                    op.amount,
                    f"s{step}",
                    "spend",
                )
            elif isinstance(op, Lapse):
                source = participants[op.participant]
                if expected[source] > 0:
                    move(source, book.treasury.pk, expected[source], f"l{step}", "lapse")
            elif isinstance(op, Reverse) and reversible:
                original = Transaction.objects.get(pk=reversible[op.pick % len(reversible)])
                legs = list(original.legs.values_list("account_id", "amount"))
                before = state()
                try:
                    result = transaction_reverse(
                        transaction_id=original.pk, actor=actor, reason="p"
                    )
                except InsufficientBalance:
                    assert state() == before
                    continue
                if result.created:
                    for account, amount in legs:
                        expected[account] -= amount
            elif isinstance(op, Replay) and posted:
                before = state()
                again = transfer(**posted[op.pick % len(posted)])
                assert not again.created
                assert state() == before

            for account, amount in expected.items():
                assert balance_of(account) == amount
            assert all(balance_of(account) >= 0 for account in participants + platforms)

        report = ledger_integrity_report()
        assert report.problems == []
        transaction.set_rollback(True)
