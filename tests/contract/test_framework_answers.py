"""Answers the web framework gives under /api/ before any API code runs are the contract's JSON
error body too: an unknown path, a method the path does not take, a body too large to read."""

from typing import Any

import pytest
from django.test import Client

from prakerja.catalog.models import Training
from tests.catalog.kit import Caller, make_partner, snapshot, training_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokopedia(client: Client) -> Caller:
    partner, secret = make_partner("tokopedia")
    return Caller(client, partner.code, secret)


def answer(response: Any) -> tuple[int, str, Any]:
    return response.status_code, response["Content-Type"], response.json()


def test_an_unknown_partner_api_path_is_404_path_not_found(client: Client):
    response = client.get("/api/partner/v1/pelatihan/x", headers={"Accept-Language": "en"})

    assert answer(response) == (
        404,
        "application/json",
        {
            "error": {
                "code": "PATH_NOT_FOUND",
                "message": "This address does not exist in the API. Check the path and version "
                "in the docs.",
                "details": {"path": "/api/partner/v1/pelatihan/x"},
            }
        },
    )


def test_an_unknown_participant_api_path_is_404_in_indonesian_by_default(client: Client):
    response = client.get("/api/v1/tidak-ada")

    assert answer(response) == (
        404,
        "application/json",
        {
            "error": {
                "code": "PATH_NOT_FOUND",
                "message": "Alamat ini tidak ada di API. Periksa path dan versinya di dokumentasi.",
                "details": {"path": "/api/v1/tidak-ada"},
            }
        },
    )


def test_a_method_the_path_does_not_take_is_405_with_allow(tokopedia: Caller):
    before = snapshot()

    response = tokopedia("PATCH", "/trainings/barista-01", training_body())

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert sorted(response["Allow"].split(", ")) == ["DELETE", "PUT"]
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert sorted(response.json()["error"]["details"]["allowed"]) == ["DELETE", "PUT"]
    assert snapshot() == before


def test_a_body_over_the_limit_is_413_and_changes_nothing(tokopedia: Caller, settings: Any):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = snapshot()
    body = training_body(description="Materi pelatihan yang panjang sekali. " * 100)

    response = tokopedia.put("barista-01", body)

    assert answer(response) == (
        413,
        "application/json",
        {
            "error": {
                "code": "REQUEST_TOO_LARGE",
                "message": "Isi permintaan terlalu besar (paling banyak 2000 byte).",
                "details": {},
            }
        },
    )
    assert snapshot() == before
    assert not Training.objects.exists()


def test_pages_outside_the_api_keep_their_html_404(client: Client):
    response = client.get("/tidak-ada-halaman/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
