"""entitlements_grant_bulk against entitlements_grant, participant by participant.

The comparison runs the same participants both ways from the same database state and the same
clock: first one by one through `entitlements_grant` (then rolled back), then in bulk. Both must
leave the same entitlements, ledger transactions, legs and balances and audit events; ids that a
sequence hands out (entitlements, ledger transactions and accounts) are compared through what they
stand for, since a rolled-back run still advances PostgreSQL's sequences."""

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.incentives import entitlements as entitlements_module
from prakerja.incentives.entitlements import entitlements_grant, entitlements_grant_bulk
from prakerja.incentives.models import Entitlement, PaymentAccount
from prakerja.ledger.models import Account, AccountKind, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.models import Order, Review
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant
from tests.incentives.kit import SYSTEM, balance, completed_and_reviewed, institution
from tests.orders.kit import credited, scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 21, 16, 30, 5, 125_000, tzinfo=datetime.UTC)  # 23:30 WIB
MONTHLY = 600_000  # the 2020 scheme: 4 × Rp600.000


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


@pytest.fixture
def ovo() -> Partner:
    return institution("ovo")[0]


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


# --- setup shared with test_fraud_holds and test_accounts_bulk -------------------------------------


def undoubted(people: list[Participant]) -> list[Participant]:
    """No completion of theirs in doubt: the kit's completions come seconds after redemption and
    its reviews share one text, which the orders app flags."""
    Order.objects.filter(participant__in=people).update(flag_fast_completion=False)
    Review.objects.filter(participant__in=people).update(flag_identical_text=False)
    return people


def verified_account(person: Participant, on: Partner) -> PaymentAccount:
    """A verified e-wallet of the participant's phone (as an answered inquiry leaves it)."""
    return PaymentAccount.objects.create(
        participant=person,
        institution=on,
        account_type="e_wallet",
        account_number=person.registrant.phone,
        status="verified",
        holder_name=f"Peserta {person.pk}",
        kyc_level="upgraded",
        checked_at=timezone.now(),
    )


def entitled(count: int, on: Partner) -> list[Participant]:
    """Participants who meet every condition of an incentive and have none yet."""
    people = undoubted(completed_and_reviewed(count))
    for person in people:
        verified_account(person, on)
    return people


def ledger_state() -> dict[str, Any]:
    """Entitlements, the ledger and audit events, independent of sequence values."""
    names = {
        pk: f"{participant}/{kind}/{sequence}"
        for pk, participant, kind, sequence in Entitlement.objects.values_list(
            "pk", "participant_id", "kind", "sequence"
        )
    }
    account_of = {
        pk: (kind, owner)
        for pk, kind, owner in Account.objects.values_list("pk", "kind", "owner_id")
    }

    def key(text: str) -> str:
        prefix, _, rest = text.partition(":")
        return f"{prefix}:{names[int(rest)]}" if prefix == "entitlement" else text

    key_of = {
        pk: key(idempotency_key)
        for pk, idempotency_key in Transaction.objects.values_list("pk", "idempotency_key")
    }
    columns = [f.attname for f in Entitlement._meta.concrete_fields if f.attname != "id"]
    return {
        "entitlements": sorted(
            (tuple(row.items()) for row in Entitlement.objects.values(*columns)), key=repr
        ),
        "transactions": sorted(
            (key_of[pk], kind, actor)
            for pk, kind, actor in Transaction.objects.values_list("pk", "kind", "actor")
        ),
        "legs": sorted(
            (key_of[txn], account_of[account], amount)
            for txn, account, amount in Leg.objects.values_list(
                "transaction_id", "account_id", "amount"
            )
        ),
        "balances": sorted(
            (account_of[pk], amount) for pk, amount in Balance.objects.values_list("pk", "amount")
        ),
        "audit": sorted(
            (actor, event_type, subject_type, subject_id, json.dumps(details, sort_keys=True))
            for actor, event_type, subject_type, subject_id, details in AuditEvent.objects.values_list(
                "actor_label", "event_type", "subject_type", "subject_id", "details"
            )
        ),
    }


# --- the comparison -------------------------------------------------------------------------------


def both_ways(participant_ids: list[int]) -> int:
    """Grant one by one (rolled back), then in bulk, at the same moment: the same database."""
    with clock(NOW):
        with transaction.atomic():
            expected = sum(
                bool(entitlements_grant(participant_id=pk, actor=SYSTEM)) for pk in participant_ids
            )
            expected_state = ledger_state()
            transaction.set_rollback(True)
        granted = entitlements_grant_bulk(participant_ids=participant_ids, actor=SYSTEM)
        got_state = ledger_state()
    assert granted == expected
    for part in expected_state:
        assert got_state[part] == expected_state[part], part
    assert ledger_integrity_report().ok
    return granted


def test_a_bulk_grant_writes_what_the_per_item_grant_writes_for_every_condition(ovo: Partner):
    clean, fast, ring, both, already, revoked, unreviewed, uncertified, checking, no_account = (
        entitled(10, ovo)
    )
    Order.objects.filter(participant__in=[fast, both]).update(flag_fast_completion=True)
    Review.objects.filter(participant__in=[ring, both]).update(flag_identical_text=True)
    entitlements_grant(participant_id=already.pk, actor=SYSTEM)
    Participant.objects.filter(pk=revoked.pk).update(status="revoked")
    Review.objects.filter(participant=unreviewed).delete()
    Order.objects.filter(participant=uncertified).update(certificate_number="")
    PaymentAccount.objects.filter(participant=checking).update(status="checking")
    PaymentAccount.objects.filter(participant=no_account).update(status="rejected")
    (never_trained,) = credited(1)
    verified_account(never_trained, ovo)
    people = [
        clean,
        fast,
        ring,
        both,
        already,
        revoked,
        unreviewed,
        uncertified,
        checking,
        no_account,
        never_trained,
    ]

    granted = both_ways([p.pk for p in people] + [clean.pk, 10**9])

    assert granted == 4
    rows = {
        (participant, sequence): (status, reason, amount, due_on)
        for participant, sequence, status, reason, amount, due_on in Entitlement.objects.exclude(
            participant=already
        ).values_list("participant_id", "sequence", "status", "hold_reason", "amount_idr", "due_on")
    }
    today = datetime.date(2026, 11, 21)  # 23:30 WIB
    due = [
        today,
        datetime.date(2026, 12, 21),
        datetime.date(2027, 1, 21),
        datetime.date(2027, 2, 21),
    ]
    expected = {}
    for person, status, reason in [
        (clean, "due", ""),
        (fast, "held", "FAST_COMPLETION"),
        (ring, "held", "REVIEW_FLAGGED"),
        (both, "held", "FAST_COMPLETION"),
    ]:
        for sequence in range(1, 5):
            expected[(person.pk, sequence)] = (status, reason, MONTHLY, due[sequence - 1])
    assert rows == expected
    # Held or not, what the program owes is accrued.
    for person in (clean, fast, ring, both, already):
        assert balance(AccountKind.INCENTIVE_PAYABLE, person.pk) == 4 * MONTHLY
    assert balance(AccountKind.INCENTIVE_PAYABLE) == 5 * 4 * MONTHLY
    granted_details = {
        int(subject): details
        for subject, details in AuditEvent.objects.filter(
            event_type="entitlements.granted"
        ).values_list("subject_id", "details")
    }
    first = {"incentives": 4, "amount_idr": 4 * MONTHLY, "first_due_on": "2026-11-21"}
    assert {pk: d for pk, d in granted_details.items() if pk != already.pk} == {
        clean.pk: first,
        fast.pk: {**first, "hold_reason": "FAST_COMPLETION"},
        ring.pk: {**first, "hold_reason": "REVIEW_FLAGGED"},
        both.pk: {**first, "hold_reason": "FAST_COMPLETION"},
    }


def test_a_second_bulk_grant_grants_nothing_and_changes_nothing(ovo: Partner):
    people = entitled(3, ovo)
    ids = [p.pk for p in people]
    assert entitlements_grant_bulk(participant_ids=ids, actor=SYSTEM) == 3
    before = ledger_state()

    assert entitlements_grant_bulk(participant_ids=ids, actor=SYSTEM) == 0
    assert entitlements_grant(participant_id=people[0].pk, actor=SYSTEM) == []

    assert ledger_state() == before
    assert Entitlement.objects.count() == 12
    assert AuditEvent.objects.filter(event_type="entitlements.granted").count() == 3


@pytest.mark.parametrize(
    "condition",
    ["revoked", "granted_already", "no_review", "no_certificate", "not_completed", "no_account"],
)
def test_a_participant_missing_a_condition_is_granted_nothing(ovo: Partner, condition: str):
    (person,) = entitled(1, ovo)
    if condition == "revoked":
        Participant.objects.filter(pk=person.pk).update(status="revoked")
    elif condition == "granted_already":
        Entitlement.objects.create(
            participant=person, kind="incentive", sequence=2, amount_idr=1, due_on=NOW.date()
        )
    elif condition == "no_review":
        Review.objects.filter(participant=person).delete()
    elif condition == "no_certificate":
        Order.objects.filter(participant=person).update(certificate_number="")
    elif condition == "not_completed":
        Review.objects.filter(participant=person).delete()
        Order.objects.filter(participant=person).update(status="redeemed")
    else:
        PaymentAccount.objects.filter(participant=person).update(status="checking")
    before = ledger_state()

    assert entitlements_grant_bulk(participant_ids=[person.pk], actor=SYSTEM) == 0

    assert ledger_state() == before


def test_chunks_take_a_constant_number_of_statements(ovo: Partner, monkeypatch):
    small, large, split = entitled(2, ovo), entitled(6, ovo), entitled(5, ovo)
    with CaptureQueriesContext(connection) as two:
        assert entitlements_grant_bulk(participant_ids=[p.pk for p in small], actor=SYSTEM) == 2
    with CaptureQueriesContext(connection) as six:
        assert entitlements_grant_bulk(participant_ids=[p.pk for p in large], actor=SYSTEM) == 6
    assert len(six.captured_queries) == len(two.captured_queries) == 17

    monkeypatch.setattr(entitlements_module, "GRANT_CHUNK", 2)
    assert entitlements_grant_bulk(participant_ids=[p.pk for p in split], actor=SYSTEM) == 5
    assert Entitlement.objects.filter(participant__in=split).count() == 20
    assert balance(AccountKind.INCENTIVE_PAYABLE) == 13 * 4 * MONTHLY
    assert ledger_integrity_report().ok
