"""Reviews of completed trainings: who may write them, when, how they count in the catalog's rating,
the suspicious-pattern flags, and what other participants see (orders.reviews, review_flags)."""

import datetime
import hashlib
import html
import re
from typing import Any

import pytest
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.catalog.search import search_cache_forget, trainings_search
from prakerja.common.errors import ValidationFailed
from prakerja.orders import review_flags
from prakerja.orders.errors import OrderNotFound
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.orders.review_errors import ReviewLocked, ReviewNotAllowedYet, ReviewTooShort
from prakerja.orders.reviews import (
    review_required_missing,
    review_submit,
    reviews_of_training,
    text_hash,
)
from prakerja.waves.models import ProgramScheme
from tests.orders import factories as f

pytestmark = pytest.mark.django_db

GOOD = "Materinya jelas dan mudah dipraktikkan di rumah."  # 48 characters
OTHER = "Instruktur ramah, contoh soal banyak sekali, saya puas."


@pytest.fixture(autouse=True)
def _fresh_rating_prior():
    search_cache_forget()
    yield
    search_cache_forget()


@pytest.fixture
def clock(monkeypatch):
    """Pins django.utils.timezone.now (read by the review service) to a moment tests move."""

    class Clock:
        now = datetime.datetime(2020, 6, 10, 3, 0, tzinfo=datetime.UTC)

        def move(self, **delta: float) -> None:
            self.now += datetime.timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def submit(order: Order, stars: int = 4, text: str = GOOD, **kwargs: Any) -> Review:
    who = kwargs.pop("participant", order.participant)
    return review_submit(
        participant=who, order=order, stars=stars, text=text, actor=f.actor_of(who), **kwargs
    )


def state() -> dict[str, Any]:
    """What a refused call must leave as it was."""
    return {
        "reviews": list(Review.objects.order_by("pk").values()),
        "trainings": list(
            Training.objects.order_by("pk").values("pk", "rating_count", "rating_sum", "status")
        ),
        "orders": list(Order.objects.order_by("pk").values()),
        "audit": list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)),
    }


def rating_of(training: Training) -> tuple[int, int]:
    training.refresh_from_db()
    return training.rating_count, training.rating_sum


# --- writing a review ---------------------------------------------------------------------------


def test_a_completed_order_is_reviewed_and_counts_in_the_training_rating(clock):
    order = f.completed_order()

    review = submit(order, stars=4, text=f"  {GOOD}  ")

    assert Review.objects.count() == 1
    assert (review.order_id, review.training_id, review.participant_id) == (
        order.pk,
        order.training_id,
        order.participant_id,
    )
    assert review.stars == 4
    assert review.text == GOOD  # trimmed
    expected = "materinya jelas dan mudah dipraktikkan di rumah"
    assert review.text_hash == hashlib.sha256(expected.encode()).hexdigest()
    assert review.created_at == review.updated_at == clock.now
    assert (review.flag_identical_text, review.flag_burst) == (False, False)
    assert rating_of(order.training) == (1, 4)
    event = AuditEvent.objects.get(event_type="review.submitted")
    assert (event.actor_kind, event.actor_id) == ("participant", order.participant.registrant_id)
    assert (event.subject_type, event.subject_id) == ("orders.review", str(review.pk))
    assert event.details == {"order_id": order.pk, "training_id": order.training_id, "stars": 4}


def test_the_text_hash_ignores_case_accents_punctuation_and_spacing():
    assert text_hash("Sangat  BAGUS!!  Kursus café-nya.") == text_hash(
        "sangat bagus kursus cafe nya"
    )
    assert text_hash("sangat bagus") == hashlib.sha256(b"sangat bagus").hexdigest()
    assert text_hash("sangat bagus") != text_hash("sangat bagus sekali")


def test_rating_count_and_sum_stay_exact_over_reviews_and_edits(clock):
    training = f.training(f.institution(f.platform()))
    orders = [f.order(f.participant(), training) for _ in range(3)]

    submit(orders[0], stars=5)
    submit(orders[1], stars=2, text=OTHER)
    assert rating_of(training) == (2, 7)

    submit(orders[0], stars=3)  # an edit: the sum changes by the difference
    assert rating_of(training) == (2, 5)
    submit(orders[2], stars=1, text="Kurang cocok untuk pemula, terlalu cepat.")
    submit(orders[2], stars=4, text="Setelah diulang ternyata cocok untuk pemula.")
    assert rating_of(training) == (3, 9)
    reviews = Review.objects.filter(training=training)
    assert rating_of(training) == (reviews.count(), sum(r.stars for r in reviews))


def test_a_second_submit_within_the_window_edits_the_one_review(clock):
    order = f.completed_order()
    first = submit(order, stars=5, text=GOOD)
    clock.move(days=6, hours=23, minutes=59)

    edited = submit(order, stars=2, text=OTHER)

    assert Review.objects.count() == 1
    assert edited.pk == first.pk
    assert (edited.stars, edited.text, edited.text_hash) == (2, OTHER, text_hash(OTHER))
    assert edited.created_at == first.created_at
    assert edited.updated_at == clock.now
    assert rating_of(order.training) == (1, 2)
    event = AuditEvent.objects.get(event_type="review.edited")
    assert event.details == {
        "order_id": order.pk,
        "training_id": order.training_id,
        "stars": 2,
        "stars_before": 5,
        "text_changed": True,
    }


def test_the_same_review_again_changes_nothing(clock):
    order = f.completed_order()
    submit(order, stars=5)
    before = state()
    clock.move(hours=1)

    again = submit(order, stars=5, text=f"{GOOD} ")

    assert again.updated_at == again.created_at
    assert state() == before


@pytest.mark.parametrize("days", [7, 30])
def test_after_the_edit_window_the_review_is_locked(clock, days):
    order = f.completed_order()
    submit(order, stars=5)
    clock.move(days=days)
    before = state()

    with pytest.raises(ReviewLocked) as refused:
        submit(order, stars=1, text=OTHER)

    assert refused.value.http_status == 409
    assert refused.value.code == "REVIEW_LOCKED"
    assert refused.value.message("id") == (
        "Ulasan ini tidak dapat diubah lagi: ulasan hanya dapat diubah dalam 7 hari setelah "
        "ditulis."
    )
    assert "within 7 days" in refused.value.message("en")
    assert state() == before


def test_the_edit_window_is_the_participants_scheme(clock):
    participant = f.participant()
    ProgramScheme.objects.filter(pk=participant.scheme_id).update(review_edit_days=2)
    participant.refresh_from_db()
    order = f.order(participant, f.training(f.institution(f.platform())))
    submit(order, stars=5)
    clock.move(days=1, hours=23)
    submit(order, stars=4)
    clock.move(hours=1)

    with pytest.raises(ReviewLocked) as refused:
        submit(order, stars=3)

    assert "2 hari" in refused.value.message("id")
    assert rating_of(order.training) == (1, 4)


@pytest.mark.parametrize("status", [OrderStatus.ISSUED, OrderStatus.REDEEMED, OrderStatus.EXPIRED])
def test_only_a_completed_order_can_be_reviewed(status):
    order = f.order(f.participant(), f.training(f.institution(f.platform())), status)
    before = state()

    with pytest.raises(ReviewNotAllowedYet) as refused:
        submit(order)

    assert (refused.value.code, refused.value.http_status) == ("REVIEW_NOT_ALLOWED_YET", 409)
    assert refused.value.details == {"order_id": order.pk, "status": status}
    assert state() == before


def test_another_participants_order_is_not_found():
    order = f.completed_order()
    stranger = f.participant()
    before = state()

    with pytest.raises(OrderNotFound) as refused:
        submit(order, participant=stranger)
    assert (refused.value.code, refused.value.http_status) == ("ORDER_NOT_FOUND", 404)

    with pytest.raises(OrderNotFound):
        review_submit(
            participant=stranger,
            order=order.pk + 1000,
            stars=5,
            text=GOOD,
            actor=f.actor_of(stranger),
        )
    assert state() == before


def test_a_text_shorter_than_the_schemes_minimum_is_refused_naming_the_minimum():
    order = f.completed_order()
    nineteen = "Bagus sekali kelasn"  # 19 characters once trimmed
    before = state()

    with pytest.raises(ReviewTooShort) as refused:
        submit(order, text=f"   {nineteen}     ")

    # The scheme's minimum is a rule of data on record, not of the field: a 409 (issue 20).
    error = refused.value
    assert (error.code, error.http_status) == ("REVIEW_TOO_SHORT", 409)
    assert error.details == {"text": {"code": "TOO_SHORT", "min_chars": 20, "length": 19}}
    assert error.message("id") == (
        "Ulasan belum dapat disimpan: tulis ulasan paling sedikit 20 karakter (sekarang 19)."
    )
    assert error.message("en") == (
        "The review cannot be saved yet: write at least 20 characters (now 19)."
    )
    assert error.body("en")["error"]["code"] == "REVIEW_TOO_SHORT"
    assert state() == before

    assert submit(order, text=nineteen + "a").text == nineteen + "a"  # exactly 20: accepted


def test_the_minimum_length_is_read_from_the_participants_scheme():
    participant = f.participant()
    ProgramScheme.objects.filter(pk=participant.scheme_id).update(review_min_chars=50)
    participant.refresh_from_db()
    order = f.order(participant, f.training(f.institution(f.platform())))

    with pytest.raises(ReviewTooShort) as refused:
        submit(order, text=GOOD)  # 48 characters

    assert refused.value.details["text"]["min_chars"] == 50
    assert Review.objects.count() == 0


@pytest.mark.parametrize("stars", [0, 6, -1, True, "5", None, 4.0])
def test_stars_must_be_a_whole_number_from_1_to_5(stars):
    order = f.completed_order()
    before = state()

    with pytest.raises(ValidationFailed) as refused:
        submit(order, stars=stars)

    assert refused.value.details == {"stars": "OUT_OF_RANGE"}
    assert refused.value.message("en") == (
        "The review cannot be saved yet: choose from 1 to 5 stars."
    )
    assert state() == before


def test_both_problems_are_named_at_once_and_a_too_long_text_is_refused():
    order = f.completed_order()

    with pytest.raises(ValidationFailed) as both:
        submit(order, stars=9, text="jelek")
    assert both.value.details == {
        "stars": "OUT_OF_RANGE",
        "text": {"code": "TOO_SHORT", "min_chars": 20, "length": 5},
    }
    assert both.value.message("id") == (
        "Ulasan belum dapat disimpan: pilih 1 sampai 5 bintang; tulis ulasan paling sedikit 20 "
        "karakter (sekarang 5)."
    )
    with pytest.raises(ValidationFailed) as long:
        submit(order, text="a" * 2001)
    assert long.value.details == {"text": {"code": "TOO_LONG", "max_chars": 2000, "length": 2001}}
    assert Review.objects.count() == 0


def test_refusals_are_checked_in_order_ownership_status_window_then_fields(clock):
    mine = f.completed_order()
    stranger = f.participant()
    with pytest.raises(OrderNotFound):  # another's order, even with a bad text
        submit(mine, participant=stranger, stars=9, text="x")
    issued = f.order(mine.participant, f.training(f.institution(f.platform())), OrderStatus.ISSUED)
    with pytest.raises(ReviewNotAllowedYet):
        submit(issued, stars=9, text="x")
    submit(mine)
    clock.move(days=8)
    with pytest.raises(ReviewLocked):
        submit(mine, stars=9, text="x")


# --- required before incentives ----------------------------------------------------------------


def test_completed_orders_without_a_review_are_listed_oldest_completion_first(clock):
    who = f.participant()
    platform = f.platform()
    later = f.order(
        who, f.training(f.institution(platform)), completed_after=datetime.timedelta(hours=50)
    )
    sooner = f.order(
        who, f.training(f.institution(platform)), completed_after=datetime.timedelta(hours=20)
    )
    f.order(who, f.training(f.institution(platform)), OrderStatus.REDEEMED)
    f.order(who, f.training(f.institution(platform)), OrderStatus.EXPIRED)
    f.completed_order()  # someone else's

    assert review_required_missing(who) == [sooner, later]
    submit(sooner)
    assert review_required_missing(who) == [later]
    submit(later, text=OTHER)
    assert review_required_missing(who.pk) == []


# --- flags: identical texts across accounts ----------------------------------------------------------


def flags() -> dict[int, tuple[bool, bool]]:
    return {
        r.order_id: (r.flag_identical_text, r.flag_burst) for r in Review.objects.order_by("pk")
    }


def test_the_same_text_from_two_participants_flags_both_and_an_edit_clears_them(clock):
    a, b = f.completed_order(), f.completed_order()
    submit(a, text="Pelatihan ini SANGAT bagus, terima kasih!")
    assert flags() == {a.pk: (False, False)}

    submit(b, text="pelatihan ini sangat bagus terima kasih")
    assert flags() == {a.pk: (True, False), b.pk: (True, False)}

    submit(b, text="Pelatihan ini bagus, tapi videonya kurang jelas.")
    assert flags() == {a.pk: (False, False), b.pk: (False, False)}

    submit(b, text="Pelatihan ini sangat bagus... terima kasih")  # and back again
    assert flags() == {a.pk: (True, False), b.pk: (True, False)}


def test_one_participant_repeating_their_own_words_is_not_flagged(clock):
    who = f.participant()
    platform = f.platform()
    first = f.order(who, f.training(f.institution(platform)))
    second = f.order(who, f.training(f.institution(platform)))

    submit(first)
    submit(second)

    assert flags() == {first.pk: (False, False), second.pk: (False, False)}


def test_a_text_shared_by_three_keeps_its_flags_while_two_share_it(clock):
    a, b, c = f.completed_order(), f.completed_order(), f.completed_order()
    for order in (a, b, c):
        submit(order)
    assert flags() == {a.pk: (True, False), b.pk: (True, False), c.pk: (True, False)}

    submit(c, text=OTHER)

    assert flags() == {a.pk: (True, False), b.pk: (True, False), c.pk: (False, False)}
    submit(b, text=OTHER)  # b now shares c's text; a is alone
    assert flags() == {a.pk: (False, False), b.pk: (True, False), c.pk: (True, False)}


def test_a_participants_two_reviews_and_anothers_one_are_all_flagged_until_the_other_leaves(clock):
    who = f.participant()
    platform = f.platform()
    mine = [f.order(who, f.training(f.institution(platform))) for _ in range(2)]
    theirs = f.completed_order()
    for order in (*mine, theirs):
        submit(order)
    assert flags() == {
        mine[0].pk: (True, False),
        mine[1].pk: (True, False),
        theirs.pk: (True, False),
    }

    submit(theirs, text=OTHER)

    assert flags() == {
        mine[0].pk: (False, False),
        mine[1].pk: (False, False),
        theirs.pk: (False, False),
    }


# --- flags: bursts -------------------------------------------------------------------------------


def test_more_than_the_burst_limit_within_the_window_flags_the_reviews_in_it(clock):
    limits = (review_flags.BURST_REVIEWS, review_flags.BURST_WINDOW)
    assert limits == (20, datetime.timedelta(minutes=10))
    training = f.training(f.institution(f.platform()))
    early = f.order(f.participant(), training)
    submit(early, text="Ulasan pertama yang jauh lebih awal dari yang lain.")
    clock.move(minutes=10)  # exactly one window later: outside the next window
    orders = [f.order(f.participant(), training) for _ in range(21)]
    for number, order in enumerate(orders[:20]):
        submit(order, text=f"Ulasan nomor {number} tentang pelatihan ini, bagus.")
        clock.move(seconds=29)
    assert not Review.objects.filter(flag_burst=True).exists()  # 20 in the window: no burst

    submit(orders[20], text="Ulasan nomor dua puluh satu, juga bagus sekali.")

    assert set(Review.objects.filter(flag_burst=True).values_list("order_id", flat=True)) == {
        o.pk for o in orders
    }
    assert Review.objects.get(order=early).flag_burst is False


def test_reviews_of_other_trainings_do_not_make_a_burst(clock):
    platform = f.platform()
    for number in range(25):
        order = f.order(f.participant(), f.training(f.institution(platform)))
        submit(order, text=f"Ulasan nomor {number} tentang pelatihan ini, bagus.")
        clock.move(seconds=5)

    assert not Review.objects.filter(flag_burst=True).exists()


# --- what others see -----------------------------------------------------------------------------


def test_reviews_of_a_training_are_shown_newest_first_with_the_first_initial_only(clock):
    training = f.training(f.institution(f.platform()))
    names = ["siti nurhaliza", "Budi Santoso", "Ékawati Putri"]
    for number, name in enumerate(names):
        order = f.order(f.participant(name), training)
        submit(order, stars=number + 3, text=f"Ulasan nomor {number}: pelatihan yang berguna.")
        clock.move(hours=1)
    f.order(f.participant(), training, OrderStatus.REDEEMED)

    page = reviews_of_training(training.pk, page=1, per_page=2)

    assert [(r.stars, r.initial, r.text[:14]) for r in page.items] == [
        (5, "É.", "Ulasan nomor 2"),
        (4, "B.", "Ulasan nomor 1"),
    ]
    assert (page.total, page.page, page.pages, page.per_page) == (3, 1, 2, 2)
    assert (page.rating_count, page.rating, page.rating_min_reviews) == (3, None, 10)
    second = reviews_of_training(training.pk, page=2, per_page=2)
    assert [(r.stars, r.initial, r.edited) for r in second.items] == [(3, "S.", False)]


def test_the_participant_api_lists_a_trainings_reviews_without_names(client, clock):
    training = f.training(f.institution(f.platform()))
    order = f.order(f.participant("Siti Nurhaliza"), training)
    submit(order, stars=5)
    clock.move(hours=2)
    submit(order, stars=4)

    response = client.get(f"/api/v1/trainings/{training.pk}/reviews")

    assert response.status_code == 200
    assert response.json() == {
        "training_id": training.pk,
        "rating": None,
        "rating_count": 1,
        "rating_min_reviews": 10,
        "items": [
            {
                "stars": 4,
                "text": GOOD,
                "author": "S.",
                "created_at": "2020-06-10T03:00:00Z",
                "edited": True,
            }
        ],
        "total": 1,
        "page": 1,
        "pages": 1,
        "per_page": 10,
    }
    assert "Nurhaliza" not in response.content.decode()


def test_the_participant_api_refuses_a_training_outside_the_catalog_and_bad_pages(client):
    suspended = f.training(f.institution(f.platform()), status=TrainingStatus.SUSPENDED)

    assert client.get(f"/api/v1/trainings/{suspended.pk}/reviews").json()["error"]["code"] == (
        "NOT_FOUND"
    )
    assert client.get("/api/v1/trainings/999999/reviews").status_code == 404
    active = f.training(f.institution(f.platform()))
    refused = client.get(f"/api/v1/trainings/{active.pk}/reviews?page=0&per_page=51")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == {
        "page": "PAGE_INVALID",
        "per_page": "PAGE_INVALID",
    }


def test_search_ratings_reflect_the_reviews_written(clock):
    """The catalog's Bayesian rating, fed by real reviews: m = the scheme's rating_min_reviews,
    C = the mean star of all reviews of active trainings."""
    ProgramScheme.objects.filter(is_active=True).update(rating_min_reviews=2)
    institution = f.institution(f.platform())
    rated = f.training(institution, "Kelas Kopi Susu")
    few = f.training(institution, "Kelas Teh Tarik")
    texts = ["Sangat bermanfaat untuk usaha kedai saya.", OTHER, GOOD]
    for stars, text in zip([5, 4, 4], texts, strict=True):
        submit(f.order(f.participant(), rated), stars=stars, text=text)
    submit(f.order(f.participant(), few), stars=1, text="Video sering terputus, kurang puas.")
    search_cache_forget()

    hits = {hit.id: hit for hit in trainings_search(q="kelas").items}

    mean = (5 + 4 + 4 + 1) / 4  # C over every review of the active trainings: 3.5
    assert hits[rated.pk].rating_count == 3
    assert hits[rated.pk].rating == pytest.approx((2 * mean + 13) / (2 + 3))  # 4.0
    assert hits[few.pk].rating is None  # 1 review, fewer than m = 2
    ordered = trainings_search(q="kelas", sort="rating").items
    assert [hit.id for hit in ordered] == [rated.pk, few.pk]


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_the_search_card_shows_the_number_of_reviews_before_a_rating_is_shown(client, clock):
    training = f.training(f.institution(f.platform()), "Kelas Menjahit Tas")
    for number in range(2):
        submit(f.order(f.participant(), training), text=f"Ulasan nomor {number}, kelas yang rapi.")
    search_cache_forget()

    page = client.get("/pelatihan/?q=menjahit", HTTP_ACCEPT_LANGUAGE="id")

    card = page.content.decode().split(f'id="training-{training.pk}"')[1].split("</li>")[0]
    assert "Belum cukup ulasan (2 ulasan)" in _text(card)


# --- at the same moment (PostgreSQL row and advisory locks) --------------------------------------


@pytest.fixture
def scheme_2020():
    # Transactional tests empty the tables between tests, the data migration's schemes included.
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )


@pytest.mark.django_db(transaction=True)
def test_the_same_text_from_six_accounts_at_once_flags_all_six(postgres_only, scheme_2020):
    from tests.ledger.test_concurrency import run_at_once

    platform = f.platform()
    orders = [f.order(f.participant(), f.training(f.institution(platform))) for _ in range(6)]

    outcomes = run_at_once(6, lambda i: str(submit(orders[i], text=GOOD).flag_identical_text))

    assert sum(outcomes.values()) == 6 and not any(o.startswith("error") for o in outcomes)
    assert Review.objects.filter(flag_identical_text=True).count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_burst_written_at_once_is_flagged_and_counted_exactly(postgres_only, scheme_2020):
    from tests.ledger.test_concurrency import run_at_once

    training = f.training(f.institution(f.platform()))
    n = review_flags.BURST_REVIEWS + 3
    orders = [f.order(f.participant(), training) for _ in range(n)]

    outcomes = run_at_once(
        n,
        lambda i: str(
            submit(orders[i], stars=i % 5 + 1, text=f"Ulasan ke-{i}, bagus sekali.").stars
        ),
    )

    assert [o for o in outcomes if o.startswith("error")] == []
    assert Review.objects.filter(flag_burst=True).count() == n
    assert rating_of(training) == (n, sum(i % 5 + 1 for i in range(n)))


@pytest.mark.django_db(transaction=True)
def test_two_submits_for_one_order_at_once_write_one_review(postgres_only, scheme_2020):
    from tests.ledger.test_concurrency import run_at_once

    order = f.completed_order()

    outcomes = run_at_once(2, lambda i: str(submit(order, stars=i + 2, text=GOOD).pk))

    review = Review.objects.get()
    assert outcomes == {str(review.pk): 2}
    assert rating_of(order.training) == (1, review.stars)
    assert AuditEvent.objects.filter(event_type__startswith="review.").count() == 2
