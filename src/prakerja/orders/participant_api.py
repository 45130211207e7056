"""The participant API's orders: buying a training, "my trainings" with vouchers and progress, and
reviews (the person's own, and a training's reviews in the catalog)."""

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.common.api_types import TrimmedText, Whole
from prakerja.orders.errors import TrainingNotAvailable
from prakerja.orders.models import Order, Review
from prakerja.orders.reviews import PER_PAGE_DEFAULT as REVIEWS_PER_PAGE
from prakerja.orders.reviews import PER_PAGE_MAX as REVIEWS_PER_PAGE_MAX
from prakerja.orders.reviews import (
    STARS_MAX,
    STARS_MIN,
    TEXT_MAX_CHARS,
    review_editable_until,
    review_submit,
    reviews_of_training,
)
from prakerja.orders.selectors import order_review, order_status_shown, participant_orders
from prakerja.orders.services import order_purchase
from prakerja.orders.vouchers import voucher_code_format
from prakerja.portal.api import STRICT_BODY, ErrorBody, NotAParticipant, refusals, utc
from prakerja.portal.api_params import BIGINT_MAX, IntegerText
from prakerja.registration.api_tokens import BearerToken, me
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant

router = Router()
reviews_router = Router(tags=["catalog"])


class OrderIn(Schema):
    model_config = STRICT_BODY

    training_id: Whole = Field(
        ge=1, le=BIGINT_MAX, description="The training's `id` in the catalog."
    )


class OrderTrainingOut(Schema):
    id: int
    title: str
    duration_hours: int
    url: str = Field(description="The training's page on its platform.")


class OrderPlatformOut(Schema):
    code: str
    name: str


class OrderOut(Schema):
    order_id: int
    status: str = Field(
        description="issued (redeem the voucher on the platform before `expires_at`), redeemed "
        "(the training is under way), completed, expired (not redeemed in time: the price went "
        "back to the balance), refunded or cancelled."
    )
    voucher_code: str = Field(
        description="The voucher code to give the platform, grouped as ABCD-EFGH-JKMN-P."
    )
    training: OrderTrainingOut
    platform: OrderPlatformOut
    price_idr: int
    issued_at: datetime.datetime
    expires_at: datetime.datetime = Field(description="Redeem the voucher before this (UTC).")
    redeemed_at: datetime.datetime | None
    percent: int = Field(description="Progress the platform reported, 0 to 100.")
    sessions_attended: int
    completed_at: datetime.datetime | None
    final_score: int | None
    certificate_number: str
    certificate_url: str = Field(description="The certificate, once completed; else empty.")
    review: "MyReviewOut | None" = Field(
        description="Your review of the training, once written (required before any incentive)."
    )


class ReviewIn(Schema):
    model_config = STRICT_BODY

    stars: Whole = Field(ge=STARS_MIN, le=STARS_MAX, description="1 to 5.")
    text: TrimmedText = Field(
        min_length=1,
        max_length=TEXT_MAX_CHARS,
        description="In your own words. Shorter than your scheme's minimum (20 characters in the "
        "2020 scheme) is 409 REVIEW_TOO_SHORT.",
    )


class MyReviewOut(Schema):
    stars: int
    text: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    editable_until: datetime.datetime = Field(description="You may change it until then (UTC).")


OrderOut.model_rebuild()


def _review(review: Review, participant: Participant) -> dict[str, Any]:
    return {
        "stars": review.stars,
        "text": review.text,
        "created_at": utc(review.created_at),
        "updated_at": utc(review.updated_at),
        "editable_until": utc(review_editable_until(review, participant)),
    }


def _order(order: Order, participant: Participant) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "status": order_status_shown(order),
        "voucher_code": voucher_code_format(order.voucher_code),
        "training": {
            "id": order.training.pk,
            "title": order.training.title,
            "duration_hours": order.training.duration_hours,
            "url": order.training.url,
        },
        "platform": {"code": order.platform.code, "name": order.platform.name},
        "price_idr": order.price_idr,
        "issued_at": utc(order.issued_at),
        "expires_at": utc(order.expires_at),
        "redeemed_at": utc(order.redeemed_at),
        "percent": order.percent,
        "sessions_attended": order.sessions_attended,
        "completed_at": utc(order.completed_at),
        "final_score": order.final_score,
        "certificate_number": order.certificate_number,
        "certificate_url": order.certificate_url,
        "review": _review(review, participant) if (review := order_review(order)) else None,
    }


def _participant_of(registrant: Registrant) -> Participant:
    participant = Participant.objects.filter(registrant=registrant).select_related("scheme").first()
    if participant is None:
        raise NotAParticipant()
    return participant


@router.post(
    "/orders",
    response={201: OrderOut, **refusals(422, 401, 404, 409)},
    auth=BearerToken(),
    tags=["orders"],
    operation_id="order_create",
)
def order_create(request: HttpRequest, payload: OrderIn) -> Status:
    """Buy a training with the training balance: one training per order. The answer holds the
    voucher code to redeem on the training's platform. Errors: 404 NOT_A_PARTICIPANT,
    TRAINING_NOT_AVAILABLE; 409 PARTICIPANT_NOT_ACTIVE, PURCHASE_WINDOW_OVER, BALANCE_EXPIRED,
    ORDER_ALREADY_OPEN (bought already, voucher still valid or training under way),
    INSUFFICIENT_BALANCE."""
    registrant = me(request)
    participant = _participant_of(registrant)
    training = Training.objects.filter(pk=payload.training_id).first()
    if training is None:
        raise TrainingNotAvailable(details={"training_id": payload.training_id})
    order = order_purchase(
        participant=participant, training=training, actor=Actor.participant(registrant.pk)
    )
    order = Order.objects.select_related("training", "platform").get(pk=order.pk)
    return Status(201, _order(order, participant))


@router.get(
    "/me/orders",
    response={200: list[OrderOut], **refusals(401, 404)},
    auth=BearerToken(),
    tags=["orders"],
    operation_id="orders_mine",
)
def my_orders(request: HttpRequest) -> list[dict[str, Any]]:
    """The person's trainings, newest purchase first: voucher, status, progress and certificate.
    404 NOT_A_PARTICIPANT until the person is selected in a wave."""
    participant = _participant_of(me(request))
    return [_order(order, participant) for order in participant_orders(participant.pk)]


@router.post(
    "/orders/{order_id}/review",
    response={200: MyReviewOut, 201: MyReviewOut, **refusals(422, 401, 404, 409)},
    auth=BearerToken(),
    tags=["orders"],
    operation_id="order_review_put",
)
def order_review_put(
    request: HttpRequest,
    payload: ReviewIn,
    order_id: int = Path(..., ge=1, le=BIGINT_MAX, description="`order_id` of your order."),
) -> Status:
    """Rate and review a completed training (201), or change your review within the scheme's edit
    window (200). Errors: 404 NOT_A_PARTICIPANT, ORDER_NOT_FOUND; 409 REVIEW_NOT_ALLOWED_YET (not
    completed yet), REVIEW_LOCKED (the edit window has passed); 422 VALIDATION_FAILED (stars
    OUT_OF_RANGE, text TOO_SHORT or TOO_LONG)."""
    registrant = me(request)
    participant = _participant_of(registrant)
    existed = Review.objects.filter(order_id=order_id, participant=participant).exists()
    review = review_submit(
        participant=participant,
        order=order_id,
        stars=payload.stars,
        text=payload.text,
        actor=Actor.participant(registrant.pk),
    )
    return Status(200 if existed else 201, _review(review, participant))


# --- a training's reviews in the catalog, under /trainings (after the catalog's search) --------

# Pages of reviews: enough for a training reviewed by every participant of the program.
REVIEW_PAGES_MAX = 10**6

TrainingId = Annotated[int, IntegerText(minimum=1, maximum=BIGINT_MAX)]
ReviewPage = Annotated[int, IntegerText(minimum=1, maximum=REVIEW_PAGES_MAX, code="PAGE_INVALID")]
ReviewPerPage = Annotated[
    int, IntegerText(minimum=1, maximum=REVIEWS_PER_PAGE_MAX, code="PAGE_INVALID")
]


class TrainingReviewOut(Schema):
    stars: int = Field(description="1 to 5.")
    text: str
    author: str = Field(description='The first letter of the writer\'s name, e.g. "S.".')
    created_at: datetime.datetime = Field(description="When it was written (UTC).")
    edited: bool = Field(description="Changed after it was written (allowed for a few days).")


class TrainingReviewPageOut(Schema):
    training_id: int
    rating: float | None = Field(
        description="Bayesian average (1–5, two decimals) as in the search, or null while the "
        "training has fewer reviews than `rating_min_reviews`."
    )
    rating_count: int
    rating_min_reviews: int
    items: list[TrainingReviewOut]
    total: int
    page: int
    pages: int
    per_page: int


@reviews_router.get(
    "/{training_id}/reviews",
    response={200: TrainingReviewPageOut, 404: ErrorBody, 422: ErrorBody},
    summary="A training's reviews",
    operation_id="training_reviews",
)
def training_reviews(
    request: HttpRequest,
    training_id: TrainingId,
    page: ReviewPage = 1,
    per_page: ReviewPerPage = REVIEWS_PER_PAGE,
) -> dict[str, Any]:
    """Reviews of an active training, newest first, by participants who completed it: stars,
    text and only the first letter of the writer's name. A page past the last is empty. Errors:
    404 NOT_FOUND for a training that is not in the catalog; 422 VALIDATION_FAILED naming a
    parameter that breaks its schema (`training_id`: INTEGER_REQUIRED or OUT_OF_RANGE; `page`,
    `per_page`: PAGE_INVALID)."""
    found = reviews_of_training(training_id, page=page, per_page=per_page)
    return {
        "training_id": found.training_id,
        "rating": round(found.rating, 2) if found.rating is not None else None,
        "rating_count": found.rating_count,
        "rating_min_reviews": found.rating_min_reviews,
        "items": [
            {
                "stars": r.stars,
                "text": r.text,
                "author": r.initial,
                "created_at": r.created_at.astimezone(datetime.UTC),
                "edited": r.edited,
            }
            for r in found.items
        ],
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "per_page": found.per_page,
    }
