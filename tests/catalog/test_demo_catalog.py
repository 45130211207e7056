"""The demo catalog (catalog.demo): the size of June 2020, realistic, deterministic, idempotent."""

import hashlib

import pytest
from django.db.models import F, Q

from prakerja.catalog.demo import CATEGORIES, PLATFORMS, demo_catalog_seed
from prakerja.catalog.models import Institution, Training
from prakerja.catalog.search import haversine_km, regency_centroid, trainings_search
from prakerja.partners.models import Partner

pytestmark = pytest.mark.django_db


def digest() -> str:
    rows = Training.objects.order_by("external_id").values_list(
        "external_id",
        "title",
        "category",
        "price_idr",
        "delivery",
        "regency_code",
        "status",
        "buyers",
        "rating_count",
        "rating_sum",
        "institution__external_id",
    )
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def test_the_demo_catalog_has_the_2020_size_and_shape():
    made = demo_catalog_seed()

    assert (made.platforms, made.institutions, made.trainings, made.created) == (8, 104, 2700, True)
    assert sorted(Partner.objects.filter(kind="platform").values_list("name", flat=True)) == sorted(
        name for _code, name, _owned in PLATFORMS
    )
    assert Institution.objects.count() == 104
    assert Institution.objects.filter(owned_by_platform=True).count() == 4
    trainings = Training.objects.all()
    assert trainings.count() == 2700
    offline = trainings.filter(delivery="offline")
    assert offline.count() == 405  # 15 % exactly
    assert trainings.filter(delivery="webinar").count() == 675
    prices = list(trainings.values_list("price_idr", flat=True))
    assert min(prices) >= 100_000 and max(prices) <= 1_000_000
    assert all(price % 1000 == 0 for price in prices)
    assert trainings.filter(price_outside_program_idr__lt=F("price_idr")).count() == 0
    assert set(trainings.values_list("category", flat=True)) == set(CATEGORIES)
    active = trainings.filter(status="active").count()
    assert 0.88 < active / 2700 < 0.96
    assert trainings.filter(status="pending_review").count() == 2700 - active
    assert trainings.exclude(status="active").filter(buyers__gt=0).count() == 0
    rated = trainings.filter(rating_count__gt=0)
    assert 300 < rated.count() < 1200
    assert (
        rated.filter(
            Q(rating_count__gt=F("buyers"))
            | Q(rating_sum__lt=F("rating_count"))
            | Q(rating_sum__gt=5 * F("rating_count"))
        ).count()
        == 0
    )
    assert trainings_search(sort="rating").items[0].rating is not None


def test_offline_trainings_are_held_near_a_real_regency():
    demo_catalog_seed()

    offline = Training.objects.filter(delivery="offline")
    assert (
        offline.filter(Q(lat=None) | Q(lon=None) | Q(regency_code="") | Q(address="")).count() == 0
    )
    far = [
        t.external_id
        for t in offline
        if haversine_km(regency_centroid(t.regency_code), (t.lat, t.lon)) > 6.5
    ]
    assert far == []  # within 0,04 degrees either way of the reference point
    assert Training.objects.exclude(delivery="offline").exclude(regency_code="").count() == 0
    assert offline.values("regency_code").distinct().count() > 150


def test_a_second_seed_adds_nothing_and_the_same_seed_makes_the_same_catalog():
    demo_catalog_seed()
    first = digest()

    again = demo_catalog_seed()
    assert (again.created, again.trainings, Training.objects.count()) == (False, 2700, 2700)
    assert digest() == first

    Training.objects.all().delete()
    Institution.objects.all().delete()
    demo_catalog_seed()  # the platforms are still there and are reused
    assert Partner.objects.filter(kind="platform").count() == 8
    assert digest() == first


def test_titles_read_as_indonesian_course_names():
    demo_catalog_seed()
    titles = set(Training.objects.values_list("title", flat=True))

    assert len(titles) > 1800  # 2.700 trainings, few with the same title
    assert {"Kelas Menjahit untuk Pemula", "Digital Marketing untuk UMKM"} <= titles
