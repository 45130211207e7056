"""Provider evaluation: every figure per training, institution and platform on a small hand-built
dataset, the number of queries, and the console page (levels, sorting, CSV, suspend)."""

import csv
import datetime
import io
from dataclasses import astuple, replace
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.catalog.search import search_cache_forget
from prakerja.orders.evaluation import COLUMNS, EvaluationRow, evaluation_csv, provider_evaluation
from prakerja.orders.models import OrderStatus
from prakerja.orders.reviews import review_submit
from prakerja.partners.models import OutboundEvent, Partner, PartnerKind
from prakerja.waves.models import ProgramScheme
from tests.operators import operator_login
from tests.orders import factories as f

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)
URL = "admin:orders_review_evaluation"


@pytest.fixture(autouse=True)
def _fresh_rating_prior():
    search_cache_forget()
    yield
    search_cache_forget()


class World:
    """Two platforms, three institutions (one owned by its platform), four trainings, ten orders
    in every status and five reviews (two of them the same text from two accounts)."""

    def __init__(self) -> None:
        ProgramScheme.objects.filter(is_active=True).update(rating_min_reviews=2)
        self.alpha = f.platform("alpha", "Alpha Belajar")
        self.beta = f.platform("beta", "Beta Kursus")
        Partner.objects.create(code="lpk-mitra", name="LPK Mitra", kind=PartnerKind.INSTITUTION)
        self.i1 = f.institution(self.alpha, "LPK Satu")
        self.i2 = f.institution(self.alpha, "Alpha Academy", owned=True)
        self.i3 = f.institution(self.beta, "LPK Tiga")
        self.t1 = f.training(self.i1, "Barista Dasar")
        self.t2 = f.training(self.i2, "Desain Grafis", flag_price_above_outside=True)
        self.t3 = f.training(self.i3, "Excel Lanjutan")
        self.t4 = f.training(self.i3, "Fotografi Produk", status=TrainingStatus.PENDING_REVIEW)
        done = OrderStatus.COMPLETED
        # t1: 5 orders; 4 redeemed (3 completed in 30, 20 and 5 hours, the last one flagged fast)
        t1_done = [
            f.order(f.participant(), self.t1, done, completed_after=30 * H),
            f.order(f.participant(), self.t1, done, completed_after=20 * H),
            f.order(
                f.participant(), self.t1, done, completed_after=5 * H, flag_fast_completion=True
            ),
        ]
        f.order(f.participant(), self.t1, OrderStatus.REDEEMED)
        f.order(f.participant(), self.t1, OrderStatus.EXPIRED)
        # t2: 3 orders; 2 completed (in 40 and 10 hours), 1 voucher still issued
        t2_done = [
            f.order(f.participant(), self.t2, done, completed_after=40 * H),
            f.order(f.participant(), self.t2, done, completed_after=10 * H),
        ]
        f.order(f.participant(), self.t2, OrderStatus.ISSUED)
        # t3: 2 orders, both expired; t4: none
        f.order(f.participant(), self.t3, OrderStatus.EXPIRED)
        f.order(f.participant(), self.t3, OrderStatus.EXPIRED)
        texts = [
            "Materi barista lengkap, praktiknya menyenangkan.",
            "Cukup bagus walau videonya agak panjang.",
            "Kurang sesuai harapan, terlalu dasar bagi saya.",
        ]
        for order, stars, text in zip(t1_done, [5, 4, 2], texts, strict=True):
            self.review(order, stars, text)
        for order in t2_done:  # the same words from two accounts: both flagged
            self.review(order, 4, "Sangat bermanfaat, terima kasih Prakerja!")
        search_cache_forget()

    @staticmethod
    def review(order: Any, stars: int, text: str) -> None:
        who = order.participant
        review_submit(participant=who, order=order, stars=stars, text=text, actor=f.actor_of(who))


@pytest.fixture
def world() -> World:
    return World()


# C, the catalog's mean star over the reviews of active trainings: (5 + 4 + 2 + 4 + 4) / 5 = 3.8;
# m = 2 (the scheme's rating_min_reviews, set by World). Bayesian = (m × C + sum) / (m + count).
def bayes(stars_sum: int, count: int) -> float:
    return round((2 * 3.8 + stars_sum) / (2 + count), 2)


def expected_trainings(w: World) -> list[EvaluationRow]:
    common = {"level": "training", "trainings": 1}
    return [
        EvaluationRow(
            **common,
            id=w.t1.pk,
            name="Barista Dasar",
            platform="alpha",
            institution="LPK Satu",
            status="active",
            orders=5,
            redeemed=4,
            completed=3,
            expired=1,
            redemption_rate=0.8,
            completion_rate=0.75,
            expiry_rate=0.2,
            median_hours_to_complete=20.0,
            reviews=3,
            mean_stars=3.67,
            rating=bayes(11, 3),  # 3.72
            ownership_conflicts=0,
            price_parity_flags=0,
            fast_completions=1,
            review_anomalies=0,
        ),
        EvaluationRow(
            **common,
            id=w.t2.pk,
            name="Desain Grafis",
            platform="alpha",
            institution="Alpha Academy",
            status="active",
            orders=3,
            redeemed=2,
            completed=2,
            expired=0,
            redemption_rate=0.6667,
            completion_rate=1.0,
            expiry_rate=0.0,
            median_hours_to_complete=25.0,  # the mean of 10 and 40
            reviews=2,
            mean_stars=4.0,
            rating=bayes(8, 2),  # 3.9
            ownership_conflicts=1,
            price_parity_flags=1,
            fast_completions=0,
            review_anomalies=2,
        ),
        EvaluationRow(
            **common,
            id=w.t3.pk,
            name="Excel Lanjutan",
            platform="beta",
            institution="LPK Tiga",
            status="active",
            orders=2,
            redeemed=0,
            completed=0,
            expired=2,
            redemption_rate=0.0,
            completion_rate=None,
            expiry_rate=1.0,
            median_hours_to_complete=None,
            reviews=0,
            mean_stars=None,
            rating=None,
            ownership_conflicts=0,
            price_parity_flags=0,
            fast_completions=0,
            review_anomalies=0,
        ),
        EvaluationRow(
            **common,
            id=w.t4.pk,
            name="Fotografi Produk",
            platform="beta",
            institution="LPK Tiga",
            status="pending_review",
            orders=0,
            redeemed=0,
            completed=0,
            expired=0,
            redemption_rate=None,
            completion_rate=None,
            expiry_rate=None,
            median_hours_to_complete=None,
            reviews=0,
            mean_stars=None,
            rating=None,
            ownership_conflicts=0,
            price_parity_flags=0,
            fast_completions=0,
            review_anomalies=0,
        ),
    ]


def test_training_figures_are_exact(world: World):
    rows = provider_evaluation("training", sort="name")

    assert rows == expected_trainings(world)
    assert [r.rating for r in rows] == [3.72, 3.9, None, None]


def test_institution_figures_are_exact(world: World):
    t1, t2, _, _ = expected_trainings(world)

    rows = provider_evaluation("institution", sort="name")

    level = {"level": "institution", "institution": "", "status": ""}
    assert rows == [
        replace(t2, **level, id=world.i2.pk, name="Alpha Academy", ownership_conflicts=1),
        replace(t1, **level, id=world.i1.pk, name="LPK Satu"),
        EvaluationRow(
            **level,
            id=world.i3.pk,
            name="LPK Tiga",
            platform="beta",
            trainings=2,
            orders=2,
            redeemed=0,
            completed=0,
            expired=2,
            redemption_rate=0.0,
            completion_rate=None,
            expiry_rate=1.0,
            median_hours_to_complete=None,
            reviews=0,
            mean_stars=None,
            rating=None,
            ownership_conflicts=0,
            price_parity_flags=0,
            fast_completions=0,
            review_anomalies=0,
        ),
    ]


def test_platform_figures_are_exact(world: World):
    rows = provider_evaluation("platform", sort="name")

    common = {"level": "platform", "institution": "", "status": ""}
    assert rows == [
        EvaluationRow(
            **common,
            id=world.alpha.pk,
            name="Alpha Belajar",
            platform="alpha",
            trainings=2,
            orders=8,
            redeemed=6,
            completed=5,
            expired=1,
            redemption_rate=0.75,
            completion_rate=0.8333,
            expiry_rate=0.125,
            median_hours_to_complete=20.0,  # of 5, 10, 20, 30 and 40 hours
            reviews=5,
            mean_stars=3.8,
            rating=3.8,  # (2 × 3.8 + 19) / (2 + 5)
            ownership_conflicts=1,
            price_parity_flags=1,
            fast_completions=1,
            review_anomalies=2,
        ),
        EvaluationRow(
            **common,
            id=world.beta.pk,
            name="Beta Kursus",
            platform="beta",
            trainings=2,
            orders=2,
            redeemed=0,
            completed=0,
            expired=2,
            redemption_rate=0.0,
            completion_rate=None,
            expiry_rate=1.0,
            median_hours_to_complete=None,
            reviews=0,
            mean_stars=None,
            rating=None,
            ownership_conflicts=0,
            price_parity_flags=0,
            fast_completions=0,
            review_anomalies=0,
        ),
    ]


def test_a_burst_counts_as_review_anomalies(world: World, monkeypatch):
    from prakerja.orders import review_flags

    monkeypatch.setattr(review_flags, "BURST_REVIEWS", 2)  # the third review of t1 made a burst…
    training = f.training(f.institution(world.beta), "Kelas Baru")
    for number in range(3):
        World.review(f.order(f.participant(), training), 3, f"Ulasan berbeda nomor {number} ya.")

    rows = {r.id: r for r in provider_evaluation("training")}

    assert rows[training.pk].review_anomalies == 3
    assert rows[world.t1.pk].review_anomalies == 0  # written in setup, before the patch


@pytest.mark.parametrize(
    ("sort", "names"),
    [
        ("-orders", ["Barista Dasar", "Desain Grafis", "Excel Lanjutan", "Fotografi Produk"]),
        ("orders", ["Fotografi Produk", "Excel Lanjutan", "Desain Grafis", "Barista Dasar"]),
        # empty values last in either direction; ties by name
        (
            "-completion_rate",
            ["Desain Grafis", "Barista Dasar", "Excel Lanjutan", "Fotografi Produk"],
        ),
        (
            "completion_rate",
            ["Barista Dasar", "Desain Grafis", "Excel Lanjutan", "Fotografi Produk"],
        ),
        (
            "-median_hours_to_complete",
            ["Desain Grafis", "Barista Dasar", "Excel Lanjutan", "Fotografi Produk"],
        ),
        ("-name", ["Fotografi Produk", "Excel Lanjutan", "Desain Grafis", "Barista Dasar"]),
        ("-expiry_rate", ["Excel Lanjutan", "Barista Dasar", "Desain Grafis", "Fotografi Produk"]),
    ],
)
def test_rows_sort_by_any_column(world: World, sort: str, names: list[str]):
    assert [r.name for r in provider_evaluation("training", sort=sort)] == names


def test_an_unknown_level_or_column_is_refused():
    with pytest.raises(ValueError, match="level"):
        provider_evaluation("province")
    with pytest.raises(ValueError, match="sort"):
        provider_evaluation("training", sort="-price")


@pytest.mark.parametrize("level", ["training", "institution", "platform"])
def test_each_level_takes_the_same_few_queries_however_many_trainings(world: World, level: str):
    provider_evaluation(level)  # the catalog's mean star is cached from here on
    with CaptureQueriesContext(connection) as small:
        provider_evaluation(level)
    for number in range(12):
        training = f.training(f.institution(world.beta), f"Kelas {number}")
        World.review(f.order(f.participant(), training), 5, f"Kelas nomor {number} sangat berguna.")
        f.order(f.participant(), training, OrderStatus.EXPIRED)
    with CaptureQueriesContext(connection) as large:
        rows = provider_evaluation(level)

    assert len(small.captured_queries) == len(large.captured_queries) == 5
    assert sum(r.orders for r in rows) == 10 + 24


def test_the_csv_holds_the_selector_rows_exactly(world: World):
    rows = provider_evaluation("platform", sort="name")
    out = io.StringIO()

    evaluation_csv(rows, out)

    read = list(csv.reader(io.StringIO(out.getvalue())))
    assert read[0] == list(COLUMNS)
    assert read[1:] == [["" if v is None else str(v) for v in astuple(r)] for r in rows]
    assert read[1][COLUMNS.index("completion_rate")] == "0.8333"
    assert read[2][COLUMNS.index("completion_rate")] == ""


# --- the console ---------------------------------------------------------------------------------


@pytest.fixture
def pmo(client: Client) -> Client:
    user = User.objects.create_superuser("pmo", "pmo@prakerja.example", "rahasia-panjang-1")
    operator_login(client, user)
    return client


def staff_client(client: Client, *codenames: str) -> Client:
    user = User.objects.create_user("staf", "staf@prakerja.example", "rahasia-panjang-1")
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
    )
    operator_login(client, user)
    return client


def cells(page: str, row_id: int) -> list[str]:
    import re

    row = page.split(f'<tr id="row-{row_id}">')[1].split("</tr>")[0]
    found = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in found]


@pytest.mark.parametrize(
    ("level", "row", "expected"),
    [
        (
            "pelatihan",
            "t1",
            [
                "",
                "Barista Dasar",
                "alpha",
                "LPK Satu",
                "active",
                "5",
                "80.00 %",
                "75.00 %",
                "20.00",
                "3",
                "3.67",
                "3.72",
                "20.00 %",
                "0",
                "0",
                "1",
                "0",
            ],
        ),
        (
            "lembaga",
            "i2",
            [
                "Alpha Academy",
                "alpha",
                "1",
                "3",
                "66.67 %",
                "100.00 %",
                "25.00",
                "2",
                "4.00",
                "3.90",
                "0.00 %",
                "1",
                "1",
                "0",
                "2",
            ],
        ),
        (
            "platform",
            "beta",
            [
                "Beta Kursus",
                "beta",
                "2",
                "2",
                "0.00 %",
                "—",
                "—",
                "0",
                "—",
                "—",
                "100.00 %",
                "0",
                "0",
                "0",
                "0",
            ],
        ),
    ],
)
def test_the_page_shows_each_level_for_a_staff_user(
    world: World, pmo: Client, level, row, expected
):
    response = pmo.get(reverse(URL) + f"?level={level}")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Evaluasi penyedia / Provider evaluation" in page
    assert cells(page, getattr(world, row).pk) == expected


def test_the_headings_sort_and_the_review_list_links_to_the_page(world: World, pmo: Client):
    page = pmo.get(reverse(URL) + "?level=pelatihan&o=-completion_rate").content.decode()

    order = [page.index(f'id="row-{t.pk}"') for t in (world.t2, world.t1, world.t3, world.t4)]
    assert order == sorted(order)
    assert "?level=pelatihan&amp;o=completion_rate" in page  # the heading now reverses it
    reviews = pmo.get(reverse("admin:orders_review_changelist")).content.decode()
    assert reverse(URL) in reviews


def test_the_csv_download_is_the_pages_rows(world: World, pmo: Client):
    response = pmo.get(reverse(URL) + "?level=lembaga&o=-orders&format=csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="evaluasi-penyedia-lembaga-'
    )
    out = io.StringIO()
    evaluation_csv(provider_evaluation("institution", sort="-orders"), out)
    assert response.content.decode() == out.getvalue()
    assert len(out.getvalue().splitlines()) == 4  # the header and three institutions


def snapshot() -> dict[str, Any]:
    return {
        "trainings": list(Training.objects.order_by("pk").values("pk", "status", "status_reason")),
        "audit": AuditEvent.objects.exclude(event_type="console.action").count(),
        "events": OutboundEvent.objects.count(),
    }


def test_the_pmo_suspends_a_training_from_the_page(world: World, pmo: Client):
    response = pmo.post(
        reverse(URL) + "?level=pelatihan&o=-rating",
        {"training": [world.t2.pk], "reason": "Ulasan mencurigakan dan harga di atas pasar"},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "1 pelatihan ditangguhkan / 1 training(s) suspended."
    ]
    world.t2.refresh_from_db()
    assert (world.t2.status, world.t2.status_reason) == (
        "suspended",
        "Ulasan mencurigakan dan harga di atas pasar",
    )
    event = AuditEvent.objects.get(event_type="training.reviewed")
    assert event.actor_label == "user:pmo"
    assert event.details == {
        "decision": "suspend",
        "from": "active",
        "to": "suspended",
        "reason": "Ulasan mencurigakan dan harga di atas pasar",
    }
    sent = OutboundEvent.objects.get(event_type="training.status_changed")
    assert sent.partner_id == world.alpha.pk
    assert cells(response.content.decode(), world.t2.pk)[4] == "suspended"


def test_a_suspension_without_a_reason_or_of_a_pending_training_changes_nothing(
    world: World, pmo: Client
):
    before = snapshot()

    no_reason = pmo.post(reverse(URL), {"training": [world.t1.pk], "reason": " "}, follow=True)
    pending = pmo.post(reverse(URL), {"training": [world.t4.pk], "reason": "x"}, follow=True)

    assert next(str(m) for m in no_reason.context["messages"]).startswith(
        f"“Barista Dasar” (#{world.t1.pk}): VALIDATION_FAILED"
    )
    assert "TRAINING_TRANSITION_REFUSED" in next(str(m) for m in pending.context["messages"])
    assert snapshot() == before


@pytest.mark.parametrize(
    ("codenames", "sees", "may_suspend"),
    [
        ((), False, False),
        (("view_training",), True, False),
        (("view_training", "change_training"), True, True),
    ],
    ids=["staff-without-catalog-rights", "viewer", "curator"],
)
def test_who_sees_the_page_and_who_may_suspend(
    world: World, client: Client, codenames: tuple[str, ...], sees: bool, may_suspend: bool
):
    staff = staff_client(client, *codenames)
    before = snapshot()

    page = staff.get(reverse(URL))
    posted = staff.post(reverse(URL), {"training": [world.t1.pk], "reason": "Rating rendah"})

    assert page.status_code == (200 if sees else 403)
    if sees:
        assert ('name="reason"' in page.content.decode()) is may_suspend
    if may_suspend:
        assert posted.status_code == 302
        assert Training.objects.get(pk=world.t1.pk).status == "suspended"
    else:
        assert posted.status_code == 403
        assert snapshot() == before


def test_the_review_admin_lists_flagged_reviews(world: World, pmo: Client):
    page = pmo.get(reverse("admin:orders_review_changelist") + "?flag_identical_text__exact=1")

    assert page.status_code == 200
    assert page.content.decode().count("Sangat bermanfaat, terima kasih Prakerja!") == 2
