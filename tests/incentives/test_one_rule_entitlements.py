"""One rule, one place (issue 22): `entitlements_grant_bulk` on N participants gives what N calls
of `entitlements_grant` give, on random states: the same participants granted, entitlements
(holds included), ledger transactions and legs, balances and audit events
(tests/incentives/test_entitlements_bulk.both_ways: one by one rolled back, then in bulk). Each
example builds its state in a savepoint on a pool made once and rolls it back."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.incentives.entitlements import entitlements_grant
from prakerja.incentives.models import PaymentAccount
from prakerja.orders.models import Order, Review
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant
from tests.incentives.kit import SYSTEM
from tests.incentives.test_entitlements_bulk import both_ways, entitled, ovo, spendable

pytestmark = pytest.mark.django_db
__all__ = ["ovo", "spendable"]  # fixtures

POOL = 5
# What may be missing or in doubt, each changed on the participant's rows in the example.
CHANGES = {
    "fast": lambda pk: Order.objects.filter(participant_id=pk).update(flag_fast_completion=True),
    "ring": lambda pk: Review.objects.filter(participant_id=pk).update(flag_identical_text=True),
    "granted": lambda pk: entitlements_grant(participant_id=pk, actor=SYSTEM),
    "revoked": lambda pk: Participant.objects.filter(pk=pk).update(status="revoked"),
    "unreviewed": lambda pk: Review.objects.filter(participant_id=pk).delete(),
    "uncertified": lambda pk: Order.objects.filter(participant_id=pk).update(certificate_number=""),
    "checking": lambda pk: PaymentAccount.objects.filter(participant_id=pk).update(
        status="checking"
    ),
    "rejected": lambda pk: PaymentAccount.objects.filter(participant_id=pk).update(
        status="rejected"
    ),
}


@pytest.fixture
def pool(ovo: Partner) -> list[int]:
    return [person.pk for person in entitled(POOL, ovo)]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(
        st.lists(st.sampled_from(sorted(CHANGES)), max_size=2), min_size=POOL, max_size=POOL
    ),
    items=st.lists(st.integers(0, POOL - 1), min_size=1, max_size=8),
)
def test_granting_in_one_call_is_granting_one_by_one(
    pool: list[int], changes: list[list[str]], items: list[int]
) -> None:
    with transaction.atomic():
        for participant_id, names in zip(pool, changes, strict=True):
            for name in names:
                CHANGES[name](participant_id)
        both_ways([pool[i] for i in items])
        transaction.set_rollback(True)
