"""Back office for reviews and the provider evaluation (program.md §4, §7).

* Reviews: read-only, filtered by their suspicious-pattern flags (orders.review_flags).
* "Evaluasi penyedia / Provider evaluation" (`admin/orders/review/evaluation/`): the figures of
  orders.evaluation per training, institution or platform, sortable by every column, exported as
  CSV (the same rows, the same numbers), and on the training level a "Suspend" button that calls
  the catalog's curation service (`training_review`, decision "suspend", with the reason typed
  beside it; the service audits it and tells the platform). Seeing the page needs
  catalog.view_training, suspending catalog.change_training (as in the catalog's curation).
"""

import io
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template import engines
from django.template.backends.base import BaseEngine
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse

from prakerja.catalog.admin import _refusal
from prakerja.catalog.models import Training
from prakerja.catalog.services import REASON_MAX, training_review
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.errors import ApplicationError
from prakerja.orders.evaluation import (
    DEFAULT_SORT,
    SORTABLE,
    EvaluationRow,
    evaluation_csv,
    provider_evaluation,
)
from prakerja.orders.models import Review

EVALUATION_TEMPLATE = "admin/orders/evaluation.html"
ROWS_PER_PAGE = 200

# The level switch: what the URL says (Indonesian) -> orders.evaluation's level.
LEVELS = {"pelatihan": "training", "lembaga": "institution", "platform": "platform"}
LEVEL_LABELS = {
    "pelatihan": "Pelatihan / Trainings",
    "lembaga": "Lembaga / Institutions",
    "platform": "Platform / Platforms",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # int, rate (0-1 shown as %), number (2 decimals), text
    help: str = ""


COLUMNS = {
    c.key: c
    for c in (
        Column("name", "Nama / Name", "text"),
        Column("platform", "Platform", "text"),
        Column("institution", "Lembaga / Institution", "text"),
        Column("status", "Status", "text"),
        Column("trainings", "Pelatihan / Trainings"),
        Column("orders", "Pembeli / Buyers", help="Pesanan, semua status / orders, any status"),
        Column(
            "redemption_rate",
            "Penukaran / Redemption",
            "rate",
            "ditukar atau selesai ÷ pesanan / redeemed or completed ÷ orders",
        ),
        Column(
            "completion_rate",
            "Penyelesaian / Completion",
            "rate",
            "selesai ÷ ditukar atau selesai / completed ÷ redeemed or completed",
        ),
        Column(
            "median_hours_to_complete",
            "Median jam selesai / Median hours to complete",
            "number",
            "dari penukaran sampai selesai / from redemption to completion",
        ),
        Column("reviews", "Ulasan / Reviews"),
        Column("mean_stars", "Rata-rata bintang / Mean stars", "number"),
        Column(
            "rating",
            "Rating (Bayes)",
            "number",
            "seperti di katalog; kosong di bawah minimum ulasan / as in the catalog; empty "
            "below the minimum of reviews",
        ),
        Column("expiry_rate", "Kedaluwarsa / Expiry", "rate", "kedaluwarsa ÷ pesanan"),
        Column(
            "ownership_conflicts",
            "Milik platform / Platform-owned",
            help="pelatihan lembaga milik platformnya / trainings of an institution its "
            "platform owns",
        ),
        Column(
            "price_parity_flags",
            "Harga > luar program / Price > outside",
            help="pelatihan / trainings",
        ),
        Column("fast_completions", "Selesai terlalu cepat / Fast completions"),
        Column(
            "review_anomalies",
            "Ulasan mencurigakan / Review anomalies",
            help="teks identik atau serbuan / identical text or burst",
        ),
    )
}
SHOWN = {
    "training": (
        "name",
        "platform",
        "institution",
        "status",
        "orders",
        "redemption_rate",
        "completion_rate",
        "median_hours_to_complete",
        "reviews",
        "mean_stars",
        "rating",
        "expiry_rate",
        "ownership_conflicts",
        "price_parity_flags",
        "fast_completions",
        "review_anomalies",
    ),
    "institution": (
        "name",
        "platform",
        "trainings",
        "orders",
        "redemption_rate",
        "completion_rate",
        "median_hours_to_complete",
        "reviews",
        "mean_stars",
        "rating",
        "expiry_rate",
        "ownership_conflicts",
        "price_parity_flags",
        "fast_completions",
        "review_anomalies",
    ),
    "platform": (
        "name",
        "platform",
        "trainings",
        "orders",
        "redemption_rate",
        "completion_rate",
        "median_hours_to_complete",
        "reviews",
        "mean_stars",
        "rating",
        "expiry_rate",
        "ownership_conflicts",
        "price_parity_flags",
        "fast_completions",
        "review_anomalies",
    ),
}
_CHANGE_URL = {
    "training": "admin:catalog_training_change",
    "institution": "admin:catalog_institution_change",
    "platform": "admin:partners_partner_change",
}


def cell(value: object, kind: str) -> str:
    """A value as the table shows it: a rate as a percentage of the same number (0.6667 is
    66.67 %), numbers with their two decimals, nothing for an empty value."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{float(value) * 100:.2f} %"  # type: ignore[arg-type]
    if kind == "number":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    return str(value)


@cache
def _changelist_with_evaluation_link() -> Any:
    engine: BaseEngine = engines["django"]
    return engine.from_string(
        '{% extends "admin/change_list.html" %}{% block object-tools-items %}'
        '<li><a href="{{ evaluation_url }}">Evaluasi penyedia / Provider evaluation</a></li>'
        "{{ block.super }}{% endblock %}"
    )


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "training",
        "order_id",
        "stars",
        "short_text",
        "flag_identical_text",
        "flag_burst",
        "created_at",
        "updated_at",
    )
    list_filter = ("flag_identical_text", "flag_burst", "stars")
    list_select_related = ("training",)
    search_fields = ("=text_hash", "=order__voucher_code", "training__title")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    fields = (
        "order",
        "training",
        "participant",
        "stars",
        "text",
        "text_hash",
        "created_at",
        "updated_at",
        "flag_identical_text",
        "flag_burst",
    )
    readonly_fields = fields

    @admin.display(description="Text")
    def short_text(self, review: Review) -> str:
        return review.text if len(review.text) <= 80 else review.text[:79] + "…"

    def get_urls(self) -> list[URLPattern]:
        evaluation = path(
            "evaluation/",
            self.admin_site.admin_view(self.evaluation_view),
            name="orders_review_evaluation",
        )
        return [evaluation, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and may_evaluate(request):
            response.template_name = _changelist_with_evaluation_link()
            response.context_data = {
                **(response.context_data or {}),
                "evaluation_url": reverse("admin:orders_review_evaluation"),
            }
        return response

    def evaluation_view(self, request: HttpRequest) -> HttpResponseBase:
        if not may_evaluate(request):
            raise PermissionDenied
        level_name = request.GET.get("level", "pelatihan")
        if level_name not in LEVELS:
            level_name = "pelatihan"
        level = LEVELS[level_name]
        sort = request.GET.get("o", DEFAULT_SORT)
        if sort.removeprefix("-") not in SORTABLE:
            sort = DEFAULT_SORT
        if request.method == "POST":
            if level != "training" or not may_suspend(request):
                raise PermissionDenied
            self._suspend(request)
            return HttpResponseRedirect(request.get_full_path())
        rows = provider_evaluation(level, sort=sort)
        if request.GET.get("format") == "csv":
            return _csv_response(rows, level_name)
        page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("p"))
        shown = SHOWN[level]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Evaluasi penyedia / Provider evaluation",
            "levels": [
                (name, label, _url(request, level=name, o=None, p=None))
                for name, label in LEVEL_LABELS.items()
            ],
            "level": level_name,
            "headers": [_header(request, COLUMNS[key], sort) for key in shown],
            "rows": [_table_row(row, shown) for row in page.object_list],
            "page": page,
            "previous_url": _url(request, p=page.number - 1) if page.has_previous() else "",
            "next_url": _url(request, p=page.number + 1) if page.has_next() else "",
            "csv_url": _url(request, format="csv", p=None),
            "may_suspend": level == "training" and may_suspend(request),
            "reason_max": REASON_MAX,
            "total": len(rows),
        }
        return TemplateResponse(request, EVALUATION_TEMPLATE, context)

    def _suspend(self, request: HttpRequest) -> None:
        """`training_review(decision="suspend")` per selected training, each its own transaction:
        the ones suspended and each refusal reported."""
        ids = [int(v) for v in request.POST.getlist("training") if v.isdigit()]
        reason = request.POST.get("reason", "")
        actor = Actor.for_user(request.user)
        if not ids:
            messages.warning(request, "Pilih pelatihan dahulu. / Select trainings first.")
            return
        suspended = 0
        for training in Training.objects.filter(pk__in=ids).order_by("pk"):
            try:
                training_review(training=training, decision="suspend", reason=reason, actor=actor)
            except ApplicationError as error:
                messages.error(request, f"“{training.title}” (#{training.pk}): {_refusal(error)}")
            else:
                suspended += 1
        if suspended:
            messages.success(
                request,
                f"{suspended} pelatihan ditangguhkan / {suspended} training(s) suspended.",
            )


def may_evaluate(request: HttpRequest) -> bool:
    return request.user.has_perm("catalog.view_training")


def may_suspend(request: HttpRequest) -> bool:
    return request.user.has_perm("catalog.change_training")


def _url(request: HttpRequest, **changes: object) -> str:
    """This page's URL with query parameters changed (None removes one)."""
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


def _header(request: HttpRequest, column: Column, sort: str) -> dict[str, str]:
    """A column heading whose link sorts by it: descending first for numbers, ascending for text;
    the current sort column's link reverses it."""
    current = sort.removeprefix("-")
    if current == column.key:
        target = column.key if sort.startswith("-") else f"-{column.key}"
        arrow = " ▼" if sort.startswith("-") else " ▲"
    else:
        target = column.key if column.kind == "text" else f"-{column.key}"
        arrow = ""
    return {
        "key": column.key,
        "label": column.label + arrow,
        "help": column.help,
        "url": _url(request, o=target, p=None),
        "numeric": "" if column.kind == "text" else "numeric",
    }


def _table_row(row: EvaluationRow, shown: tuple[str, ...]) -> dict[str, Any]:
    try:
        link = reverse(_CHANGE_URL[row.level], args=[row.id])
    except NoReverseMatch:  # a model without an admin page: no link
        link = ""
    return {
        "id": row.id,
        "link": link,
        "cells": [
            {
                "key": key,
                "text": cell(getattr(row, key), COLUMNS[key].kind),
                "numeric": COLUMNS[key].kind != "text",
            }
            for key in shown
        ],
        "suspendable": row.status == "active",
    }


def _csv_response(rows: list[EvaluationRow], level_name: str) -> HttpResponse:
    out = io.StringIO()
    evaluation_csv(rows, out)
    today = clock.today().isoformat()
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="evaluasi-penyedia-{level_name}-{today}.csv"'
    )
    return response


# Settlements have their own console module; importing it registers SettlementAdmin.
from prakerja.orders import settlement_admin  # noqa: E402, F401
