"""The catalog search page (/pelatihan/) and `GET /api/v1/trainings` of the participant API.

Texts are checked in English (the page's msgids) or by data attributes, so the checks hold
whether or not the Indonesian translations of these strings are in the catalog yet."""

import html
import re

import pytest
from django.contrib.auth.hashers import make_password

from prakerja.catalog.models import Institution, Training
from prakerja.catalog.search import haversine_km, regency_centroid, search_cache_forget
from prakerja.common.actors import Actor
from prakerja.partners.services import partner_create
from prakerja.registration.models import Registrant
from prakerja.waves.models import ProgramScheme
from prakerja.waves.selection import wave_select
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db
PASSWORD = "Rahasia-Sekali-2020"
BANDUNG = (-6.9175, 107.6191)
BOGOR = (-6.5971, 106.8060)


@pytest.fixture(autouse=True)
def fresh_cache():
    search_cache_forget()
    yield
    search_cache_forget()


@pytest.fixture
def trainings() -> dict[str, Training]:
    actor = Actor.system("tests")
    toko = partner_create(code="toko", name="Toko Belajar", kind="platform", actor=actor)[0]
    kelas = partner_create(code="kelas", name="Kelas Kita", kind="platform", actor=actor)[0]
    lpk = Institution.objects.create(platform=toko, external_id="i1", name="LPK Maju Jaya")
    own = Institution.objects.create(
        platform=kelas, external_id="i2", name="Kelas Kita Academy", owned_by_platform=True
    )
    ProgramScheme.objects.filter(is_active=True).update(rating_min_reviews=3)
    common = {
        "description": "Pelatihan singkat dengan sertifikat.",
        "price_outside_program_idr": 900_000,
        "duration_hours": 6,
        "sessions": 3,
        "url": "https://toko.example/kelas",
        "status": "active",
        "content_hash": "x",
    }
    made = {
        "jahit": Training(
            platform=toko,
            institution=lpk,
            title="Teknik Dasar Menjahit",
            category="Tata Busana",
            price_idr=250_000,
            delivery="self_paced",
            buyers=40,
            rating_count=4,
            rating_sum=20,
        ),
        "kue": Training(
            platform=kelas,
            institution=own,
            title="Membuat Kue Kering",
            category="Kuliner",
            price_idr=150_000,
            delivery="webinar",
            buyers=30,
            rating_count=1,
            rating_sum=1,
        ),
        "bandung": Training(
            platform=toko,
            institution=lpk,
            title="Barista Kopi di Bandung",
            category="Kuliner",
            price_idr=500_000,
            delivery="offline",
            regency_code="32.73",
            lat=BANDUNG[0],
            lon=BANDUNG[1],
            address="Jl. Braga 10, Bandung",
            buyers=20,
        ),
        "bogor": Training(
            platform=toko,
            institution=lpk,
            title="Servis Motor di Bogor",
            category="Otomotif",
            price_idr=400_000,
            delivery="offline",
            regency_code="32.01",
            lat=BOGOR[0],
            lon=BOGOR[1],
            address="Jl. Pajajaran 1, Bogor",
            buyers=10,
        ),
    }
    for key, training in made.items():
        training.external_id = key
        for name, value in common.items():
            setattr(training, name, value)
        training.save()
        made[key] = Training.objects.get(external_id=key)
    return made


def english(client) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": "/pelatihan/"})


def ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="result card" id="training-(\d+)"', page)]


def text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def card(page: str, training: Training) -> str:
    start = page.index(">", page.index(f'id="training-{training.pk}"')) + 1
    return text(page[start : page.index("</li>", start)])


def participant(client) -> Registrant:
    """A participant living in Kab. Bogor (32.01), signed in."""
    (registrant,) = verified(1)
    Registrant.objects.filter(pk=registrant.pk).update(password=make_password(PASSWORD))
    wave = open_wave(quota=5)
    join(wave, [registrant])
    wave_select(wave=closed(wave), seed="seed-of-the-wave", actor=OPERATOR)
    signed = client.post("/masuk/", {"email": registrant.email, "password": PASSWORD})
    assert signed.status_code == 302
    return registrant


# --- the page ------------------------------------------------------------------------------------


def test_the_page_lists_trainings_with_what_a_participant_needs_to_choose(client, trainings):
    english(client)
    page = client.get("/pelatihan/").content.decode()

    assert ids(page) == [trainings[k].pk for k in ("jahit", "kue", "bandung", "bogor")]
    assert "4 trainings found" in text(page)
    assert card(page, trainings["jahit"]) == (
        "Teknik Dasar Menjahit Rp250.000 Platform Toko Belajar Institution LPK Maju Jaya "
        "Category Tata Busana How Self-paced video Rating ★ 4.7 (4 reviews) Duration 6 hours "
        "See it on Toko Belajar"
    )
    kue = card(page, trainings["kue"])
    assert "Kelas Kita Academy (owned by the platform Kelas Kita)" in kue
    assert "Rating Not enough reviews yet" in kue and "How Webinar" in kue
    assert "How In person" in card(page, trainings["bandung"])
    assert "<script" not in page  # works without JavaScript


def test_the_page_is_indonesian_first_and_prices_are_in_rupiah(client, trainings):
    page = client.get("/pelatihan/").content.decode()

    assert '<html lang="id">' in page
    assert "Rp500.000" in page and "Rp150.000" in page
    assert 'name="q"' in page and 'name="sort"' in page and 'name="province"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=menjahit", ["jahit"]),
        ("category=Kuliner", ["kue", "bandung"]),
        ("platform=kelas", ["kue"]),
        ("price_min=300000&price_max=450000", ["bogor"]),
        ("delivery=offline", ["bandung", "bogor"]),
        ("province=32&sort=price_asc", ["bogor", "bandung"]),
        ("sort=rating", ["jahit", "kue", "bandung", "bogor"]),
        ("sort=price_desc", ["bandung", "bogor", "jahit", "kue"]),
    ],
)
def test_filters_and_sorts_from_the_query_string(client, trainings, query, expected):
    page = client.get(f"/pelatihan/?{query}").content.decode()
    assert ids(page) == [trainings[k].pk for k in expected]


def test_a_price_range_the_wrong_way_round_is_shown_next_to_its_field(client, trainings):
    english(client)
    page = client.get("/pelatihan/?price_min=500000&price_max=100000").content.decode()

    assert "The highest price must not be below the lowest." in page
    assert ids(page) == []


def test_pages_link_to_each_other_keeping_the_filters(client, trainings):
    Training.objects.bulk_create(
        Training(
            platform=trainings["jahit"].platform,
            institution=trainings["jahit"].institution,
            external_id=f"extra-{n}",
            title=f"Kue Basah {n}",
            category="Kuliner",
            description="Kue.",
            price_idr=100_000,
            price_outside_program_idr=100_000,
            duration_hours=1,
            sessions=1,
            delivery="self_paced",
            url="https://toko.example/kue",
            status="active",
            content_hash="x",
        )
        for n in range(21)
    )
    english(client)

    first = client.get("/pelatihan/?category=Kuliner").content.decode()
    second = client.get("/pelatihan/?category=Kuliner&page=2").content.decode()

    assert "Page 1 of 2" in text(first) and "23 trainings found" in text(first)
    assert 'href="?category=Kuliner&amp;page=2"' in first
    assert len(ids(first)) == 20 and len(ids(second)) == 3
    assert not set(ids(first)) & set(ids(second))
    assert 'href="?category=Kuliner&amp;page=1"' in second


@pytest.mark.parametrize("page", ["9", "0", "abc", "-1"])
def test_a_page_number_out_of_range_shows_the_nearest_page(client, trainings, page):
    shown = client.get(f"/pelatihan/?sort=price_asc&page={page}").content.decode()
    assert ids(shown) == [trainings[k].pk for k in ("kue", "jahit", "bogor", "bandung")]


def test_without_signing_in_the_distance_sort_falls_back_and_says_why(client, trainings):
    english(client)
    page = client.get("/pelatihan/?sort=distance").content.decode()

    assert "Sign in to sort in-person trainings by distance from your home." in page
    assert ids(page) == [trainings[k].pk for k in ("jahit", "kue", "bandung", "bogor")]


def test_a_signed_in_participant_sorts_by_distance_from_home(client, trainings):
    participant(client)  # lives in 32.01, Kab. Bogor
    english(client)

    page = client.get("/pelatihan/?sort=distance").content.decode()

    assert ids(page) == [trainings[k].pk for k in ("bogor", "bandung", "jahit", "kue")]
    home = regency_centroid("32.01")
    bogor_km = round(haversine_km(home, BOGOR))
    bandung_km = round(haversine_km(home, BANDUNG))
    assert f"In person · {bogor_km} km from your home" in card(page, trainings["bogor"])
    assert f"In person · {bandung_km} km from your home" in card(page, trainings["bandung"])


def test_the_status_page_of_a_participant_links_to_the_catalog(client, trainings):
    participant(client)
    page = client.get("/status/").content.decode()

    assert 'id="find-training" href="/pelatihan/"' in page


# --- the participant API -------------------------------------------------------------------------


def test_the_api_answers_with_the_same_search(client, trainings):
    answer = client.get("/api/v1/trainings?q=kue&per_page=5")

    assert answer.status_code == 200
    body = answer.json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "total": 1,
        "total_capped": False,
        "page": 1,
        "pages": 1,
        "per_page": 5,
        "rating_min_reviews": 3,
    }
    assert body["items"] == [
        {
            "id": trainings["kue"].pk,
            "title": "Membuat Kue Kering",
            "category": "Kuliner",
            "description": "Pelatihan singkat dengan sertifikat.",
            "platform": {"code": "kelas", "name": "Kelas Kita"},
            "institution": {"name": "Kelas Kita Academy", "owned_by_platform": True},
            "delivery": "webinar",
            "price_idr": 150_000,
            "duration_hours": 6,
            "url": "https://toko.example/kelas",
            "regency_code": None,
            "rating": None,
            "rating_count": 1,
            "buyers": 30,
            "distance_km": None,
        }
    ]


def test_the_api_shows_a_rating_with_enough_reviews(client, trainings):
    (item,) = client.get("/api/v1/trainings?q=menjahit").json()["items"]
    # C = (20 + 1) / (4 + 1) = 4,2; m = 3: (3 × 4,2 + 20) / (3 + 4) = 4,657…
    assert (item["rating"], item["rating_count"]) == (4.66, 4)


def test_the_api_measures_distance_from_the_given_regency(client, trainings):
    body = client.get("/api/v1/trainings?sort=distance&home_regency=32.73&per_page=2").json()

    home = regency_centroid("32.73")
    assert [(i["id"], i["distance_km"]) for i in body["items"]] == [
        (trainings["bandung"].pk, round(haversine_km(home, BANDUNG), 1)),
        (trainings["bogor"].pk, round(haversine_km(home, BOGOR), 1)),
    ]


def test_the_api_measures_from_the_callers_home_with_a_token(client, trainings):
    registrant = participant(client)
    login = client.post(
        "/api/v1/auth/login",
        {"email": registrant.email, "password": PASSWORD},
        content_type="application/json",
    )
    token = login.json()["token"]

    body = client.get(
        "/api/v1/trainings?sort=distance&per_page=1", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()

    assert body["items"][0]["id"] == trainings["bogor"].pk


@pytest.mark.parametrize(
    ("query", "details"),
    [
        ("sort=newest", {"sort": "CHOICE_INVALID"}),
        ("delivery=", {"delivery": "CHOICE_INVALID"}),
        (
            "price_min=abc&per_page=x",
            {"price_min": "PRICE_INVALID", "per_page": "PAGE_INVALID"},
        ),
        # An integer as JSON writes it: no sign, leading zero, blank or fraction.
        (
            "price_min=%2B5&price_max=05",
            {"price_min": "PRICE_INVALID", "price_max": "PRICE_INVALID"},
        ),
        (
            "price_min=%205&price_max=5.0",
            {"price_min": "PRICE_INVALID", "price_max": "PRICE_INVALID"},
        ),
        ("price_min=-1&price_max=", {"price_min": "PRICE_INVALID", "price_max": "PRICE_INVALID"}),
        ("page=0&per_page=51", {"page": "PAGE_INVALID", "per_page": "PAGE_INVALID"}),
        ("page=1001", {"page": "PAGE_INVALID"}),
        ("province=99", {"province": "REGION_UNKNOWN"}),
        ("home_regency=99.99", {"home_regency": "REGION_UNKNOWN"}),
        ("q=" + "a" * 201, {"q": "TOO_LONG"}),
        (
            "q=kue%01&category=Kuliner%0A",
            {"q": "CHARACTER_INVALID", "category": "CHARACTER_INVALID"},
        ),
    ],
)
def test_the_api_refuses_bad_parameters_by_name(client, trainings, query, details):
    answer = client.get(f"/api/v1/trainings?{query}", HTTP_ACCEPT_LANGUAGE="en")

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "VALIDATION_FAILED"
    assert answer.json()["error"]["details"] == details


def test_the_api_sorts_by_distance_without_a_home_by_buyers(client, trainings):
    answer = client.get("/api/v1/trainings?sort=distance")

    assert answer.status_code == 200
    assert [(i["id"], i["distance_km"]) for i in answer.json()["items"]] == [
        (trainings["jahit"].pk, None),
        (trainings["kue"].pk, None),
        (trainings["bandung"].pk, None),
        (trainings["bogor"].pk, None),
    ]


def test_the_api_finds_nothing_in_a_price_range_from_above_its_top(client, trainings):
    answer = client.get("/api/v1/trainings?price_min=400000&price_max=150000")

    assert answer.status_code == 200
    assert (answer.json()["items"], answer.json()["total"]) == ([], 0)


def test_the_api_takes_the_bounds_it_documents(client, trainings):
    answer = client.get(
        "/api/v1/trainings?price_min=0&price_max=999999999999999&page=1000&per_page=50"
        "&province=32&home_regency=32.73&delivery=offline&sort=price_desc&q=" + "a" * 200
    )

    assert answer.status_code == 200
    assert {k: v for k, v in answer.json().items() if k != "items"} == {
        "total": 0,
        "total_capped": False,
        "page": 1000,
        "pages": 1,
        "per_page": 50,
        "rating_min_reviews": 3,
    }


def test_the_api_refuses_a_token_that_is_not_valid(client, trainings):
    answer = client.get("/api/v1/trainings", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "UNAUTHENTICATED"


def test_the_api_documents_the_search(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/trainings"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}

    assert operation["operationId"] == "trainings_search"
    assert list(parameters) == [
        "q",
        "category",
        "platform",
        "price_min",
        "price_max",
        "delivery",
        "province",
        "sort",
        "home_regency",
        "page",
        "per_page",
    ]
    assert set(operation["responses"]) == {"200", "401", "422"}
    # The token is optional: it only says where home is.
    assert operation["security"] == [{}, {"BearerToken": []}]
    assert (parameters["q"]["maxLength"], parameters["category"]["maxLength"]) == (200, 60)
    assert {
        name: (parameters[name]["minimum"], parameters[name]["maximum"])
        for name in ("price_min", "price_max", "page", "per_page")
    } == {
        "price_min": (0, 999_999_999_999_999),
        "price_max": (0, 999_999_999_999_999),
        "page": (1, 1000),
        "per_page": (1, 50),
    }
    assert parameters["sort"]["enum"] == [
        "relevance",
        "price_asc",
        "price_desc",
        "rating",
        "popularity",
        "distance",
    ]
    assert parameters["delivery"]["enum"] == ["self_paced", "webinar", "offline"]
    assert len(parameters["province"]["enum"]) == 38 and "32" in parameters["province"]["enum"]
    assert len(parameters["home_regency"]["enum"]) == 540
    # Optional parameters without a value to write have no default in the document.
    assert [name for name, p in parameters.items() if "default" not in p] == [
        "price_min",
        "price_max",
        "delivery",
        "province",
        "home_regency",
    ]
