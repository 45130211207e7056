"""One rule, one place (issue 22): `payment_accounts_link_bulk` on N links gives what N calls of
`payment_account_link` give, and `payment_accounts_check_bulk` on N accounts what N calls of
`payment_account_check` give, on random states: the same answers (refusal codes and details),
accounts, partner events, entitlements, ledger transactions and legs, balances and audit events
(tests/incentives/test_accounts_bulk.compare: one by one rolled back, then in bulk). Each example
builds its state in a savepoint on a pool made once and rolls it back; the inquiries go over
HTTP to sandbox institutions (OVO answers, GoPay is down)."""

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.common.errors import ApplicationError
from prakerja.incentives import accounts as accounts_module
from prakerja.incentives.accounts import payment_account_check, payment_accounts_phone_changed
from prakerja.incentives.accounts_bulk import payment_accounts_check_bulk
from prakerja.incentives.entitlements import entitlements_grant
from prakerja.incentives.models import PaymentAccount
from prakerja.orders.models import Order
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant
from tests.incentives.kit import SYSTEM, completed_and_reviewed, institution, wallet
from tests.incentives.test_accounts_bulk import (
    Outcome,
    compare,
    in_bulk,
    per_item,
    spendable,
    two_banks,
)
from tests.incentives.test_entitlements_bulk import undoubted, verified_account

pytestmark = pytest.mark.django_db
__all__ = ["spendable"]  # the autouse fixture

POOL = 4
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def e_wallet(person: Participant, on: Partner, status: str) -> PaymentAccount:
    account = verified_account(person, on)
    PaymentAccount.objects.filter(pk=account.pk).update(status=status)
    return account


# --- links ----------------------------------------------------------------------------------------

NUMBERS = [
    lambda p: p.registrant.phone,  # the registered number, as kept (+62…)
    lambda p: "0" + p.registrant.phone[3:],  # the same, as typed (08…)
    lambda p: "0812",
    lambda p: "081299998888",  # someone else's number
    lambda p: "1234 5678 90",  # a virtual account's digits
    lambda p: "12ab",
]
BEFORE = ["none", "verified", "checking", "phone_changed"]


@pytest.fixture
def link_pool() -> tuple[list[Participant], dict[str, Partner]]:
    people = undoubted(completed_and_reviewed(POOL))
    partners = {code: institution(code)[0] for code in ("ovo", "gopay", "bni")}
    return people, partners


@settings(max_examples=20, deadline=None, suppress_health_check=HEALTH)
@given(
    before=st.lists(st.sampled_from(BEFORE), min_size=POOL, max_size=POOL),
    revoked=st.lists(st.booleans(), min_size=POOL, max_size=POOL),
    links=st.lists(
        st.tuples(
            st.integers(0, POOL - 1),
            st.sampled_from(["ovo", "gopay", "bni", "linkaja", "dana"]),
            st.sampled_from(range(len(NUMBERS))) | st.just(0),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_linking_in_one_call_is_linking_one_by_one(
    link_pool: tuple[list[Participant], dict[str, Partner]],
    monkeypatch: Any,
    before: list[str],
    revoked: list[bool],
    links: list[tuple[int, str, int]],
) -> None:
    people, partners = link_pool
    # Linking only: the inquiry is compared below.
    monkeypatch.setattr(accounts_module, "payment_account_check", lambda *, account: account)
    with transaction.atomic():
        for person, current, gone in zip(people, before, revoked, strict=True):
            if current in ("verified", "phone_changed"):
                verified_account(person, partners["gopay"])
                entitlements_grant(participant_id=person.pk, actor=SYSTEM)
            if current == "checking":
                e_wallet(person, partners["ovo"], "checking")
            if current == "phone_changed":
                payment_accounts_phone_changed(registrant_id=person.registrant_id, actor=SYSTEM)
            if gone:
                Participant.objects.filter(pk=person.pk).update(status="revoked")
        items = [(people[i].pk, code, NUMBERS[n](people[i])) for i, code, n in links]
        compare(lambda: per_item(items), lambda: in_bulk(items, check=False))
        transaction.set_rollback(True)


# --- inquiries ------------------------------------------------------------------------------------

# The institutions' books: what each pool participant's inquiry finds (None: not in the book).
BOOK: list[dict[str, Any] | None] = [
    {},
    {"nik": "3201010101010001"},
    {"kyc_level": "basic"},
    {"status": "inactive"},
    None,
]


@pytest.fixture
def banks(monkeypatch: Any) -> Any:
    with two_banks(monkeypatch) as (ovo, gopay):
        people = undoubted(completed_and_reviewed(len(BOOK)))
        ovo.add_accounts(
            [wallet(p, **found) for p, found in zip(people, BOOK, strict=True) if found is not None]
        )
        yield people, ovo.partner, gopay.partner


def checked_one_by_one(account_ids: list[int]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for pk in account_ids:
        try:
            account = payment_account_check(account=PaymentAccount.objects.get(pk=pk))
        except ApplicationError as error:  # pragma: no cover - the check refuses nothing
            outcomes.append((error.code, error.details))
        else:
            outcomes.append(("OK", str(account.pk)))
    return outcomes


def checked_in_bulk(account_ids: list[int]) -> list[Outcome]:
    payment_accounts_check_bulk(account_ids=account_ids, workers=3)
    return [("OK", str(pk)) for pk in account_ids]


@settings(max_examples=15, deadline=None, suppress_health_check=HEALTH)
@given(
    # Per participant: no account, or one being checked at OVO (answers) or GoPay (down), or one
    # already verified at OVO (not asked again).
    accounts=st.lists(
        st.sampled_from(["none", "ovo", "ovo", "gopay", "verified"]),
        min_size=len(BOOK),
        max_size=len(BOOK),
    ),
    doubt=st.lists(st.booleans(), min_size=len(BOOK), max_size=len(BOOK)),
    held=st.lists(st.booleans(), min_size=len(BOOK), max_size=len(BOOK)),
    picks=st.lists(st.integers(0, len(BOOK) - 1), min_size=1, max_size=7),
)
def test_checking_in_one_call_is_checking_one_by_one(
    banks: tuple[list[Participant], Partner, Partner],
    accounts: list[str],
    doubt: list[bool],
    held: list[bool],
    picks: list[int],
) -> None:
    people, ovo, gopay = banks
    with transaction.atomic():
        ids: dict[int, int] = {}
        for index, (person, where, fast, hold) in enumerate(
            zip(people, accounts, doubt, held, strict=True)
        ):
            if fast:
                Order.objects.filter(participant=person).update(flag_fast_completion=True)
            if hold:  # granted on an earlier wallet, then held: the phone number changed
                verified_account(person, gopay)
                entitlements_grant(participant_id=person.pk, actor=SYSTEM)
                payment_accounts_phone_changed(registrant_id=person.registrant_id, actor=SYSTEM)
            if where == "verified":
                ids[index] = verified_account(person, ovo).pk
            elif where != "none":
                ids[index] = e_wallet(person, ovo if where == "ovo" else gopay, "checking").pk
        chosen = [ids[i] for i in picks if i in ids]
        if chosen:
            compare(lambda: checked_one_by_one(chosen), lambda: checked_in_bulk(chosen))
        transaction.set_rollback(True)
