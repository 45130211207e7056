"""What a participant does and sees: buying through the participant API (POST /api/v1/orders,
GET /api/v1/me/orders) and through the portal (a "Buy" button in the catalog, a confirmation with
the price and the balance left, then "My trainings" with the voucher, status, progress and
certificate). Pages are checked by ids and data attributes, and in English where words matter."""

import datetime
import html
import re
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from prakerja.catalog.search import search_cache_forget
from prakerja.common.actors import Actor
from prakerja.orders.models import Order
from prakerja.orders.services import order_complete, order_progress_report, voucher_redeem
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import Partner
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant
from tests.orders.kit import (
    BALANCE,
    active_training,
    balance,
    credited,
    platform,
    scheme_valid_for_a_year,
    snapshot,
)
from tests.waves.factory import verified

pytestmark = pytest.mark.django_db
PASSWORD = "Rahasia-Sekali-2020"


@pytest.fixture(autouse=True)
def setup():
    scheme_valid_for_a_year()
    search_cache_forget()
    yield
    search_cache_forget()


@pytest.fixture
def toko() -> Partner:
    return platform("toko")[0]


def with_password(participant: Participant) -> Registrant:
    Registrant.objects.filter(pk=participant.registrant_id).update(password=make_password(PASSWORD))
    return Registrant.objects.get(pk=participant.registrant_id)


def token_for(client: Client, registrant: Registrant) -> dict[str, str]:
    answer = client.post(
        "/api/v1/auth/login",
        {"email": registrant.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert answer.status_code == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['token']}"}


def signed_in(client: Client, registrant: Registrant, *, language: str = "en") -> Client:
    assert (
        client.post("/masuk/", {"email": registrant.email, "password": PASSWORD}).status_code == 302
    )
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    end = page.index("</section>", start)
    return text(page[page.rindex("<", 0, start) : end])


def order_api(client: Client, auth: dict[str, str], training_id: Any) -> Any:
    return client.post(
        "/api/v1/orders", {"training_id": training_id}, content_type="application/json", **auth
    )


# --- participant API ----------------------------------------------------------------------------


def test_buy_through_the_api_and_list_my_orders(client: Client, toko: Partner):
    (person,) = credited(1)
    auth = token_for(client, with_password(person))
    training = active_training(toko, "barista", price=750_000, hours=12)

    response = order_api(client, auth, training.pk)

    order = Order.objects.get()
    expected = {
        "order_id": order.pk,
        "status": "issued",
        "voucher_code": voucher_code_format(order.voucher_code),
        "training": {
            "id": training.pk,
            "title": "Pelatihan barista",
            "duration_hours": 12,
            "url": "https://platform.example/kelas/barista",
        },
        "platform": {"code": "toko", "name": "Toko"},
        "price_idr": 750_000,
        "issued_at": response.json()["issued_at"],
        "expires_at": response.json()["expires_at"],
        "redeemed_at": None,
        "percent": 0,
        "sessions_attended": 0,
        "completed_at": None,
        "final_score": None,
        "certificate_number": "",
        "certificate_url": "",
        "review": None,
    }
    assert (response.status_code, response.json()) == (201, expected)
    assert datetime.datetime.fromisoformat(response.json()["expires_at"]) == order.expires_at
    issued_at = datetime.datetime.fromisoformat(response.json()["issued_at"])
    assert abs(issued_at - order.issued_at) < datetime.timedelta(milliseconds=1)  # JSON: ms
    assert balance(person) == BALANCE - 750_000
    mine = client.get("/api/v1/me/orders", **auth)
    assert (mine.status_code, mine.json()) == (200, [expected])


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unknown", 404, "TRAINING_NOT_AVAILABLE"),
        ("again", 409, "ORDER_ALREADY_OPEN"),
        ("too_dear", 409, "INSUFFICIENT_BALANCE"),
        ("revoked", 409, "PARTICIPANT_NOT_ACTIVE"),
    ],
)
def test_refused_purchases_through_the_api_change_nothing(
    client: Client, toko: Partner, case: str, status: int, code: str
):
    (person,) = credited(1)
    auth = token_for(client, with_password(person))
    cheap = active_training(toko, "cheap", price=600_000)
    dear = active_training(toko, "dear", price=600_000, title="Kelas Mahal")
    order_api(client, auth, cheap.pk)
    target = {"unknown": dear.pk + 100, "again": cheap.pk, "too_dear": dear.pk}.get(case, dear.pk)
    if case == "revoked":
        Participant.objects.filter(pk=person.pk).update(status="revoked")
    before = snapshot()

    response = order_api(client, auth, target)

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert snapshot() == before


def test_a_registrant_who_is_not_a_participant_gets_404(client: Client, toko: Partner):
    (registrant,) = verified(1)
    Registrant.objects.filter(pk=registrant.pk).update(password=make_password(PASSWORD))
    auth = token_for(client, registrant)
    training = active_training(toko, "barista")

    for response in (order_api(client, auth, training.pk), client.get("/api/v1/me/orders", **auth)):
        assert (response.status_code, response.json()["error"]["code"]) == (
            404,
            "NOT_A_PARTICIPANT",
        )
    assert Order.objects.count() == 0


def test_the_api_needs_a_token(client: Client):
    response = client.post("/api/v1/orders", {"training_id": 1}, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "UNAUTHENTICATED")


# --- portal ---------------------------------------------------------------------------------------


def test_buy_from_the_catalog_confirm_then_see_the_voucher(client: Client, toko: Partner):
    (person,) = credited(1)
    signed_in(client, with_password(person))
    training = active_training(toko, "barista", price=750_000)
    other = active_training(toko, "kopi", price=250_000, title="Kopi Susu")

    catalog = client.get("/pelatihan/").content.decode()
    assert f'href="/pelatihan/{training.pk}/beli/"' in catalog
    assert f'href="/pelatihan/{other.pk}/beli/"' in catalog

    confirm = client.get(f"/pelatihan/{training.pk}/beli/").content.decode()
    assert section(confirm, "confirm") == (
        "Pelatihan barista Platform Toko Institution LPK Kopi Nusantara Price Rp750.000 "
        "Your training balance Rp1.000.000 Balance left after buying Rp250.000 After buying you "
        "get a voucher code. Redeem it on Toko to start the training. Buy for Rp750.000"
    )

    bought = client.post(f"/pelatihan/{training.pk}/beli/")

    order = Order.objects.get()
    assert (bought.status_code, bought["Location"]) == (302, f"/pelatihan-saya/#order-{order.pk}")
    code = voucher_code_format(order.voucher_code)
    mine = client.get("/pelatihan-saya/").content.decode()
    assert f"Your voucher code is {code}: redeem it on Toko by" in text(mine)
    card = section(mine, f"order-{order.pk}")
    assert card.startswith("Pelatihan barista Toko · Rp750.000 · bought ")
    assert f"Voucher ready to redeem Voucher code {code} Redeem this code on Toko by " in card
    assert 'data-status="issued"' in mine
    assert 'id="balance">Rp250.000<' in mine

    # The catalog now shows it as bought, and the cheaper one can still be bought
    catalog = client.get("/pelatihan/").content.decode()
    assert f'href="/pelatihan/{training.pk}/beli/"' not in catalog
    assert "Bought: see My trainings" in text(catalog)
    assert f'href="/pelatihan/{other.pk}/beli/"' in catalog


def test_my_trainings_show_progress_then_the_certificate(client: Client, toko: Partner):
    (person,) = credited(1)
    signed_in(client, with_password(person))
    training = active_training(toko, "barista", price=300_000, hours=2)
    client.post(f"/pelatihan/{training.pk}/beli/")
    order = Order.objects.get()
    actor = Actor.partner(toko.pk, toko.code)
    voucher_redeem(
        platform=toko, voucher_code=order.voucher_code, platform_user_ref="u", actor=actor
    )
    order_progress_report(
        platform=toko,
        order_id=order.pk,
        percent=60,
        sessions_attended=3,
        reported_at=timezone.now(),
        actor=actor,
    )

    card = section(client.get("/pelatihan-saya/").content.decode(), f"order-{order.pk}")
    assert "In progress" in card
    assert "Progress: 60% · 3 sessions attended" in card

    Order.objects.filter(pk=order.pk).update(
        redeemed_at=timezone.now() - datetime.timedelta(hours=3)
    )
    order_complete(
        platform=toko,
        order_id=order.pk,
        completed_at=timezone.now(),
        final_score=90,
        certificate_number="CERT-9",
        certificate_url="https://toko.example/cert/9",
        actor=actor,
    )
    page = client.get("/pelatihan-saya/").content.decode()
    card = section(page, f"order-{order.pk}")
    assert "Completed Voucher code" in card
    assert "Final score: 90." in card
    assert 'href="https://toko.example/cert/9"' in page
    assert "Certificate CERT-9" in card


def test_the_confirmation_says_when_the_balance_is_not_enough_and_offers_no_button(
    client: Client, toko: Partner
):
    (person,) = credited(1)
    signed_in(client, with_password(person))
    first = active_training(toko, "a", price=800_000)
    dear = active_training(toko, "b", price=300_000, title="Kelas B")
    client.post(f"/pelatihan/{first.pk}/beli/")

    page = client.get(f"/pelatihan/{dear.pk}/beli/").content.decode()

    assert 'id="not-enough"' in page
    assert 'id="buy"' not in page
    before = snapshot()
    refused = client.post(f"/pelatihan/{dear.pk}/beli/", follow=True)
    assert "The balance is not enough for this transaction." in text(refused.content.decode())
    assert snapshot() == before


def test_buying_the_same_training_twice_shows_the_refusal_and_changes_nothing(
    client: Client, toko: Partner
):
    (person,) = credited(1)
    signed_in(client, with_password(person))
    training = active_training(toko, "barista", price=100_000)
    client.post(f"/pelatihan/{training.pk}/beli/")
    before = snapshot()

    page = client.post(f"/pelatihan/{training.pk}/beli/").content.decode()

    assert "You already bought this training" in text(page)
    assert 'id="already"' in page
    assert snapshot() == before


def test_no_buy_button_for_someone_who_is_not_a_participant(client: Client, toko: Partner):
    (registrant,) = verified(1)
    Registrant.objects.filter(pk=registrant.pk).update(password=make_password(PASSWORD))
    signed_in(client, Registrant.objects.get(pk=registrant.pk))
    training = active_training(toko, "barista")

    assert "/beli/" not in client.get("/pelatihan/").content.decode()
    page = client.get(f"/pelatihan/{training.pk}/beli/")
    assert page.status_code == 404
    assert "NOT_A_PARTICIPANT" in page.content.decode()
    assert client.get("/pelatihan-saya/").status_code == 200


def test_an_inactive_training_cannot_be_opened_for_buying(client: Client, toko: Partner):
    (person,) = credited(1)
    signed_in(client, with_password(person))
    page = client.get("/pelatihan/999999/beli/")
    assert page.status_code == 404
    assert "TRAINING_NOT_AVAILABLE" in page.content.decode()


def test_signing_in_is_needed_to_buy(client: Client, toko: Partner):
    training = active_training(toko, "barista")
    page = client.get(f"/pelatihan/{training.pk}/beli/")
    assert (page.status_code, page["Location"]) == (
        302,
        f"/masuk/?next=/pelatihan/{training.pk}/beli/",
    )
    assert "/beli/" not in client.get("/pelatihan/").content.decode()


def test_the_status_page_links_to_my_trainings(client: Client):
    (person,) = credited(1)
    signed_in(client, with_password(person))
    assert 'id="my-trainings" href="/pelatihan-saya/"' in client.get("/status/").content.decode()


def test_an_expired_voucher_says_where_its_price_went(client: Client, toko: Partner):
    from prakerja.orders.daily import vouchers_expire_due

    (person,) = credited(1)
    signed_in(client, with_password(person))
    training = active_training(toko, "barista", price=100_000)
    client.post(f"/pelatihan/{training.pk}/beli/")
    order = Order.objects.get()
    vouchers_expire_due(now=order.expires_at + datetime.timedelta(seconds=1))

    card = section(client.get("/pelatihan-saya/").content.decode(), f"order-{order.pk}")
    assert "Voucher expired" in card
    assert "Its price went back to your training balance." in card
