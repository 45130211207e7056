"""The console's dashboards (/console/dashboards/): an index and one page per dashboard, each a
chart drawn in the browser from the page's JSON, the same data as a table, and the table as CSV or
XLSX (`?format=csv|xlsx`). Every figure is read from the daily facts (facts.py)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import format_wib
from prakerja.console.access import operator_required
from prakerja.dashboards import figures, reports
from prakerja.dashboards.exports import table_response
from prakerja.dashboards.facts import facts_refreshed_at
from prakerja.dashboards.reports import Table
from prakerja.registration.regions import provinces

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

PERMISSION = "console.view_dashboards"


class Filters(forms.Form):
    start = forms.DateField(
        required=False,
        label=gettext_lazy("From (WIB)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False,
        label=gettext_lazy("To (WIB)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    province = forms.ChoiceField(required=False, label=gettext_lazy("Province"))
    by = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Rows"),
        choices=[("day", gettext_lazy("per day")), ("province", gettext_lazy("per province"))],
    )

    def __init__(self, *args: Any, dashboard: "Dashboard", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if dashboard.provinces:
            province = self.fields["province"]
            assert isinstance(province, forms.ChoiceField)
            province.choices = [("", _("All provinces"))] + [(p.code, p.name) for p in provinces()]
        else:
            del self.fields["province"]
        if dashboard.slug != "pendaftaran":
            del self.fields["by"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


@dataclass(frozen=True)
class Query:
    start: datetime.date | None = None
    end: datetime.date | None = None
    province: str = ""
    by: str = "day"


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: "StrOrPromise"
    description: "StrOrPromise"
    provinces: bool
    build: Callable[[Query], Table]


DASHBOARDS = [
    Dashboard(
        "pendaftaran",
        gettext_lazy("Registration funnel"),
        gettext_lazy(
            "Registrants per day and province: signed up and each verification layer passed."
        ),
        True,
        lambda q: reports.funnel_table(
            figures.funnel_facts(start=q.start, end=q.end, province=q.province), by=q.by
        ),
    ),
    Dashboard(
        "gelombang",
        gettext_lazy("Waves"),
        gettext_lazy(
            "Per wave: participants, buyers, completers, incentive recipients and revoked "
            "participants, by the day each reached the stage."
        ),
        True,
        lambda q: reports.waves_table(
            figures.waves_facts(start=q.start, end=q.end, province=q.province)
        ),
    ),
    Dashboard(
        "dana",
        gettext_lazy("Money per day"),
        gettext_lazy(
            "Rupiah per day from the ledger: credited, spent, refunded, lapsed, returned at "
            "revocation, incentives and survey incentives paid."
        ),
        False,
        lambda q: reports.money_table(figures.money_facts(start=q.start, end=q.end)),
    ),
    Dashboard(
        "penyaluran",
        gettext_lazy("Disbursement monitor"),
        gettext_lazy(
            "Transfer instructions per institution, status and failure reason (by run date)."
        ),
        False,
        lambda q: reports.disbursement_table(figures.disbursement_facts(start=q.start, end=q.end)),
    ),
    Dashboard(
        "survei",
        gettext_lazy("Survey outcomes"),
        gettext_lazy("Answers per question: employment status, training effective, helped."),
        False,
        lambda q: reports.surveys_table(figures.surveys_facts(start=q.start, end=q.end)),
    ),
]
BY_SLUG = {d.slug: d for d in DASHBOARDS}


def _number(value: int, english: bool) -> str:
    text = f"{value:,}"
    return text if english else text.replace(",", ".")


def cell_text(value: Any, kind: str, english: bool) -> str:
    if kind == "rupiah" and isinstance(value, int):
        return format_rupiah(value)
    if kind == "percent" and isinstance(value, float):
        text = f"{value:.1f}"
        return (text if english else text.replace(".", ",")) + "%"
    if kind == "int" and isinstance(value, int):
        return _number(value, english)
    return str(value)


def _cells(row: list[Any], table: Table, english: bool) -> list[dict[str, Any]]:
    return [
        {
            "value": value,
            "text": cell_text(value, column.kind, english),
            "numeric": column.kind != "text",
            "key": column.key,
        }
        for value, column in zip(row, table.columns, strict=True)
    ]


@operator_required(PERMISSION)
def dashboards_index(request: HttpRequest) -> HttpResponseBase:
    refreshed = facts_refreshed_at()
    language = get_language() or "id"
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboards"),
        "dashboards": [
            (d, reverse("dashboards:page", kwargs={"slug": d.slug})) for d in DASHBOARDS
        ],
        "evaluation_url": reverse("admin:orders_review_evaluation"),
        "refreshed": format_wib(refreshed, language=language) if refreshed else "",
    }
    return TemplateResponse(request, "dashboards/index.html", context)


@operator_required(PERMISSION)
def dashboard_page(request: HttpRequest, slug: str) -> HttpResponseBase:
    dashboard = BY_SLUG.get(slug)
    if dashboard is None:
        raise Http404
    form = Filters(request.GET or None, dashboard=dashboard)
    query = Query()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = Query(
            start=data.get("start"),
            end=data.get("end"),
            province=data.get("province") or "",
            by=data.get("by") or "day",
        )
    table = dashboard.build(query)
    export = request.GET.get("format", "")
    if export in ("csv", "xlsx"):
        parts = [dashboard.slug, *(d.isoformat() for d in (query.start, query.end) if d)]
        if query.province:
            parts.append(query.province)
        return table_response(
            table, export=export, filename="dasbor-" + "-".join(parts), sheet=dashboard.slug
        )
    english = (get_language() or "id").startswith("en")
    params = request.GET.copy()
    params.pop("format", None)
    refreshed = facts_refreshed_at()
    context = {
        **admin.site.each_context(request),
        "title": dashboard.title,
        "dashboard": dashboard,
        "form": form,
        "table": table,
        "rows": [_cells(row, table, english) for row in table.rows],
        "total": _cells(table.total, table, english) if table.total is not None else None,
        "chart": table.chart,
        "csv_query": _with(params, "csv"),
        "xlsx_query": _with(params, "xlsx"),
        "refreshed": format_wib(refreshed, language="en" if english else "id") if refreshed else "",
    }
    return TemplateResponse(request, "dashboards/page.html", context)


def _with(params: Any, export: str) -> str:
    query = params.copy()
    query["format"] = export
    return "?" + query.urlencode()
