"""The dashboards' pages: who may open them, the table equal to the live counts, CSV and XLSX
with the same numbers as the table, and the public page (totals only, no person, cached)."""

import csv
import datetime
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from prakerja.common import crypto
from prakerja.dashboards import reports, selectors
from prakerja.dashboards.facts import facts_refresh
from prakerja.dashboards.models import FunnelDay
from prakerja.dashboards.views import DASHBOARDS
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant
from tests.dashboards.scenario import scheme_2020, simulate
from tests.operators import operator_login

SLUGS = [d.slug for d in DASHBOARDS]
CELL = re.compile(r'<td class="field-[^"]*" data-value="([^"]*)">')
ROW = re.compile(r"<tr( class=\"total\")?>(.*?)</tr>", re.S)


def operator(django_user_model, *, may_view: bool):
    user = django_user_model.objects.create_user(username=f"op-{may_view}", is_staff=True)
    if may_view:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="console", codename="view_dashboards")
        )
    return user


def page_rows(html: str) -> list[list[str]]:
    body = html[html.index('id="dashboard-table"') :]
    return [CELL.findall(m.group(2)) for m in ROW.finditer(body) if CELL.search(m.group(2))]


def same(rows):
    """Numbers as numbers (XLSX reads 50.0 back as 50), text as text."""

    def value(text):
        try:
            return float(text)
        except ValueError:
            return text

    return [[value(cell) for cell in row] for row in rows]


def urls():
    return [reverse("dashboards:index")] + [
        reverse("dashboards:page", kwargs={"slug": slug}) for slug in SLUGS
    ]


# --- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url_index", range(1 + len(SLUGS)))
def test_anonymous_is_sent_to_sign_in(client, db, url_index):
    url = urls()[url_index]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("url_index", range(1 + len(SLUGS)))
def test_operator_without_the_permission_is_refused(client, django_user_model, url_index):
    operator_login(client, operator(django_user_model, may_view=False))
    assert client.get(urls()[url_index]).status_code == 403
    assert client.get(urls()[url_index] + "?format=csv").status_code == 403


@pytest.mark.parametrize("url_index", range(1 + len(SLUGS)))
def test_operator_with_the_permission_sees_the_page(client, django_user_model, url_index):
    operator_login(client, operator(django_user_model, may_view=True))
    response = client.get(urls()[url_index])
    assert response.status_code == 200


def test_the_admin_index_leads_to_the_dashboards(client, django_user_model):
    operator_login(client, operator(django_user_model, may_view=True))
    link = reverse("admin:dashboards_dashboardslink_changelist")
    assert link in client.get(reverse("admin:index")).content.decode()
    response = client.get(link)
    assert (response.status_code, response["Location"]) == (302, reverse("dashboards:index"))


def test_the_admin_index_shows_no_dashboards_without_the_permission(client, django_user_model):
    operator_login(client, operator(django_user_model, may_view=False))
    link = reverse("admin:dashboards_dashboardslink_changelist")
    assert link not in client.get(reverse("admin:index")).content.decode()


def test_a_start_after_the_end_is_refused_and_shows_every_day(client, django_user_model):
    operator_login(client, operator(django_user_model, may_view=True))
    FunnelDay.objects.create(day="2020-04-11", province_code="32", stage="registered", count=7)
    response = client.get(
        reverse("dashboards:page", kwargs={"slug": "pendaftaran"}),
        {"start": "2020-05-01", "end": "2020-04-01"},
    )
    html = response.content.decode()
    assert "errornote" in html
    assert page_rows(html) == [
        ["2020-04-11", "7", "0", "0", "0", "0", "0"],
        ["Total", "7", "0", "0", "0", "0", "0"],
    ]


# --- with a simulated 2020 -----------------------------------------------------------------------


def live_table(slug: str) -> reports.Table:
    return {
        "pendaftaran": lambda: reports.funnel_table(selectors.funnel_live()),
        "gelombang": lambda: reports.waves_table(selectors.waves_live()),
        "dana": lambda: reports.money_table(selectors.money_live()),
        "penyaluran": lambda: reports.disbursement_table(selectors.disbursement_live()),
        "survei": lambda: reports.surveys_table(selectors.surveys_live()),
    }[slug]()


@pytest.mark.django_db(transaction=True)
def test_pages_exports_and_public_page_after_a_simulated_2020(client, django_user_model):
    scheme_2020()
    simulate()
    facts_refresh()
    operator_login(client, operator(django_user_model, may_view=True))

    for slug in SLUGS:
        url = reverse("dashboards:page", kwargs={"slug": slug})
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        shown = page_rows(html)
        assert 'id="chart-data"' in html
        # every figure on the page is the live count from the records
        assert shown == [[str(v) for v in row] for row in live_table(slug).all_rows()], slug
        assert len(shown) > 1, slug

        exported = client.get(url, {"format": "csv"})
        assert exported["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(exported.content.decode())))
        assert lines[1:] == shown, slug

        workbook = client.get(url, {"format": "xlsx"})
        sheet = load_workbook(io.BytesIO(workbook.content), read_only=True).active
        cells = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        assert cells[0] == lines[0], slug
        assert same(cells[1:]) == same(shown), slug

    # filtered: one province, a month
    url = reverse("dashboards:page", kwargs={"slug": "gelombang"})
    html = client.get(url, {"province": "32", "start": "2020-06-01", "end": "2020-06-30"}).content
    expected = reports.waves_table(
        selectors.waves_live(
            start=datetime.date(2020, 6, 1),
            end=datetime.date(2020, 6, 30),
            province="32",
        )
    )
    assert page_rows(html.decode()) == [[str(v) for v in r] for r in expected.all_rows()]

    # the public page: totals only, never a person
    cache.clear()
    client.logout()
    response = client.get(reverse("transparency:index"))
    assert response.status_code == 200
    assert "max-age=300" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    html = response.content.decode()
    assert f'id="participants">{Participant.objects.count()}<' in html.replace(".", "")
    assert f'id="registrants">{Registrant.objects.count()}<' in html.replace(".", "")
    people = Registrant.objects.filter(participant__isnull=False).values_list(
        "full_name", "email", "phone", "nik_encrypted"
    )
    assert len(people) == Participant.objects.count() > 0
    for full_name, email, phone, nik in people:
        for personal in (full_name, email, phone, crypto.decrypt(nik)):
            assert not personal or personal not in html
    # cached: a change in the facts shows only after the cache's time
    FunnelDay.objects.all().delete()
    later = client.get(reverse("transparency:index")).content.decode()
    assert re.findall(r'<dd id="[^"]+">[^<]*</dd>', later) == re.findall(
        r'<dd id="[^"]+">[^<]*</dd>', html
    )
    assert f'id="registrants">{Registrant.objects.count()}<' in later.replace(".", "")
