"""Price parity (program.md §7): "a training's price may not exceed its price outside the program
(the platform declares it; the PMO can flag a mismatch)". A platform's PUT above its own declared
outside price is accepted — pending review like any new training — and flagged, and the PMO sees the
flag and its reason in words in curation: the admin's training list (column and filter) and the
training's page."""

import pytest
from django.test import Client
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training, TrainingStatus
from tests.catalog.kit import Caller, make_partner, training_body

pytestmark = pytest.mark.django_db

REASON = (
    "Harga di program Rp350.000 melebihi harga di luar program Rp1 (lebih Rp349.999) / "
    "The price in the program, Rp350.000, is above the price outside it, Rp1 (Rp349.999 more)"
)
ABOVE = "Melebihi harga di luar program / Above the price outside the program"


@pytest.fixture
def tokopedia(client: Client) -> Caller:
    partner, secret = make_partner("tokopedia")
    return Caller(client, partner.code, secret)


def publish_dear_and_fair(tokopedia: Caller) -> tuple[Training, Training]:
    dear = tokopedia.put(
        "kelas-mahal",
        training_body(title="Kelas Mahal", price_idr=350_000, price_outside_program_idr=1),
    )
    fair = tokopedia.put(
        "kelas-wajar",
        training_body(
            title="Kelas Wajar",
            price_idr=350_000,
            price_outside_program_idr=350_000,
            institution={"external_id": "lpk-lain", "name": "LPK Lain", "owned_by_platform": False},
        ),
    )
    assert (dear.status_code, fair.status_code) == (201, 201)
    return (
        Training.objects.get(external_id="kelas-mahal"),
        Training.objects.get(external_id="kelas-wajar"),
    )


def test_a_price_above_the_declared_outside_price_is_accepted_and_flagged(tokopedia: Caller):
    # when the platform publishes a training at Rp350.000 that it sells for Rp1 elsewhere
    response = tokopedia.put(
        "kelas-mahal", training_body(price_idr=350_000, price_outside_program_idr=1)
    )

    # then it is accepted, waits for review, and is flagged for price parity (also in its audit)
    training = Training.objects.get()
    assert (response.status_code, response.json()) == (
        201,
        {"external_id": "kelas-mahal", "training_id": training.pk, "status": "pending_review"},
    )
    assert (
        training.status,
        training.price_idr,
        training.price_outside_program_idr,
        training.flag_price_above_outside,
    ) == (TrainingStatus.PENDING_REVIEW, 350_000, 1, True)
    created = AuditEvent.objects.get(event_type="training.created")
    assert created.details["flag_price_above_outside"] is True

    # and a correction to parity clears the flag
    tokopedia.put(
        "kelas-mahal", training_body(price_idr=350_000, price_outside_program_idr=400_000)
    )
    assert Training.objects.get().flag_price_above_outside is False


def _page(admin_client: Client, url: str) -> str:
    response = admin_client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_curation_shows_the_flag_and_its_reason(tokopedia: Caller, admin_client: Client):
    # given a training above its outside price and one at parity, published through the API
    dear, fair = publish_dear_and_fair(tokopedia)
    changelist = reverse("admin:catalog_training_changelist")

    # when the PMO opens the training list, filtered on the flag and not
    listing = _page(admin_client, changelist)
    flagged = _page(admin_client, changelist + "?flag_price_above_outside__exact=1")
    within = _page(admin_client, changelist + "?flag_price_above_outside__exact=0")
    detail = _page(admin_client, reverse("admin:catalog_training_change", args=[dear.pk]))
    fair_detail = _page(admin_client, reverse("admin:catalog_training_change", args=[fair.pk]))

    # then the list names the column and the filter, and marks the dear training in words
    assert '<details data-filter-title="Paritas harga / Price parity" open>' in listing
    assert f'<a href="?flag_price_above_outside__exact=1">{ABOVE}</a>' in listing
    assert '<a href="?flag_price_above_outside__exact=0">Sesuai / Within</a>' in listing
    assert listing.count(f'<td class="field-price_parity">⚠ {ABOVE} (+Rp349.999)</td>') == 1
    assert listing.count('<td class="field-price_parity">—</td>') == 1
    # the filter keeps exactly the flagged training, or exactly the other
    assert ("Kelas Mahal" in flagged, "Kelas Wajar" in flagged) == (True, False)
    assert ("Kelas Mahal" in within, "Kelas Wajar" in within) == (False, True)
    # and the training's page gives the reason with the amounts
    assert REASON in detail
    assert "Paritas harga / Price parity" in detail
    assert REASON not in fair_detail
    assert "Sesuai: harga di program tidak melebihi harga di luar program" in fair_detail
