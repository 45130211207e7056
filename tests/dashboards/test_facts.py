"""The daily facts after a simulated 2020: every figure equals the live count from the records, an
incremental refresh after more activity equals a full refresh, and refreshing again changes
nothing."""

import datetime

import pytest
from django.core.management import call_command
from django.db.models import Sum

from prakerja.dashboards import figures, reports, selectors
from prakerja.dashboards.facts import facts_refresh
from prakerja.dashboards.models import RefreshState
from prakerja.incentives.models import EntitlementKind, EntitlementStatus, SurveyResponse
from prakerja.ledger.models import Leg
from prakerja.orders.models import OrderStatus
from prakerja.registration.selectors import FUNNEL_STAGES, funnel_totals
from prakerja.waves.models import Participant, ParticipantStatus
from tests.dashboards.scenario import scheme_2020, simulate

FACTS = ("funnel", "waves", "money", "disbursement", "surveys")


def facts_now(**filters):
    return {
        name: getattr(figures, f"{name}_facts")(**_filters_for(name, filters)) for name in FACTS
    }


def live_now(**filters):
    return {
        name: getattr(selectors, f"{name}_live")(**_filters_for(name, filters)) for name in FACTS
    }


def _filters_for(name, filters):
    if name in ("funnel", "waves"):
        return filters
    return {k: v for k, v in filters.items() if k != "province"}


def assert_facts_equal_live(**filters):
    facts, live = facts_now(**filters), live_now(**filters)
    for name in FACTS:
        assert facts[name] == live[name], name


@pytest.mark.django_db(transaction=True)
def test_incremental_refresh_after_more_activity_equals_full_refresh_and_the_live_counts():
    scheme_2020()
    simulate(stop_after="2020-06-20")
    first = facts_refresh()
    assert first.full is True  # the first refresh computes every day
    assert_facts_equal_live()
    before = facts_now()
    assert len(before["funnel"]) > 0 and len(before["waves"]) > 0

    simulate()  # the rest of 2020: waves 4–7, purchases, completions, payouts, surveys
    incremental = facts_refresh()
    assert incremental.full is False
    after_incremental = facts_now()
    assert after_incremental != before
    assert_facts_equal_live()
    assert_facts_equal_live(
        start=datetime.date(2020, 5, 1), end=datetime.date(2020, 7, 31), province="32"
    )

    again = facts_refresh()  # nothing new: the same rows
    assert facts_now() == after_incremental
    assert again.rows == incremental.rows

    call_command("dashboards", "refresh", "--full", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert facts_now() == after_incremental
    assert RefreshState.objects.count() == 1

    # The tables' totals are the records' own counts.
    funnel = reports.funnel_table(figures.funnel_facts())
    assert dict(zip(FUNNEL_STAGES, funnel.total[1:], strict=True)) == funnel_totals()
    waves = reports.waves_table(figures.waves_facts()).total
    participants = Participant.objects
    assert waves[1:6] == [
        participants.count(),
        participants.filter(first_purchase_at__isnull=False).count(),
        participants.filter(orders__status=OrderStatus.COMPLETED).distinct().count(),
        participants.filter(
            entitlements__kind=EntitlementKind.INCENTIVE,
            entitlements__status=EntitlementStatus.PAID,
        )
        .distinct()
        .count(),
        participants.filter(status=ParticipantStatus.REVOKED).count(),
    ]
    money = reports.money_table(figures.money_facts()).total
    paid = Leg.objects.filter(amount__gt=0, transaction__kind="incentive_transfer").aggregate(
        s=Sum("amount")
    )["s"]
    assert money[6] + money[7] == paid
    credited = Leg.objects.filter(amount__gt=0, transaction__kind="training_credit").aggregate(
        s=Sum("amount")
    )["s"]
    assert money[1] == credited
    surveys = reports.surveys_table(figures.surveys_facts())
    answered = SurveyResponse.objects.count()
    assert sum(row[2] for row in surveys.rows) == answered * 3  # three questions, all answered
