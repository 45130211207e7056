"""Reviews of completed trainings (program.md §4 and §7): the service that writes them and the
selectors the catalog and the incentives read.

The rules, all from the participant's own scheme (waves.ProgramScheme) except the star scale:

* only the order's participant reviews it, and only once the platform reported it completed;
* one review per order: submitting again is an edit, allowed for `review_edit_days` days after the
  review was first written (REVIEW_LOCKED after);
* 1 to 5 stars, and a text of at least `review_min_chars` characters once trimmed (at most
  TEXT_MAX_CHARS, a storage limit);
* the training's `rating_count` and `rating_sum` (read by the catalog's Bayesian rating) change in
  the same transaction by an UPDATE adding to them: +1 and +stars for a new review, the difference
  of the stars for an edit; so they always equal the count and the sum of the training's reviews;
* the suspicious-pattern flags (orders.review_flags) are set in the same transaction too.

The rules of the content are pure functions (orders/review_rules.py); writing is set-based
(orders/review_bulk.py), and review_submit is its chunk of one.

What other participants see of a review is its stars, text, date and the writer's first initial:
never a name, NIK or card number.
"""

import datetime
from dataclasses import dataclass

from django.db.models.functions import Substr, Trim, Upper

from prakerja.catalog.models import Training, TrainingStatus
from prakerja.catalog.search import bayesian_rating, rating_prior
from prakerja.common.actors import Actor
from prakerja.common.errors import NotFound, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.orders.review_bulk import reviews_submit_bulk
from prakerja.orders.review_rules import STARS_MAX, STARS_MIN, TEXT_MAX_CHARS, text_hash
from prakerja.waves.models import Participant

__all__ = ["STARS_MAX", "STARS_MIN", "TEXT_MAX_CHARS", "review_submit", "text_hash"]

PER_PAGE_DEFAULT = 10
PER_PAGE_MAX = 50


def review_submit(
    *, participant: Participant, order: Order | int, stars: int, text: str, actor: Actor
) -> Review:
    """Write the participant's review of a completed order, or change it within the scheme's edit
    window. Refuses with ORDER_NOT_FOUND (404: no such order, or another participant's),
    REVIEW_NOT_ALLOWED_YET (409: not completed), REVIEW_LOCKED (409: the edit window has passed)
    and VALIDATION_FAILED (422, details by field: stars OUT_OF_RANGE, text TOO_SHORT or TOO_LONG).
    A refused call changes nothing. The chunk of one of reviews_submit_bulk (orders/review_bulk.py),
    the one implementation of these rules."""
    order_id = order if isinstance(order, int) else order.pk
    [answer] = reviews_submit_bulk(reviews=[(participant.pk, order_id, stars, text)], actor=actor)
    if isinstance(answer, Refused):
        raise answer.error
    return Review.objects.get(pk=answer)


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
