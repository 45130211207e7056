"""The participant reviews a completed training: the form on "My trainings" and
POST /api/v1/orders/{order_id}/review, both over orders.reviews.review_submit."""

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.orders.models import Order, Review
from prakerja.orders.services import order_complete, order_purchase, voucher_redeem
from prakerja.partners.models import Partner
from prakerja.waves.models import Participant
from tests.orders.kit import active_training, credited, platform, scheme_valid_for_a_year
from tests.orders.test_participant_side import section, signed_in, token_for, with_password

pytestmark = pytest.mark.django_db
TEXT = "Materinya jelas dan langsung bisa dipraktikkan di kedai."


@pytest.fixture
def toko() -> Partner:
    scheme_valid_for_a_year()
    return platform("toko")[0]


def bought(person: Participant, training: Training, *, complete: bool = True) -> Order:
    order = order_purchase(
        participant=person, training=training, actor=Actor.participant(person.registrant_id)
    )
    platform_actor = Actor.partner(training.platform_id, "toko")
    voucher_redeem(
        platform=training.platform,
        voucher_code=order.voucher_code,
        platform_user_ref="u-1",
        actor=platform_actor,
    )
    if complete:
        order_complete(
            platform=training.platform,
            order_id=order.pk,
            completed_at=timezone.now(),
            final_score=90,
            certificate_number="SERT-1",
            certificate_url="https://toko.example/sertifikat/1",
            actor=platform_actor,
        )
    return Order.objects.get(pk=order.pk)


def reviews() -> list[tuple[Any, ...]]:
    return list(Review.objects.order_by("pk").values_list("order_id", "stars", "text"))


def test_a_completed_training_shows_the_form_and_a_review_is_saved(client: Client, toko: Partner):
    (person,) = credited(1)
    order = bought(person, active_training(toko, "barista"))
    browser = signed_in(client, with_password(person))

    form = section(browser.get("/pelatihan-saya/").content.decode(), f"order-{order.pk}")
    saved = browser.post(f"/pelatihan-saya/{order.pk}/ulasan/", {"stars": "5", "text": TEXT})
    after = browser.get(saved["Location"]).content.decode()

    assert "Write my review" in form and "at least 20 characters" in form
    assert saved.status_code == 302
    assert saved["Location"] == f"/pelatihan-saya/#order-{order.pk}"
    assert reviews() == [(order.pk, 5, TEXT)]
    assert "Thank you. Your review is saved" in after
    assert f"★★★★★ “{TEXT}”" in section(after, f"order-{order.pk}")
    assert Training.objects.get(pk=order.training_id).rating_count == 1


def test_a_short_review_is_shown_again_with_the_reason_and_nothing_saved(
    client: Client, toko: Partner
):
    (person,) = credited(1)
    order = bought(person, active_training(toko, "barista"))
    browser = signed_in(client, with_password(person))

    refused = browser.post(f"/pelatihan-saya/{order.pk}/ulasan/", {"stars": "4", "text": "Bagus."})

    page = section(refused.content.decode(), f"order-{order.pk}")
    assert refused.status_code == 422
    assert "at least 20 characters" in page
    assert "Bagus." in page  # the text typed is kept in the form
    assert reviews() == []
    assert Training.objects.get(pk=order.training_id).rating_count == 0


def test_an_unfinished_training_has_no_form_and_a_post_is_refused(client: Client, toko: Partner):
    (person,) = credited(1)
    order = bought(person, active_training(toko, "barista"), complete=False)
    browser = signed_in(client, with_password(person))

    page = section(browser.get("/pelatihan-saya/").content.decode(), f"order-{order.pk}")
    refused = browser.post(f"/pelatihan-saya/{order.pk}/ulasan/", {"stars": "5", "text": TEXT})

    assert "Write my review" not in page
    assert refused.status_code == 302
    assert reviews() == []


def test_another_participants_order_cannot_be_reviewed(client: Client, toko: Partner):
    owner, other = credited(2)
    order = bought(owner, active_training(toko, "barista"))
    browser = signed_in(client, with_password(other))

    browser.post(f"/pelatihan-saya/{order.pk}/ulasan/", {"stars": "1", "text": TEXT})

    assert reviews() == []


# --- participant API --------------------------------------------------------------------------------


def review_api(client: Client, auth: dict[str, str], order_id: int, body: Any) -> Any:
    return client.post(
        f"/api/v1/orders/{order_id}/review", body, content_type="application/json", **auth
    )


def test_the_api_writes_then_edits_a_review_and_lists_it_with_the_order(
    client: Client, toko: Partner
):
    (person,) = credited(1)
    order = bought(person, active_training(toko, "barista"))
    auth = token_for(client, with_password(person))

    created = review_api(client, auth, order.pk, {"stars": 4, "text": TEXT})
    edited = review_api(client, auth, order.pk, {"stars": 5, "text": TEXT + " Terima kasih."})
    listed = client.get("/api/v1/me/orders", **auth).json()

    review = Review.objects.get()
    until = review.created_at + datetime.timedelta(days=person.scheme.review_edit_days)
    expected = {
        "stars": 5,
        "text": TEXT + " Terima kasih.",
        "created_at": review.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": review.updated_at.isoformat().replace("+00:00", "Z"),
        "editable_until": until.isoformat().replace("+00:00", "Z"),
    }
    assert (created.status_code, edited.status_code) == (201, 200)
    assert created.json()["stars"] == 4
    assert _same_moments(edited.json(), expected)
    assert _same_moments(listed[0]["review"], expected)
    assert Training.objects.get(pk=order.training_id).rating_sum == 5


def _same_moments(answer: dict[str, Any], expected: dict[str, Any]) -> bool:
    """JSON carries milliseconds: times are compared to the millisecond, the rest exactly."""
    for key, value in expected.items():
        if key.endswith("_at") or key == "editable_until":
            got = datetime.datetime.fromisoformat(answer[key].replace("Z", "+00:00"))
            want = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if abs(got - want) >= datetime.timedelta(milliseconds=1):
                return False
        elif answer[key] != value:
            return False
    return set(answer) == set(expected)


def test_the_api_refuses_a_short_text_and_an_unfinished_training(client: Client, toko: Partner):
    (person,) = credited(1)
    done = bought(person, active_training(toko, "barista"))
    running = bought(person, active_training(toko, "roti"), complete=False)
    auth = token_for(client, with_password(person))

    short = review_api(client, auth, done.pk, {"stars": 4, "text": "Bagus."})
    early = review_api(client, auth, running.pk, {"stars": 4, "text": TEXT})
    stars = review_api(client, auth, done.pk, {"stars": 6, "text": TEXT})

    # Too short for the scheme on record: 409 (the schema states every 422).
    assert (short.status_code, short.json()["error"]["code"]) == (409, "REVIEW_TOO_SHORT")
    assert short.json()["error"]["details"] == {
        "text": {"code": "TOO_SHORT", "min_chars": 20, "length": 6}
    }
    assert (early.status_code, early.json()["error"]["code"]) == (409, "REVIEW_NOT_ALLOWED_YET")
    assert stars.status_code == 422
    assert stars.json()["error"]["details"] == {"stars": "OUT_OF_RANGE"}
    assert reviews() == []
