"""Reviews of completed trainings (program.md §4 and §7): the service that writes them and the
selectors the catalog and the incentives read.

The rules, all from the participant's own scheme (waves.ProgramScheme) except the star scale:

* only the order's participant reviews it, and only once the platform reported it completed;
* one review per order: submitting again is an edit, allowed for `review_edit_days` days after the
  review was first written (REVIEW_LOCKED after);
* 1 to 5 stars, and a text of at least `review_min_chars` characters once trimmed (at most
  TEXT_MAX_CHARS, a storage limit);
* the training's `rating_count` and `rating_sum` (read by the catalog's Bayesian rating) change in
  the same transaction by F() updates: +1 and +stars for a new review, the difference of the stars
  for an edit; so they always equal the count and the sum of the training's reviews;
* the suspicious-pattern flags (orders.review_flags) are set in the same transaction too.

What other participants see of a review is its stars, text, date and the writer's first initial:
never a name, NIK or card number.
"""

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Substr, Trim, Upper
from django.utils import timezone

from prakerja.audit.services import audit_record
from prakerja.catalog.flags import words
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.catalog.search import bayesian_rating, rating_prior
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.common.text import CHARACTER_INVALID, text_problem
from prakerja.orders import review_flags
from prakerja.orders.errors import OrderNotFound
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.orders.review_errors import ReviewLocked, ReviewNotAllowedYet, review_invalid
from prakerja.waves.models import Participant

STARS_MIN = 1
STARS_MAX = 5
TEXT_MAX_CHARS = 2000
PER_PAGE_DEFAULT = 10
PER_PAGE_MAX = 50


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the text's words: lower case, without accents or punctuation, one space
    between words, so "Sangat  bagus!" and "sangat bagus" are the same text."""
    return hashlib.sha256(" ".join(words(text)).encode()).hexdigest()


def review_submit(
    *, participant: Participant, order: Order | int, stars: int, text: str, actor: Actor
) -> Review:
    """Write the participant's review of a completed order, or change it within the scheme's edit
    window. Refuses with ORDER_NOT_FOUND (404: no such order, or another participant's),
    REVIEW_NOT_ALLOWED_YET (409: not completed), REVIEW_LOCKED (409: the edit window has passed)
    and VALIDATION_FAILED (422, details by field: stars OUT_OF_RANGE, text TOO_SHORT or TOO_LONG).
    A refused call changes nothing."""
    scheme = participant.scheme
    text = (text or "").strip()
    refusal = review_refusal(stars, text, scheme.review_min_chars)
    order_id = order if isinstance(order, int) else order.pk
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order_id).first()
        if locked is None or locked.participant_id != participant.pk:
            raise OrderNotFound(details={"order_id": order_id})
        if locked.status != OrderStatus.COMPLETED:
            raise ReviewNotAllowedYet(details={"order_id": order_id, "status": locked.status})
        existing = Review.objects.filter(order_id=locked.pk).first()
        now = timezone.now()
        if existing is not None and now >= existing.created_at + datetime.timedelta(
            days=scheme.review_edit_days
        ):
            raise ReviewLocked(
                details={"order_id": order_id, "review_id": existing.pk},
                days=scheme.review_edit_days,
            )
        if refusal is not None:
            raise refusal
        if existing is None:
            return _review_create(locked, stars=stars, text=text, actor=actor)
        return _review_edit(existing, stars=stars, text=text, now=now, actor=actor)


def review_refusal(stars: Any, text: str, min_chars: int) -> ApplicationError | None:
    """Why these stars and this (trimmed) text cannot be a review, or None: the one rule of
    review_submit and its set-based twin. Text under the one policy of common/text.py first."""
    if text_problem(text, multiline=True):
        return ValidationFailed(details={"text": CHARACTER_INVALID})
    stars_invalid = isinstance(stars, bool) or not isinstance(stars, int)
    stars_invalid = stars_invalid or not STARS_MIN <= stars <= STARS_MAX
    text_bad = not min_chars <= len(text) <= TEXT_MAX_CHARS
    if not stars_invalid and not text_bad:
        return None
    return review_invalid(
        stars_invalid=stars_invalid,
        text_length=len(text) if text_bad else None,
        min_chars=min_chars,
        max_chars=TEXT_MAX_CHARS,
    )


def _review_create(order: Order, *, stars: int, text: str, actor: Actor) -> Review:
    # Locks in one order everywhere: the order row (taken by the caller), the training's row (this
    # UPDATE, on PostgreSQL), the text's advisory lock. The time is read once the training's row is
    # held, so every review of the training already committed is older: the burst check below
    # sees them all (review_flags).
    Training.objects.filter(pk=order.training_id).update(
        rating_count=F("rating_count") + 1, rating_sum=F("rating_sum") + stars
    )
    now = timezone.now()
    review = Review(
        order=order,
        training_id=order.training_id,
        participant_id=order.participant_id,
        stars=stars,
        text=text,
        text_hash=text_hash(text),
        created_at=now,
        updated_at=now,
    )
    review_flags.texts_lock({review.text_hash})
    review.save(force_insert=True)
    review_flags.identical_text_flags_spread(review=review)
    review_flags.burst_flags_set(training_id=order.training_id, at=now)
    audit_record(
        actor=actor,
        event_type="review.submitted",
        subject=review,
        details={"order_id": order.pk, "training_id": order.training_id, "stars": stars},
    )
    # A review may be the last condition of the incentives (incentives/entitlements.py).
    from prakerja.incentives.entitlements import entitlements_after_review

    entitlements_after_review(participant_id=order.participant_id, actor=actor)
    review.refresh_from_db()
    return review


def _review_edit(
    review: Review, *, stars: int, text: str, now: datetime.datetime, actor: Actor
) -> Review:
    if review.stars == stars and review.text == text:
        return review  # the same review again: nothing to change
    before_stars, before_text, before_hash = review.stars, review.text, review.text_hash
    if stars != before_stars:  # the training's row before the texts' locks, as in a creation
        Training.objects.filter(pk=review.training_id).update(
            rating_sum=F("rating_sum") + (stars - before_stars)
        )
    review.stars, review.text, review.text_hash = stars, text, text_hash(text)
    review.updated_at = now
    review_flags.texts_lock({before_hash, review.text_hash})
    review.save(update_fields=["stars", "text", "text_hash", "updated_at"])
    if review.text_hash != before_hash:
        review_flags.identical_text_flags_spread(review=review, previous_hash=before_hash)
    audit_record(
        actor=actor,
        event_type="review.edited",
        subject=review,
        details={
            "order_id": review.order_id,
            "training_id": review.training_id,
            "stars": stars,
            "stars_before": before_stars,
            "text_changed": text != before_text,
        },
    )
    review.refresh_from_db()
    return review


# --- selectors ------------------------------------------------------------------------------------


def review_required_missing(participant: Participant | int) -> list[Order]:
    """The participant's completed orders without a review, oldest completion first: a review of
    each is required before any incentive (program.md §4)."""
    participant_id = participant if isinstance(participant, int) else participant.pk
    return list(
        Order.objects.filter(
            participant_id=participant_id, status=OrderStatus.COMPLETED, review__isnull=True
        )
        .select_related("training")
        .order_by("completed_at", "pk")
    )


def review_editable_until(review: Review, participant: Participant) -> datetime.datetime:
    """The moment the review can no longer be changed."""
    return review.created_at + datetime.timedelta(days=participant.scheme.review_edit_days)


@dataclass(frozen=True)
class PublicReview:
    """A review as other participants see it."""

    id: int
    stars: int
    text: str
    initial: str  # the first letter of the writer's name, e.g. "S."
    created_at: datetime.datetime
    edited: bool


@dataclass(frozen=True)
class ReviewPage:
    """A page of a catalog training's reviews, with the rating the catalog shows for it."""

    training_id: int
    rating: float | None  # the catalog's Bayesian average, None below rating_min_reviews
    rating_count: int
    rating_min_reviews: int
    items: list[PublicReview]
    total: int
    page: int
    pages: int
    per_page: int


def reviews_of_training(
    training_id: int, page: int = 1, per_page: int = PER_PAGE_DEFAULT
) -> ReviewPage:
    """An active training's reviews, newest first (ties by id), a page at a time. Only the first
    letter of the writer's name is read from the database. Refuses a training not in the catalog
    (no such training, or not active) with NOT_FOUND, and a page or per_page out of range with
    VALIDATION_FAILED (PAGE_INVALID)."""
    problems = {}
    if page < 1:
        problems["page"] = "PAGE_INVALID"
    if not 1 <= per_page <= PER_PAGE_MAX:
        problems["per_page"] = "PAGE_INVALID"
    if problems:
        raise ValidationFailed(details=problems)
    training = (
        Training.objects.filter(pk=training_id, status=TrainingStatus.ACTIVE)
        .values("rating_sum", "rating_count")
        .first()
    )
    if training is None:
        raise NotFound(details={"training_id": training_id})
    prior = rating_prior()
    found = Review.objects.filter(training_id=training_id)
    total = found.count()
    pages = max(1, -(-total // per_page))
    offset = (page - 1) * per_page
    rows = (
        found.order_by("-created_at", "-id")
        .annotate(initial=Upper(Substr(Trim("participant__registrant__full_name"), 1, 1)))
        .values_list("id", "stars", "text", "initial", "created_at", "updated_at")[
            offset : offset + per_page
        ]
    )
    items = [
        PublicReview(
            id=pk,
            stars=stars,
            text=text,
            initial=f"{initial.upper()}." if initial else "",
            created_at=created_at,
            edited=updated_at > created_at,
        )
        for pk, stars, text, initial, created_at, updated_at in rows
    ]
    rating = bayesian_rating(
        rating_sum=training["rating_sum"], rating_count=training["rating_count"], prior=prior
    )
    return ReviewPage(
        training_id=training_id,
        rating=rating,
        rating_count=training["rating_count"],
        rating_min_reviews=prior.weight,
        items=items,
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
    )
