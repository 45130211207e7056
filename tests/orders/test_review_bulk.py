"""reviews_submit_bulk (orders/review_bulk.py) against review_submit (orders/reviews.py).

The comparison tests run one chunk twice from the same database state and the same clock: once item
by item through review_submit (then rolled back), once through the bulk entry point. Both must answer
every item alike and leave the same reviews (stars, text, hash, times, flags), trainings' ratings,
audit events, entitlements and ledger. Ids a sequence hands out (reviews, entitlements, ledger
transactions, accounts) are compared through what they stand for, since a rolled-back run still
advances PostgreSQL's sequences."""

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.incentives.models import Entitlement, PaymentAccount
from prakerja.ledger.models import Account, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.bulk import CHUNK_MAX
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.orders.review_bulk import reviews_submit_bulk
from prakerja.orders.reviews import review_submit, text_hash
from prakerja.partners.models import Partner, PartnerKind
from prakerja.waves.models import Participant, ProgramScheme
from tests.orders import factories as f

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("simulation")
NOW = datetime.datetime(2026, 11, 21, 3, 15, 7, 250_000, tzinfo=datetime.UTC)  # 10:15 WIB
GOOD = "Materinya jelas dan mudah dipraktikkan di rumah."
OTHER = "Instruktur ramah, contoh soal banyak sekali, saya puas."
RING = "Pelatihan terbaik, sangat direkomendasikan untuk semua orang!"
RING_AGAIN = "pelatihan TERBAIK sangat direkomendasikan untuk semua orang"  # the same words
OWN = "Modul lengkap dan latihan soalnya sangat membantu."
SHARED = "Saya belajar banyak hal baru dari pelatihan singkat ini."

Item = tuple[int, int, Any, str]
Outcome = tuple[str, Any]


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


@pytest.fixture
def bank() -> Partner:
    return Partner.objects.create(code="ovo", name="OVO", kind=PartnerKind.INSTITUTION)


def with_account(who: Participant, bank: Partner) -> Participant:
    """A verified payment account (rows only: the inquiry is tested in tests/incentives)."""
    PaymentAccount.objects.create(
        participant=who,
        institution=bank,
        account_type="e_wallet",
        account_number=f"62812{who.pk:07d}",
        status="verified",
    )
    return who


# --- the comparison -------------------------------------------------------------------------------


def review_names() -> dict[str, str]:
    return {str(pk): f"review<{order}>" for pk, order in Review.objects.values_list("pk", "order")}


def entitlement_names() -> dict[str, str]:
    return {
        str(pk): f"entitlement<{participant}/{kind}/{sequence}>"
        for pk, participant, kind, sequence in Entitlement.objects.values_list(
            "pk", "participant", "kind", "sequence"
        )
    }


def state() -> dict[str, Any]:
    """Everything a review can change, independent of sequence values."""
    reviews = review_names()
    entitlements = entitlement_names()
    account_of = {
        pk: (kind, owner)
        for pk, kind, owner in Account.objects.values_list("pk", "kind", "owner_id")
    }
    key_of = {
        pk: f"entitlement:{entitlements.get(key.partition(':')[2], key)}"
        for pk, key in Transaction.objects.values_list("pk", "idempotency_key")
    }

    def details(subject_type: str, value: dict[str, Any]) -> str:
        if subject_type == "orders.review" or "review_id" in value:
            value = {k: reviews.get(str(v), v) if k == "review_id" else v for k, v in value.items()}
        return json.dumps(value, sort_keys=True)

    return {
        "reviews": sorted(
            Review.objects.values_list(
                "order_id",
                "training_id",
                "participant_id",
                "stars",
                "text",
                "text_hash",
                "created_at",
                "updated_at",
                "flag_identical_text",
                "flag_burst",
            )
        ),
        "ratings": sorted(Training.objects.values_list("pk", "rating_count", "rating_sum")),
        "orders": sorted(Order.objects.values_list("pk", "status", "updated_at")),
        "audit": sorted(
            (
                label,
                event_type,
                subject_type,
                reviews.get(subject_id, subject_id)
                if subject_type == "orders.review"
                else subject_id,
                details(subject_type, values),
            )
            for label, event_type, subject_type, subject_id, values in AuditEvent.objects.values_list(
                "actor_label", "event_type", "subject_type", "subject_id", "details"
            )
        ),
        "entitlements": sorted(
            Entitlement.objects.values_list(
                "participant_id",
                "kind",
                "sequence",
                "amount_idr",
                "due_on",
                "status",
                "hold_reason",
            )
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
    }


def outcome(value: int | Refused | Review | ApplicationError) -> Outcome:
    names = review_names()
    if isinstance(value, Refused):
        value = value.error
    if isinstance(value, ApplicationError):
        details = {
            k: names.get(str(v), v) if k == "review_id" else v for k, v in value.details.items()
        }
        return value.code, details
    return "OK", names[str(value.pk if isinstance(value, Review) else value)]


def one_by_one(items: list[Item]) -> list[Outcome]:
    outcomes = []
    for participant_id, order_id, stars, text in items:
        who = Participant.objects.select_related("scheme").get(pk=participant_id)
        try:
            review = review_submit(
                participant=who, order=order_id, stars=stars, text=text, actor=ACTOR
            )
        except ApplicationError as error:
            outcomes.append(outcome(error))
        else:
            outcomes.append(outcome(review))
    return outcomes


def in_bulk(items: list[Item]) -> list[Outcome]:
    answers = reviews_submit_bulk(reviews=items, actor=ACTOR)
    assert len(answers) == len(items)
    for index, answer in enumerate(answers):
        if isinstance(answer, Refused):
            assert answer.index == index
    return [outcome(answer) for answer in answers]


def compare(items: list[Item], moment: datetime.datetime = NOW) -> list[Outcome]:
    """Both ways from the same state at the same time: the same answers and the same database."""
    with clock(moment):
        with transaction.atomic():
            expected = one_by_one(items)
            expected_state = state()
            transaction.set_rollback(True)
        got = in_bulk(items)
        got_state = state()
    assert got == expected
    for part in expected_state:
        assert got_state[part] == expected_state[part], part
    assert ledger_integrity_report().ok
    return got


def write(order: Order, text: str, stars: int = 4, at: datetime.datetime = NOW) -> Review:
    """A review written earlier, through the per-item service."""
    with clock(at):
        return review_submit(
            participant=order.participant, order=order, stars=stars, text=text, actor=ACTOR
        )


# --- every rule -----------------------------------------------------------------------------------


def test_a_chunk_gives_what_review_submit_gives_for_every_rule(bank: Partner):
    t1 = f.training(f.institution(f.platform()))
    t2 = f.training(f.institution(f.platform()))
    people = [f.participant() for _ in range(12)]
    p = {i: person for i, person in enumerate(people, start=1)}
    for i in (1, 3, 9):
        with_account(p[i], bank)
    with_account(p[2], bank)
    Participant.objects.filter(pk=p[2].pk).update(status="revoked")  # reviewed, never entitled
    o1, o2, o3 = f.order(p[1], t1), f.order(p[2], t1), f.order(p[3], t1)
    o2b = f.order(p[2], t2)
    o4 = f.order(p[4], t1, OrderStatus.REDEEMED)
    o5, o6, o7, o8 = f.order(p[5], t1), f.order(p[6], t1), f.order(p[7], t2), f.order(p[8], t2)
    o9, o10, o11 = f.order(p[9], t2), f.order(p[10], t2), f.order(p[11], t1)
    write(o5, GOOD, at=NOW - datetime.timedelta(days=8))  # past the 7-day edit window
    write(o7, SHARED, stars=2, at=NOW - datetime.timedelta(days=2))  # p7 and p8 share a text
    write(o8, SHARED, at=NOW - datetime.timedelta(days=2))
    write(o10, OTHER, at=NOW - datetime.timedelta(days=1))  # one writer of OTHER so far
    assert Review.objects.filter(flag_identical_text=True).count() == 2
    items: list[Item] = [
        (p[1].pk, o1.pk, 5, f"  {GOOD}  "),  # new; p1 entitled by it
        (p[2].pk, o2.pk, 4, RING),
        (p[3].pk, o3.pk, 3, RING_AGAIN),  # the same words: both flagged; p3 entitled
        (p[1].pk, o2.pk, 5, GOOD),  # another participant's order
        (p[1].pk, 10**9, 5, GOOD),  # no such order
        (p[4].pk, o4.pk, 5, GOOD),  # not completed
        (p[5].pk, o5.pk, 1, OTHER),  # locked
        (p[6].pk, o6.pk, 0, "pendek"),
        (p[6].pk, o6.pk, 6, GOOD),
        (p[6].pk, o6.pk, 4, "x" * 2001),
        (p[6].pk, o6.pk, True, GOOD),
        (p[1].pk, o1.pk, 5, GOOD),  # the same review again: nothing changes
        (p[1].pk, o1.pk, 2, OTHER),  # an edit of the review written earlier in the chunk
        (p[7].pk, o7.pk, 5, RING),  # an edit into the ring: SHARED keeps one writer
        (p[9].pk, o9.pk, 4, OTHER),  # the text p10 wrote yesterday: both flagged; p9 entitled
        (p[2].pk, o2b.pk, 4, RING),  # p2 again, on another training
        (p[11].pk, o11.pk, 3, SHARED),  # SHARED again with another writer
        (p[6].pk, o6.pk, 4, OWN),  # at last valid
    ]

    got = compare(items)

    assert [code for code, _ in got] == [
        "OK",
        "OK",
        "OK",
        "ORDER_NOT_FOUND",
        "ORDER_NOT_FOUND",
        "REVIEW_NOT_ALLOWED_YET",
        "REVIEW_LOCKED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
    ]
    assert got[3][1] == {"order_id": o2.pk} and got[4][1] == {"order_id": 10**9}
    assert got[5][1] == {"order_id": o4.pk, "status": "redeemed"}
    assert got[6][1] == {"order_id": o5.pk, "review_id": f"review<{o5.pk}>"}
    assert got[7][1] == {
        "stars": "OUT_OF_RANGE",
        "text": {"code": "TOO_SHORT", "min_chars": 20, "length": 6},
    }
    assert got[8][1] == {"stars": "OUT_OF_RANGE"}
    assert got[9][1] == {"text": {"code": "TOO_LONG", "max_chars": 2000, "length": 2001}}
    assert got[10][1] == {"stars": "OUT_OF_RANGE"}
    assert got[0] == got[11] == got[12] == ("OK", f"review<{o1.pk}>")

    reviews = {r.order_id: r for r in Review.objects.all()}
    assert (reviews[o1.pk].stars, reviews[o1.pk].text) == (2, OTHER)
    assert reviews[o1.pk].created_at == reviews[o1.pk].updated_at == NOW
    assert reviews[o7.pk].updated_at == NOW > reviews[o7.pk].created_at
    assert reviews[o3.pk].text_hash == reviews[o2.pk].text_hash == text_hash(RING)
    flagged = {order for order, r in reviews.items() if r.flag_identical_text}
    # RING: p2 (twice), p3, p7; OTHER: p1, p9, p10; SHARED: p8, p11. GOOD (p5: p1 left it by
    # the edit) and OWN (p6) have one writer each.
    assert flagged == {o2.pk, o2b.pk, o3.pk, o7.pk, o1.pk, o9.pk, o10.pk, o8.pk, o11.pk}
    assert not any(r.flag_burst for r in reviews.values())
    t1.refresh_from_db()
    t2.refresh_from_db()
    # t1: o5 (4) + o1 (2) + o2 (4) + o3 (3) + o11 (3) + o6 (4); t2: o7 (5), o8 (4), o10 (4) +
    # o9 (4) + o2b (4)
    assert (t1.rating_count, t1.rating_sum) == (6, 20)
    assert (t2.rating_count, t2.rating_sum) == (5, 21)
    # With the four reviews written before the chunk.
    assert dict(AuditEvent.objects.values_list("event_type").annotate(n=Count("id"))) == {
        "review.submitted": 11,
        "review.edited": 2,
        "entitlements.granted": 3,
    }
    assert sorted(
        Entitlement.objects.values_list("participant_id", "sequence", "amount_idr", "due_on")
    ) == sorted(
        (who.pk, month, 600_000, due)
        for who in (p[1], p[3], p[9])
        for month, due in enumerate(
            [
                datetime.date(2026, 11, 21),
                datetime.date(2026, 12, 21),
                datetime.date(2027, 1, 21),
                datetime.date(2027, 2, 21),
            ],
            start=1,
        )
    )


def test_an_edit_window_of_no_days_locks_a_review_written_earlier_in_the_chunk():
    ProgramScheme.objects.filter(code="2020").update(review_edit_days=0)
    order = f.completed_order()

    got = compare(
        [
            (order.participant_id, order.pk, 4, GOOD),
            (order.participant_id, order.pk, 5, OTHER),
        ]
    )

    assert got == [
        ("OK", f"review<{order.pk}>"),
        ("REVIEW_LOCKED", {"order_id": order.pk, "review_id": f"review<{order.pk}>"}),
    ]
    assert Review.objects.get().stars == 4


def test_identical_texts_are_flagged_across_chunks_and_the_database():
    training = f.training(f.institution(f.platform()))
    orders = [f.order(f.participant(), training) for _ in range(4)]
    with clock(NOW):
        first = reviews_submit_bulk(
            reviews=[(orders[0].participant_id, orders[0].pk, 5, RING)], actor=ACTOR
        )
        mine_again = f.order(orders[0].participant, f.training(f.institution(f.platform())))
        alone = reviews_submit_bulk(
            reviews=[(mine_again.participant_id, mine_again.pk, 5, RING_AGAIN)], actor=ACTOR
        )
    assert Review.objects.filter(flag_identical_text=True).count() == 0  # one writer only

    got = compare(
        [(o.participant_id, o.pk, 4, RING if i % 2 else RING_AGAIN) for i, o in enumerate(orders)][
            1:
        ],
        NOW + datetime.timedelta(minutes=1),
    )

    assert [code for code, _ in got] == ["OK"] * 3
    assert isinstance(first[0], int) and isinstance(alone[0], int)
    assert Review.objects.filter(flag_identical_text=True).count() == 5


def test_a_burst_flags_every_review_of_the_training_in_the_window():
    busy = f.training(f.institution(f.platform()))
    calm = f.training(f.institution(f.platform()))
    early = [f.order(f.participant(), busy) for _ in range(15)]
    for i, order in enumerate(early):
        write(order, f"{GOOD} Catatan nomor {i}.", at=NOW - datetime.timedelta(minutes=5))
    write(f.order(f.participant(), busy), OTHER, at=NOW - datetime.timedelta(minutes=11))
    later = [f.order(f.participant(), busy) for _ in range(6)]
    quiet = [f.order(f.participant(), calm) for _ in range(20)]

    compare([(o.participant_id, o.pk, 4, f"{OTHER} Ulasan ke-{o.pk}.") for o in later + quiet])

    flagged = set(Review.objects.filter(flag_burst=True).values_list("order_id", flat=True))
    assert flagged == {o.pk for o in early + later}  # 21 in 10 minutes; calm's 20 are not


def test_incentives_are_held_as_the_flags_stood_when_each_review_completed_them(bank: Partner):
    training = f.training(f.institution(f.platform()))
    first, second, third, leaver, stayer = (
        f.order(with_account(f.participant(), bank), training) for _ in range(5)
    )
    # Before the chunk: two writers share SHARED (both flagged, neither has an account).
    plain = [f.order(f.participant(), training) for _ in range(2)]
    for order in plain:
        write(order, SHARED, at=NOW - datetime.timedelta(days=1))

    compare(
        [
            (first.participant_id, first.pk, 5, RING),  # alone with its text when granted
            (second.participant_id, second.pk, 5, RING_AGAIN),  # flags the first: held
            (third.participant_id, third.pk, 5, RING),
            (leaver.participant_id, leaver.pk, 4, SHARED),  # flagged when granted: held
            (plain[0].participant_id, plain[0].pk, 4, OTHER),  # SHARED keeps two writers
            (plain[1].participant_id, plain[1].pk, 4, OWN),  # the leaver is now alone with it
            (stayer.participant_id, stayer.pk, 4, GOOD),
        ]
    )

    held = {
        participant: (status, reason)
        for participant, status, reason in Entitlement.objects.filter(sequence=1).values_list(
            "participant_id", "status", "hold_reason"
        )
    }
    assert held == {
        first.participant_id: ("due", ""),
        second.participant_id: ("held", "REVIEW_FLAGGED"),
        third.participant_id: ("held", "REVIEW_FLAGGED"),
        leaver.participant_id: ("held", "REVIEW_FLAGGED"),
        stayer.participant_id: ("due", ""),
    }
    flagged = set(Review.objects.filter(flag_identical_text=True).values_list("order", flat=True))
    assert flagged == {first.pk, second.pk, third.pk}  # the flags as the chunk left them


# --- re-runs, refusals, size ----------------------------------------------------------------------


def test_a_chunk_run_again_changes_nothing(bank: Partner):
    training = f.training(f.institution(f.platform()))
    orders = [f.order(with_account(f.participant(), bank), training) for _ in range(3)]
    items: list[Item] = [(o.participant_id, o.pk, 5, RING) for o in orders]
    with clock(NOW):
        first = reviews_submit_bulk(reviews=items, actor=ACTOR)
        before = state()
        again = reviews_submit_bulk(reviews=items, actor=ACTOR)

    assert again == first
    assert all(isinstance(pk, int) for pk in again)
    assert state() == before
    assert Entitlement.objects.count() == 12
    assert Review.objects.filter(flag_identical_text=True).count() == 3
    training.refresh_from_db()
    assert (training.rating_count, training.rating_sum) == (3, 15)
    assert ledger_integrity_report().ok


def test_refused_items_write_nothing(bank: Partner):
    training = f.training(f.institution(f.platform()))
    done = f.order(with_account(f.participant(), bank), training)
    write(done, GOOD, at=NOW - datetime.timedelta(days=30))
    redeemed = f.order(with_account(f.participant(), bank), training, OrderStatus.REDEEMED)
    fresh = f.order(with_account(f.participant(), bank), training)
    before = state()

    with clock(NOW):
        answers = reviews_submit_bulk(
            reviews=[
                (done.participant_id, done.pk, 1, OTHER),
                (redeemed.participant_id, redeemed.pk, 5, GOOD),
                (fresh.participant_id, fresh.pk, 5, "terlalu pendek"),
                (redeemed.participant_id, fresh.pk, 5, GOOD),
                (10**9, fresh.pk, 5, GOOD),
            ],
            actor=ACTOR,
        )

    assert [(a.index, a.code) for a in answers if isinstance(a, Refused)] == [
        (0, "REVIEW_LOCKED"),
        (1, "REVIEW_NOT_ALLOWED_YET"),
        (2, "REVIEW_TOO_SHORT"),
        (3, "ORDER_NOT_FOUND"),
        (4, "ORDER_NOT_FOUND"),
    ]
    assert state() == before


def test_a_chunk_takes_the_same_statements_however_many_items(bank: Partner):
    training = f.training(f.institution(f.platform()))
    other = f.training(f.institution(f.platform()))
    orders = [
        f.order(with_account(f.participant(), bank), training if i % 2 else other)
        for i in range(33)
    ]
    old = orders[0]
    write(old, SHARED, at=NOW - datetime.timedelta(days=1))

    def statements(chunk: list[Order], edit: Order, ring: str) -> int:
        # A new ring each time: its first writer is granted before the others flag it.
        items: list[Item] = [(o.participant_id, o.pk, 4, ring) for o in chunk]
        items += [(edit.participant_id, edit.pk, 2, OTHER), (10**9, 10**9, 4, GOOD)]
        with clock(NOW), CaptureQueriesContext(connection) as queries:
            answers = reviews_submit_bulk(reviews=items, actor=ACTOR)
        assert sum(isinstance(a, int) for a in answers) == len(chunk) + 1
        return len(queries)

    few = statements(orders[1:4], old, RING)
    with clock(NOW):
        edited = write(orders[4], SHARED)
    assert statements(orders[5:33], edited.order, f"{RING} Dua kali.") == few
    assert Entitlement.objects.count() == 4 * 33
    assert ledger_integrity_report().ok


def test_a_chunk_is_at_most_the_limit():
    with pytest.raises(ValidationFailed) as refused:
        reviews_submit_bulk(reviews=[(1, 1, 5, GOOD)] * (CHUNK_MAX + 1), actor=ACTOR)
    assert refused.value.details == {"items": f"at most {CHUNK_MAX} per chunk, not 1001"}
    assert reviews_submit_bulk(reviews=[], actor=ACTOR) == []
