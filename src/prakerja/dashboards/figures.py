"""The dashboards' figures read from the daily facts, in the same shapes as the live counts of
selectors.py (a dict from the fact's key to its count, and rupiah): a page sums a few hundred
pre-aggregated rows, whatever the number of records behind them."""

import datetime
from typing import Any

from django.db.models import QuerySet

from prakerja.dashboards.models import DisbursementDay, FunnelDay, MoneyDay, SurveyDay, WaveDay
from prakerja.dashboards.selectors import (
    CountAmount,
    DisbursementKey,
    FunnelKey,
    MoneyKey,
    SurveyKey,
    WaveKey,
)


def _days(query: QuerySet[Any], start: datetime.date | None, end: datetime.date | None) -> Any:
    if start is not None:
        query = query.filter(day__gte=start)
    if end is not None:
        query = query.filter(day__lte=end)
    return query


def funnel_facts(
    *, start: datetime.date | None = None, end: datetime.date | None = None, province: str = ""
) -> dict[FunnelKey, int]:
    query = _days(FunnelDay.objects.all(), start, end)
    if province:
        query = query.filter(province_code=province)
    return {
        (day, province_code, stage): count
        for day, province_code, stage, count in query.values_list(
            "day", "province_code", "stage", "count"
        )
    }


def waves_facts(
    *, start: datetime.date | None = None, end: datetime.date | None = None, province: str = ""
) -> dict[WaveKey, int]:
    query = _days(WaveDay.objects.all(), start, end)
    if province:
        query = query.filter(province_code=province)
    return {
        (day, wave, province_code, measure): count
        for day, wave, province_code, measure, count in query.values_list(
            "day", "wave_number", "province_code", "measure", "count"
        )
    }


def money_facts(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> dict[MoneyKey, CountAmount]:
    query = _days(MoneyDay.objects.all(), start, end)
    return {
        (day, measure): (count, amount)
        for day, measure, count, amount in query.values_list(
            "day", "measure", "count", "amount_idr"
        )
    }


def disbursement_facts(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> dict[DisbursementKey, CountAmount]:
    query = _days(DisbursementDay.objects.all(), start, end)
    return {
        (day, institution, status, reason): (count, amount)
        for day, institution, status, reason, count, amount in query.values_list(
            "day", "institution_id", "status", "reason_code", "count", "amount_idr"
        )
    }


def surveys_facts(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> dict[SurveyKey, int]:
    query = _days(SurveyDay.objects.all(), start, end)
    return {
        (day, sequence, question, answer): count
        for day, sequence, question, answer, count in query.values_list(
            "day", "sequence", "question", "answer", "count"
        )
    }
