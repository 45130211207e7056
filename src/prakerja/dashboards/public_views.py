"""The public transparency page (/transparansi/): the program's totals only — counts, rupiah and
survey shares, never a person — read from the daily facts and cached for a few minutes (in the
server's cache and by browsers and proxies)."""

from typing import Any

from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from prakerja.dashboards import figures
from prakerja.dashboards.facts import facts_refreshed_at
from prakerja.dashboards.models import FunnelDay, MoneyDay, WaveDay
from prakerja.dashboards.reports import MONEY_MEASURES, headline_shares

CACHE_KEY = "dashboards:public-figures"
CACHE_SECONDS = 300


def public_figures() -> dict[str, Any]:
    """The totals the page shows, from the facts (a few grouped sums)."""
    stages = dict(
        FunnelDay.objects.order_by()
        .values("stage")
        .annotate(n=Sum("count"))
        .values_list("stage", "n")
    )
    measures = dict(
        WaveDay.objects.order_by()
        .values("measure")
        .annotate(n=Sum("count"))
        .values_list("measure", "n")
    )
    money = {
        measure: (count or 0, amount or 0)
        for measure, count, amount in MoneyDay.objects.order_by()
        .values("measure")
        .annotate(c=Sum("count"), a=Sum("amount_idr"))
        .values_list("measure", "c", "a")
    }
    incentives = money.get(MONEY_MEASURES["incentives_paid"], (0, 0))
    surveys = money.get(MONEY_MEASURES["survey_incentives_paid"], (0, 0))
    return {
        "registrants": stages.get("registered", 0),
        "email": stages.get("email", 0),
        "nik": stages.get("nik", 0),
        "phone": stages.get("phone", 0),
        "participants": measures.get("participants", 0),
        "buyers": measures.get("buyers", 0),
        "completers": measures.get("completers", 0),
        "recipients": measures.get("incentive_recipients", 0),
        "credited_idr": money.get(MONEY_MEASURES["credited"], (0, 0))[1],
        "spent_idr": money.get(MONEY_MEASURES["spent"], (0, 0))[1],
        "incentives_idr": incentives[1],
        "survey_incentives_idr": surveys[1],
        "paid_idr": incentives[1] + surveys[1],
        "transfers": incentives[0] + surveys[0],
        "survey": headline_shares(figures.surveys_facts()),
        "refreshed_at": facts_refreshed_at(),
    }


def transparency(request: HttpRequest) -> HttpResponse:
    data = cache.get(CACHE_KEY)
    if data is None:
        data = public_figures()
        cache.set(CACHE_KEY, data, CACHE_SECONDS)
    response = render(request, "dashboards/public.html", {"f": data})
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    return response
