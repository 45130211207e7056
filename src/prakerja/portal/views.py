from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from prakerja.catalog.models import Training, TrainingStatus
from prakerja.catalog.search import regency_centroid, search_options, trainings_search
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.timeutil import format_wib
from prakerja.orders.errors import TrainingNotAvailable
from prakerja.orders.models import OrderStatus
from prakerja.orders.review_errors import ReviewTooShort
from prakerja.orders.reviews import STARS_MAX as REVIEW_STARS_MAX
from prakerja.orders.reviews import STARS_MIN as REVIEW_STARS_MIN
from prakerja.orders.reviews import review_editable_until, review_submit
from prakerja.orders.selectors import (
    order_review,
    order_status_shown,
    participant_open_training_ids,
    participant_orders,
)
from prakerja.orders.services import balance_lapsed, order_purchase
from prakerja.orders.vouchers import voucher_code_format
from prakerja.portal.account_views import registrant_required, show_refusal
from prakerja.portal.forms import TrainingSearchForm
from prakerja.portal.session import current_registrant
from prakerja.registration.models import Registrant
from prakerja.waves.models import ParticipantStatus
from prakerja.waves.selectors import ParticipantCard, participant_card, scheme_active


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"scheme": scheme_active()})


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def _language() -> str:
    return get_language() or "id"


def _can_buy(card: ParticipantCard | None) -> bool:
    """Whether the person may buy now: an active participant within the first-purchase window (or
    past a first purchase). The purchase service decides the rest (balance, expiry date)."""
    return (
        card is not None
        and card.participant.status == ParticipantStatus.ACTIVE
        and not card.window_over
    )


def training_search(request: HttpRequest) -> HttpResponse:
    """The catalog for everyone; a signed-in person also sees distances from their regency, and a
    participant a "Buy" button on each training not already bought."""
    registrant = current_registrant(request)
    home = registrant.regency_code if registrant else ""
    if home and regency_centroid(home) is None:
        home = ""
    card = participant_card(registrant.pk) if registrant else None
    can_buy = _can_buy(card)
    bought = participant_open_training_ids(card.participant.pk) if card and can_buy else set()
    options = search_options()
    form = TrainingSearchForm(
        request.GET, categories=options.categories, platforms=options.platforms
    )
    results, notice = None, ""
    if form.is_valid():
        asked = {
            name: value for name, value in form.cleaned_data.items() if value not in ("", None)
        }
        sort = asked.pop("sort", "relevance")
        if sort == "distance" and not home:
            sort = "relevance"
            notice = _("Sign in to sort in-person trainings by distance from your home.")
        try:
            results = trainings_search(**asked, sort=sort, home_regency=home)
            if results.page > results.pages:  # a page number past the end: the last page
                asked["page"] = results.pages
                results = trainings_search(**asked, sort=sort, home_regency=home)
        except ApplicationError as error:
            show_refusal(form, error)
    return render(
        request,
        "portal/training_search.html",
        {
            "form": form,
            "results": results,
            "notice": notice,
            "home": home,
            "can_buy": can_buy,
            "bought": bought,
        },
    )


@registrant_required
def training_buy(request: HttpRequest, registrant: Registrant, training_id: int) -> HttpResponse:
    """Buy one training: a confirmation page with the price and the balance left after it (GET),
    then the purchase (POST), which leads to "My trainings" with the voucher code."""
    from prakerja.portal.api import NotAParticipant

    card = participant_card(registrant.pk)
    if card is None:
        raise NotAParticipant()
    training = (
        Training.objects.select_related("platform", "institution")
        .filter(pk=training_id, status=TrainingStatus.ACTIVE)
        .first()
    )
    if training is None:
        raise TrainingNotAvailable(details={"training_id": training_id})
    if request.method == "POST":
        try:
            order = order_purchase(
                participant=card.participant,
                training=training,
                actor=Actor.participant(registrant.pk),
            )
        except ApplicationError as error:
            messages.error(request, error.message(_language()))
            card = participant_card(registrant.pk)
            assert card is not None
        else:
            messages.success(
                request,
                _("Bought. Your voucher code is %(code)s: redeem it on %(platform)s by %(date)s.")
                % {
                    "code": voucher_code_format(order.voucher_code),
                    "platform": training.platform.name,
                    "date": format_wib(order.expires_at, language=_language()),
                },
            )
            return redirect(reverse("portal:my_trainings") + f"#order-{order.pk}")
    open_ids = participant_open_training_ids(card.participant.pk)
    return render(
        request,
        "portal/training_buy.html",
        {
            "training": training,
            "card": card,
            "can_buy": _can_buy(card),
            "already_open": training.pk in open_ids,
            "enough": card.balance_idr >= training.price_idr,
            "balance_after": card.balance_idr - training.price_idr,
        },
    )


@registrant_required
def my_trainings(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    """The trainings the participant bought: voucher code, status, progress, certificate, and the
    review form of each completed one."""
    return _my_trainings_page(request, registrant)


def _my_trainings_page(
    request: HttpRequest,
    registrant: Registrant,
    *,
    draft: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """`draft`: a review the person just sent and the service refused ({order_id, stars, text,
    errors}), shown again in its form with the reasons."""
    card = participant_card(registrant.pk)
    items = []
    now = clock.now()
    if card is not None:
        scheme = card.participant.scheme
        for order in participant_orders(card.participant.pk):
            shown = order_status_shown(order)
            review = order_review(order)
            editable_until = (
                review_editable_until(review, card.participant) if review is not None else None
            )
            mine = draft if draft is not None and draft["order_id"] == order.pk else None
            items.append(
                {
                    "order": order,
                    "status": shown,
                    "code": voucher_code_format(order.voucher_code),
                    # An expired voucher's price went back to the balance, or to the state once
                    # the balance itself had lapsed.
                    "returned_to_balance": shown == OrderStatus.EXPIRED
                    and not balance_lapsed(scheme, order.ended_at or order.expires_at),
                    "review": review,
                    "review_open": shown == OrderStatus.COMPLETED
                    and (editable_until is None or now < editable_until),
                    "editable_until": editable_until,
                    "draft": mine,
                    "stars_value": (mine or {}).get("stars") or (review.stars if review else ""),
                    "text_value": (mine or {}).get("text", review.text if review else ""),
                }
            )
    return render(
        request,
        "portal/my_trainings.html",
        {
            "card": card,
            "items": items,
            "can_buy": _can_buy(card),
            "min_chars": card.participant.scheme.review_min_chars if card else None,
            "star_choices": range(REVIEW_STARS_MIN, REVIEW_STARS_MAX + 1),
        },
        status=status,
    )


@registrant_required
def order_review_submit(
    request: HttpRequest, registrant: Registrant, order_id: int
) -> HttpResponse:
    """The review form of a completed training (POST): saved, or shown again with the reasons."""
    if request.method != "POST":
        return redirect(reverse("portal:my_trainings") + f"#order-{order_id}")
    card = participant_card(registrant.pk)
    if card is None:
        from prakerja.portal.api import NotAParticipant

        raise NotAParticipant()
    stars_text = request.POST.get("stars", "")
    text = request.POST.get("text", "")
    try:
        stars = int(stars_text)
    except ValueError:
        stars = 0  # refused by the service as out of range, with its message
    try:
        review_submit(
            participant=card.participant,
            order=order_id,
            stars=stars,
            text=text,
            actor=Actor.participant(registrant.pk),
        )
    except (ValidationFailed, ReviewTooShort) as error:
        draft = {
            "order_id": order_id,
            "stars": stars if REVIEW_STARS_MIN <= stars <= REVIEW_STARS_MAX else "",
            "text": text,
            "errors": error.message(_language()),
            "fields": sorted(error.details),
        }
        return _my_trainings_page(request, registrant, draft=draft, status=422)
    except ApplicationError as error:
        messages.error(request, error.message(_language()))
    else:
        messages.success(request, _("Thank you. Your review is saved and shown in the catalog."))
    return redirect(reverse("portal:my_trainings") + f"#order-{order_id}")
