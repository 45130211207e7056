"""Completions in doubt are not paid until the PMO has looked: a grant on a completion faster than
the training, or on a review whose text another account also wrote, is held (FAST_COMPLETION before
REVIEW_FLAGGED) and still accrued; a run holds the due entitlements of participants flagged after
their grant; held entitlements never go into a run; a new account releases neither hold."""

import pytest
from django.utils import timezone, translation

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.incentives.entitlements import (
    entitlements_after_account_verified,
    entitlements_grant,
    entitlements_grant_bulk,
)
from prakerja.incentives.models import ACCOUNT_REASONS, Entitlement, HoldReason, TransferInstruction
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.incentives.selectors import reason_explained
from prakerja.incentives.sending import batches_results_query
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.models import Order, Review
from prakerja.orders.reviews import review_submit
from prakerja.orders.services import order_complete, order_purchase, voucher_redeem
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    SYSTEM,
    balance,
    completed_and_reviewed,
    institution,
    link,
    months_ahead,
    paid_total,
    sandbox_bank,
    wallet,
)
from tests.incentives.test_entitlements_bulk import entitled, undoubted, verified_account
from tests.orders.kit import active_training, platform, scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

MONTHLY = 600_000
RING_TEXT = "Kursus ini sangat membantu pekerjaan saya sehari-hari di kantor."


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


@pytest.fixture
def ovo() -> Partner:
    return institution("ovo")[0]


def completes_fast(person: Participant) -> Order:
    """A further training of 12 hours, reported completed seconds after redemption (the orders app
    flags it) and reviewed in the participant's own words."""
    seller, _ = platform(f"cepat{person.pk}")
    training = active_training(seller, f"cepat{person.pk}", price=100_000, hours=12)
    actor = Actor.participant(person.registrant_id)
    order = order_purchase(participant=person, training=training, actor=actor)
    on_platform = Actor.partner(seller.pk, seller.code)
    voucher_redeem(
        platform=seller, voucher_code=order.voucher_code, platform_user_ref="u", actor=on_platform
    )
    order_complete(
        platform=seller,
        order_id=order.pk,
        completed_at=timezone.now(),
        final_score=80,
        certificate_number=f"F-{order.pk}",
        certificate_url=f"https://example.org/f/{order.pk}",
        actor=on_platform,
    )
    review_submit(
        participant=person,
        order=order,
        stars=4,
        text=f"Selesai dalam sekejap, peserta nomor {person.pk} sangat puas.",
        actor=actor,
    )
    order.refresh_from_db()
    assert order.flag_fast_completion
    return order


def writes_ring_text(person: Participant) -> None:
    """The participant edits their review to the ring's text (the orders app flags every review
    of a text another account also wrote)."""
    review = Review.objects.filter(participant=person).order_by("pk").first()
    assert review is not None
    review_submit(
        participant=person,
        order=review.order_id,
        stars=5,
        text=RING_TEXT,
        actor=Actor.participant(person.registrant_id),
    )


def holds(person: Participant) -> list[tuple[str, str]]:
    return sorted(
        Entitlement.objects.filter(participant=person).values_list("status", "hold_reason")
    )


@pytest.mark.parametrize("path", ["single", "bulk"])
@pytest.mark.parametrize(
    ("fast", "ring", "reason"),
    [
        (True, False, "FAST_COMPLETION"),
        (False, True, "REVIEW_FLAGGED"),
        (True, True, "FAST_COMPLETION"),
    ],
)
def test_a_grant_on_a_completion_in_doubt_is_held_and_still_accrued(
    ovo: Partner, path: str, fast: bool, ring: bool, reason: str
):
    person, other = undoubted(completed_and_reviewed(2))
    if fast:
        completes_fast(person)
    if ring:
        writes_ring_text(other)
        writes_ring_text(person)
    verified_account(person, ovo)
    assert Entitlement.objects.count() == 0

    if path == "single":
        granted = len(entitlements_grant(participant_id=person.pk, actor=SYSTEM)) // 4
    else:
        granted = entitlements_grant_bulk(participant_ids=[person.pk], actor=SYSTEM)

    assert granted == 1
    assert holds(person) == [("held", reason)] * 4
    assert balance(AccountKind.INCENTIVE_PAYABLE, person.pk) == 4 * MONTHLY
    event = AuditEvent.objects.get(event_type="entitlements.granted", subject_id=str(person.pk))
    assert event.details["hold_reason"] == reason
    assert ledger_integrity_report().ok


def test_doubt_reasons_are_not_released_by_a_verified_account(ovo: Partner):
    assert not {HoldReason.FAST_COMPLETION, HoldReason.REVIEW_FLAGGED} & ACCOUNT_REASONS
    (person,) = entitled(1, ovo)
    completes_fast(person)
    entitlements_grant(participant_id=person.pk, actor=SYSTEM)

    entitlements_after_account_verified(participant_id=person.pk)

    assert holds(person) == [("held", "FAST_COMPLETION")] * 4


def test_a_run_holds_the_participants_flagged_after_their_grant_and_pays_only_the_others(
    monkeypatch, django_capture_on_commit_callbacks
):
    people = undoubted(completed_and_reviewed(5))
    ring_a, ring_b, fast, both, clean = people
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        assert [link(p, bank).status for p in people] == ["verified"] * 5
        assert {p.pk: holds(p) for p in people} == {p.pk: [("due", "")] * 4 for p in people}

        # After the grants: a review ring posts one text; two complete another training at once.
        writes_ring_text(ring_a)
        writes_ring_text(ring_b)
        completes_fast(fast)
        completes_fast(both)
        writes_ring_text(both)
        assert Entitlement.objects.filter(status="held").count() == 0

        run = run_prepare(run_date=months_ahead(4), actor=MAKER)

        prepared = AuditEvent.objects.get(event_type="disbursement.prepared")
        assert prepared.details["held"] == {
            "EXCLUDED": 0,
            "FAST_COMPLETION": 8,
            "REVIEW_FLAGGED": 8,
            "NO_ACCOUNT": 0,
        }
        assert holds(ring_a) == holds(ring_b) == [("held", "REVIEW_FLAGGED")] * 4
        assert holds(fast) == holds(both) == [("held", "FAST_COMPLETION")] * 4
        assert (run.instructions_count, run.amount_idr) == (4, 4 * MONTHLY)
        assert set(
            TransferInstruction.objects.values_list("entitlement__participant_id", flat=True)
        ) == {clean.pk}

        with django_capture_on_commit_callbacks(execute=True):
            run_approve(run=run, actor=CHECKER)
        batches_results_query()

        assert holds(clean) == [("paid", "")] * 4
        assert paid_total(bank.partner.pk) == 4 * MONTHLY
        assert bank.totals()["success_sum_idr"] == 4 * MONTHLY
        # What the held ones are owed stays payable: the PMO decides.
        assert balance(AccountKind.INCENTIVE_PAYABLE) == 4 * 4 * MONTHLY

        # A second run takes none of them either.
        again = run_prepare(run_date=months_ahead(5), actor=MAKER)
        assert again.instructions_count == 0
    assert ledger_integrity_report().ok


@pytest.mark.parametrize(
    ("code", "why", "todo"),
    [
        (
            "FAST_COMPLETION",
            "Your training was reported completed in less time than the training takes, so the "
            "program is checking the completion before paying the incentive.",
            "Nothing for now: the Kartu Prakerja program management office is checking it and "
            "the incentive is paid if the completion stands. If you believe this is a mistake, "
            "file a complaint with the Kartu Prakerja help desk.",
        ),
        (
            "REVIEW_FLAGGED",
            "Your training review has the same text as a review from another account, so the "
            "program is checking it before paying the incentive.",
            "Nothing for now: the Kartu Prakerja program management office is checking it and "
            "the incentive is paid if the review stands. If you believe this is a mistake, file "
            "a complaint with the Kartu Prakerja help desk.",
        ),
    ],
)
def test_the_participant_is_told_why_and_what_to_do(code: str, why: str, todo: str):
    with translation.override("en"):
        reason = reason_explained(code, institution="OVO")
    assert (reason.code, reason.message, reason.todo) == (code, why, todo)
