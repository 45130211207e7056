"""Catalog search (catalog.search): text, each filter, each sort, pages, ratings — with exact
results on whichever database the run uses (CI runs both)."""

import math
from fractions import Fraction

import pytest
from django.db import connection

from prakerja.catalog import search
from prakerja.catalog.models import Institution, Training
from prakerja.catalog.search import (
    haversine_km,
    regency_centroid,
    regency_centroids,
    search_cache_forget,
    search_options,
    trainings_search,
)
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.partners.services import partner_create
from prakerja.registration import regions
from prakerja.waves.models import ProgramScheme

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
BANDUNG = (-6.9175, 107.6191)  # Kota Bandung, near its reference point
JAKARTA = (-6.1754, 106.8272)
SURABAYA = (-7.2575, 112.7521)


@pytest.fixture(autouse=True)
def fresh_cache():
    search_cache_forget()
    yield
    search_cache_forget()


class Catalog:
    """Platforms, institutions and trainings written straight to the tables (the search reads
    them; how they got there is the curation's business)."""

    def __init__(self) -> None:
        self.toko = partner_create(code="toko", name="Toko Belajar", kind="platform", actor=ACTOR)[
            0
        ]
        self.kelas = partner_create(code="kelas", name="Kelas Kita", kind="platform", actor=ACTOR)[
            0
        ]
        self.lpk = Institution.objects.create(platform=self.toko, external_id="i1", name="LPK Maju")
        self.own = Institution.objects.create(
            platform=self.kelas, external_id="i2", name="Kelas Kita Academy", owned_by_platform=True
        )
        self.count = 0

    def add(self, title: str, **fields: object) -> Training:
        self.count += 1
        values: dict[str, object] = {
            "platform": self.toko,
            "institution": self.lpk,
            "category": "Kuliner",
            "description": "Pelatihan singkat dengan sertifikat.",
            "price_idr": 250_000,
            "price_outside_program_idr": 300_000,
            "duration_hours": 4,
            "sessions": 2,
            "delivery": "self_paced",
            "url": "https://toko.example/kelas",
            "status": "active",
            "content_hash": "x",
        }
        values.update(fields)
        if values["institution"] == self.own:
            values["platform"] = self.kelas
        return Training.objects.create(external_id=f"t{self.count}", title=title, **values)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog()


def titles(page) -> list[str]:
    return [hit.title for hit in page.items]


# --- text ----------------------------------------------------------------------------------------


def test_words_in_the_title_come_first_then_category_or_description_most_bought_first(catalog):
    catalog.add("Teknik Dasar Menjahit untuk Pemula", buyers=5)
    catalog.add("Menjahit Baju Anak", buyers=50)
    catalog.add(
        "Digital Marketing untuk UMKM",
        description="Cocok untuk usaha menjahit rumahan.",
        category="Pemasaran",
        buyers=100,
    )
    catalog.add("Kue Kering Lebaran", buyers=1000)
    catalog.add("Menjahit Tingkat Lanjut", status="pending_review", buyers=7)

    found = trainings_search(q="menjahit")

    assert titles(found) == [
        "Menjahit Baju Anak",
        "Teknik Dasar Menjahit untuk Pemula",
        "Digital Marketing untuk UMKM",
    ]
    assert (found.total, found.total_capped, found.pages) == (3, False, 1)
    assert titles(trainings_search(q="pemasaran")) == ["Digital Marketing untuk UMKM"]


def test_a_query_word_must_start_a_word_of_the_training(catalog):
    catalog.add("Menjahit Baju Anak")
    catalog.add("Jahitan Tangan Halus")

    assert titles(trainings_search(q="jahit")) == ["Jahitan Tangan Halus"]
    assert titles(trainings_search(q="menja")) == ["Menjahit Baju Anak"]
    assert titles(trainings_search(q="ahit")) == []


def test_every_word_must_match_whatever_the_case_and_punctuation(catalog):
    catalog.add("Digital Marketing untuk UMKM", buyers=2)
    catalog.add("Marketing Kuliner Rumahan", buyers=9)
    catalog.add("E-Commerce untuk Pemula", buyers=1)

    assert titles(trainings_search(q="DIGITAL, market!")) == ["Digital Marketing untuk UMKM"]
    assert titles(trainings_search(q="marketing")) == [
        "Marketing Kuliner Rumahan",
        "Digital Marketing untuk UMKM",
    ]
    assert titles(trainings_search(q="e-commerce")) == ["E-Commerce untuk Pemula"]
    assert titles(trainings_search(q="digital rumahan")) == []


def test_a_query_of_function_words_only_finds_everything_most_bought_first(catalog):
    catalog.add("Kue Kering", buyers=3)
    catalog.add("Menjahit untuk Pemula", buyers=8)

    assert titles(trainings_search(q="untuk dan di")) == ["Menjahit untuk Pemula", "Kue Kering"]


def test_edits_and_deletions_reach_the_search_index(catalog):
    training = catalog.add("Barista Kopi")
    training.title = "Membuat Roti Manis"
    training.save()

    assert titles(trainings_search(q="barista")) == []
    assert titles(trainings_search(q="roti")) == ["Membuat Roti Manis"]

    training.delete()
    assert titles(trainings_search(q="roti")) == []


def test_the_search_index_is_in_place_after_every_migration():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'catalog_training' ORDER BY name"
            )
            assert [row[0] for row in cursor.fetchall()] == [
                "catalog_training_fts_delete",
                "catalog_training_fts_insert",
                "catalog_training_fts_update",
            ]
        else:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'catalog_training' AND column_name LIKE '%%_vector' "
                "ORDER BY column_name"
            )
            assert [row[0] for row in cursor.fetchall()] == ["search_vector", "title_vector"]


# --- what is found -------------------------------------------------------------------------------


def test_only_active_trainings_are_found(catalog):
    for status in ("pending_review", "rejected", "suspended", "withdrawn"):
        catalog.add(f"Kue {status}", status=status)
    catalog.add("Kue aktif")

    assert titles(trainings_search()) == ["Kue aktif"]
    assert titles(trainings_search(q="kue")) == ["Kue aktif"]
    assert search_options().categories == ["Kuliner"]


@pytest.fixture
def varied(catalog: Catalog) -> Catalog:
    catalog.add("A Kuliner murah", price_idr=100_000, buyers=6)
    catalog.add("B Kuliner sedang", price_idr=250_000, buyers=5)
    catalog.add("C Pemasaran mahal", category="Pemasaran", price_idr=900_000, buyers=4)
    catalog.add("D Webinar", delivery="webinar", institution=catalog.own, buyers=3)
    catalog.add(
        "E Bandung",
        delivery="offline",
        regency_code="32.73",
        lat=BANDUNG[0],
        lon=BANDUNG[1],
        buyers=2,
    )
    catalog.add(
        "F Surabaya",
        delivery="offline",
        regency_code="35.78",
        lat=SURABAYA[0],
        lon=SURABAYA[1],
        price_idr=400_000,
        buyers=1,
    )
    return catalog


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category": "Pemasaran"}, ["C Pemasaran mahal"]),
        ({"platform": "kelas"}, ["D Webinar"]),
        (
            {"price_min": 250_000},
            ["B Kuliner sedang", "C Pemasaran mahal", "D Webinar", "E Bandung", "F Surabaya"],
        ),
        ({"price_max": 250_000}, ["A Kuliner murah", "B Kuliner sedang", "D Webinar", "E Bandung"]),
        (
            {"price_min": 250_000, "price_max": 400_000},
            ["B Kuliner sedang", "D Webinar", "E Bandung", "F Surabaya"],
        ),
        ({"delivery": "webinar"}, ["D Webinar"]),
        ({"delivery": "offline"}, ["E Bandung", "F Surabaya"]),
        ({"province": "32"}, ["E Bandung"]),
        ({"province": "35", "category": "Kuliner"}, ["F Surabaya"]),
        ({"province": "31"}, []),
    ],
)
def test_each_filter(varied, filters, expected):
    found = trainings_search(**filters)
    assert titles(found) == expected  # most bought first: A has 6 buyers … F has 1
    assert found.total == len(expected)


def test_a_result_carries_what_the_page_shows(varied):
    (hit,) = trainings_search(q="webinar").items

    assert (hit.platform_code, hit.platform_name) == ("kelas", "Kelas Kita")
    assert (hit.institution_name, hit.owned_by_platform) == ("Kelas Kita Academy", True)
    assert (hit.delivery, hit.price_idr, hit.distance_km, hit.rating) == (
        "webinar",
        250_000,
        None,
        None,
    )


# --- sorts ---------------------------------------------------------------------------------------


def test_price_sorts_break_ties_by_id(varied):
    assert titles(trainings_search(sort="price_asc")) == [
        "A Kuliner murah",
        "B Kuliner sedang",
        "D Webinar",
        "E Bandung",
        "F Surabaya",
        "C Pemasaran mahal",
    ]
    assert titles(trainings_search(sort="price_desc")) == [
        "C Pemasaran mahal",
        "F Surabaya",
        "E Bandung",
        "D Webinar",
        "B Kuliner sedang",
        "A Kuliner murah",
    ]


def test_popularity_is_the_number_of_buyers(varied):
    expected = [
        "A Kuliner murah",
        "B Kuliner sedang",
        "C Pemasaran mahal",
        "D Webinar",
        "E Bandung",
        "F Surabaya",
    ]
    assert titles(trainings_search(sort="popularity")) == expected
    assert titles(trainings_search(sort="relevance")) == expected  # without words


def test_distance_from_home_nearest_first_then_online_trainings(varied):
    varied.add(
        "G Jakarta", delivery="offline", regency_code="31.71", lat=JAKARTA[0], lon=JAKARTA[1]
    )
    home = regency_centroid("32.73")

    found = trainings_search(sort="distance", home_regency="32.73")

    assert titles(found) == [
        "E Bandung",
        "G Jakarta",
        "F Surabaya",
        "A Kuliner murah",  # online: most bought first
        "B Kuliner sedang",
        "C Pemasaran mahal",
        "D Webinar",
    ]
    distances = [hit.distance_km for hit in found.items]
    assert distances[:3] == [
        haversine_km(home, BANDUNG),
        haversine_km(home, JAKARTA),
        haversine_km(home, SURABAYA),
    ]
    assert distances[3:] == [None] * 4
    assert 0.5 < distances[0] < 2 and 110 < distances[1] < 130 and 550 < distances[2] < 700


def test_a_distance_sort_without_home_lists_every_training_most_bought_first(varied):
    found = trainings_search(sort="distance")

    assert titles(found) == [
        "A Kuliner murah",
        "B Kuliner sedang",
        "C Pemasaran mahal",
        "D Webinar",
        "E Bandung",  # offline, but no distance to measure: by buyers like the rest
        "F Surabaya",
    ]
    assert [hit.distance_km for hit in found.items] == [None] * 6


def test_a_price_range_from_above_its_top_finds_nothing(varied):
    found = trainings_search(price_min=500_000, price_max=100_000)

    assert (titles(found), found.total, found.pages) == ([], 0, 1)


def test_distances_are_shown_whatever_the_sort_once_home_is_known(varied):
    found = trainings_search(delivery="offline", home_regency="35.78")
    assert [(h.title, round(h.distance_km)) for h in found.items] == [
        ("E Bandung", round(haversine_km(regency_centroid("35.78"), BANDUNG))),
        ("F Surabaya", round(haversine_km(regency_centroid("35.78"), SURABAYA))),
    ]


def test_haversine_between_two_known_points():
    # Monas to central Bandung: about 120 km as the crow flies.
    assert haversine_km(JAKARTA, BANDUNG) == pytest.approx(120.26, abs=0.01)
    assert haversine_km(BANDUNG, BANDUNG) == 0.0


# --- ratings -------------------------------------------------------------------------------------


def test_a_rating_shows_from_the_scheme_minimum_as_a_bayesian_average(catalog):
    ProgramScheme.objects.filter(is_active=True).update(rating_min_reviews=3)
    catalog.add("R1 lima bintang", rating_count=3, rating_sum=15, buyers=3)
    catalog.add("R2 empat bintang", rating_count=10, rating_sum=40, buyers=20)
    catalog.add("R3 baru dua ulasan", rating_count=2, rating_sum=10, buyers=90)
    catalog.add("R4 belum diulas", buyers=50)
    catalog.add("R5 nonaktif", rating_count=100, rating_sum=100, status="suspended")

    found = trainings_search(sort="rating")

    mean = Fraction(15 + 40 + 10, 3 + 10 + 2)  # C: every review of the active trainings
    r1 = (3 * mean + 15) / (3 + 3)
    r2 = (3 * mean + 40) / (3 + 10)
    assert (float(r1), float(r2)) == pytest.approx((4.6667, 4.0769), abs=1e-4)
    assert [(h.title, h.rating) for h in found.items] == [
        ("R1 lima bintang", pytest.approx(float(r1), abs=1e-12)),
        ("R2 empat bintang", pytest.approx(float(r2), abs=1e-12)),
        ("R3 baru dua ulasan", None),  # below the minimum: not shown, most bought first
        ("R4 belum diulas", None),
    ]
    assert found.rating_min_reviews == 3


def test_a_larger_minimum_hides_every_rating_below_it(catalog):
    catalog.add("Banyak ulasan", rating_count=9, rating_sum=45)

    found = trainings_search()  # the 2020 scheme: 10 reviews

    assert found.rating_min_reviews == 10
    assert found.items[0].rating is None


def test_without_any_review_the_mean_is_the_middle_of_the_scale(catalog):
    catalog.add("Belum diulas")
    assert search.rating_prior().mean == 3.0


# --- pages ---------------------------------------------------------------------------------------


def test_pages_do_not_overlap_and_a_page_past_the_end_is_empty(varied):
    pages = [trainings_search(sort="price_asc", per_page=4, page=n) for n in (1, 2, 3)]

    assert [titles(p) for p in pages] == [
        ["A Kuliner murah", "B Kuliner sedang", "D Webinar", "E Bandung"],
        ["F Surabaya", "C Pemasaran mahal"],
        [],
    ]
    assert [(p.total, p.pages, p.page, p.per_page) for p in pages] == [
        (6, 2, 1, 4),
        (6, 2, 2, 4),
        (6, 2, 3, 4),
    ]


def test_pages_run_across_the_two_tiers_of_an_order(catalog):
    for n, buyers in enumerate([5, 4, 3]):
        catalog.add(f"Roti {n}", buyers=buyers)
    catalog.add("Kue A", description="Dengan roti.", buyers=9)
    catalog.add("Kue B", description="Dengan roti.", buyers=8)

    pages = [titles(trainings_search(q="roti", per_page=2, page=n)) for n in (1, 2, 3, 4)]

    assert pages == [["Roti 0", "Roti 1"], ["Roti 2", "Kue A"], ["Kue B"], []]


def test_the_count_stops_at_the_cap(catalog, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for n in range(5):
        catalog.add(f"Kue {n}", buyers=10 - n)

    first, second, third = (trainings_search(per_page=2, page=n) for n in (1, 2, 3))

    assert (first.total, first.total_capped, first.pages) == (3, True, 2)
    assert titles(first) + titles(second) == ["Kue 0", "Kue 1", "Kue 2", "Kue 3"]
    assert titles(third) == []


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"sort": "cheapest"}, {"sort": "CHOICE_INVALID"}),
        ({"delivery": "home"}, {"delivery": "CHOICE_INVALID"}),
        ({"province": "99"}, {"province": "REGION_UNKNOWN"}),
        ({"province": "3"}, {"province": "REGION_UNKNOWN"}),
        ({"price_min": -1}, {"price_min": "PRICE_INVALID"}),
        ({"home_regency": "99.99"}, {"home_regency": "REGION_UNKNOWN"}),
        ({"page": 0, "per_page": 51}, {"page": "PAGE_INVALID", "per_page": "PAGE_INVALID"}),
    ],
)
def test_a_search_with_a_bad_parameter_is_refused_by_name(params, details):
    with pytest.raises(ValidationFailed) as refused:
        trainings_search(**params)
    assert refused.value.details == details


# --- reference points ----------------------------------------------------------------------------


def test_every_regency_code_has_a_reference_point_inside_indonesia():
    codes = {r.code for r in regions.regencies()}
    points = regency_centroids()

    assert len(codes) == 540 and codes <= set(points)
    assert all(-11.5 < lat < 6.5 and 94.5 < lon < 141.5 for lat, lon in points.values())
    # a city's point lies within its city: Kota Bandung and Kota Surabaya
    assert haversine_km(points["32.73"], BANDUNG) < 3
    assert haversine_km(points["35.78"], SURABAYA) < 3
    assert not math.isnan(sum(lat + lon for lat, lon in points.values()))
