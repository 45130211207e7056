"""The disbursement's live state (incentives/live_state.py): exact figures of a run caught mid-way —
one institution's batch sent with results partly in, another's outcome unknown — on the run's
console page and at GET /metrics, which answers only the bearer of PRAKERJA_METRICS_TOKEN."""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from prakerja.incentives import admin as incentives_admin
from prakerja.incentives import metrics
from prakerja.incentives.accounts import payment_accounts_phone_changed
from prakerja.incentives.console_selectors import CountSum
from prakerja.incentives.live_state import LiveState, disbursement_live_state
from prakerja.incentives.models import DisbursementRun, TransferBatch, TransferInstruction
from prakerja.incentives.results import Outcome, transfer_outcomes_record
from prakerja.incentives.runs import run_approve, run_prepare
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    SYSTEM,
    completed_and_reviewed,
    link,
    months_ahead,
    sandbox_bank,
    wallet,
)
from tests.incentives.test_console import row, staff
from tests.orders.kit import scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


@dataclass
class Scenario:
    run: DisbursementRun  # approved: ovo's batch sent, gopay's outcome unknown
    later: DisbursementRun  # prepared, not approved: not in the approved runs' figures
    now: datetime.datetime  # 125 s after gopay's batch was sent
    awaiting_s: int  # seconds from ovo's batch's send to `now`


@pytest.fixture
def scenario(monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> Iterator:
    """Five participants, four incentives of Rp600.000 each. a, b, c paid through ovo, d through
    gopay, whose answers are lost (the batch is recorded there, the call times out); e changes
    phone number before the run (held PHONE_CHANGED). The run of months_ahead(1) takes each of
    a–d's first two incentives. Then ovo reports b's two paid, a's first NOT_UPGRADED (a's every
    incentive held), c's first TEMPORARY_FAILURE; a's and c's second stay accepted."""
    a, b, c, d, e = completed_and_reviewed(5)
    with (
        sandbox_bank("ovo", monkeypatch) as ovo,
        sandbox_bank("gopay", monkeypatch, lost_answer_rate=1.0, hang_s=3.0) as gopay,
    ):
        monkeypatch.setenv("PRAKERJA_BANK_URLS", f"ovo={ovo.url},gopay={gopay.url}")
        ovo.add_accounts([wallet(p) for p in (a, b, c, e)])
        gopay.add_accounts([wallet(d)])
        for person, bank in ((a, ovo), (b, ovo), (c, ovo), (d, gopay), (e, ovo)):
            assert link(person, bank).status == "verified"
        payment_accounts_phone_changed(registrant_id=e.registrant_id, actor=SYSTEM)

        run = run_prepare(run_date=months_ahead(1), actor=MAKER)
        assert (run.instructions_count, run.amount_idr) == (8, 4_800_000)
        with django_capture_on_commit_callbacks(execute=True):  # no broker: sent inline
            run_approve(run=run, actor=CHECKER)

        def ids(person: Any) -> list[str]:
            return list(
                TransferInstruction.objects.filter(entitlement__participant=person)
                .order_by("entitlement__sequence")
                .values_list("instruction_id", flat=True)
            )

        transfer_outcomes_record(
            institution_id=ovo.partner.pk,
            outcomes=[
                *(Outcome(i, "success") for i in ids(b)),
                Outcome(ids(a)[0], "failed", "NOT_UPGRADED"),
                Outcome(ids(c)[0], "failed", "TEMPORARY_FAILURE"),
            ],
            actor=SYSTEM,
        )
        sent = dict(TransferBatch.objects.values_list("institution__code", "sent_at"))
        later = run_prepare(run_date=months_ahead(2), actor=MAKER)
        now = sent["gopay"] + datetime.timedelta(seconds=125)
        yield Scenario(run, later, now, int((now - sent["ovo"]).total_seconds()))


def test_the_selector_counts_an_approved_run_caught_mid_way(scenario):
    expected = LiveState(
        batches=(
            CountSum("ready", 0, 0),
            CountSum("sending", 1, 1_200_000),
            CountSum("sent", 1, 3_600_000),
            CountSum("refused", 0, 0),
        ),
        in_flight=(
            CountSum("ready", 0, 0),
            CountSum("sent", 2, 1_200_000),  # gopay's, outcome unknown
            CountSum("accepted", 2, 1_200_000),  # a's and c's second
        ),
        outcome_unknown=CountSum("sending", 1, 1_200_000),
        outcome_unknown_oldest_s=125,
        awaiting_results=CountSum("accepted", 2, 1_200_000),
        awaiting_results_oldest_s=scenario.awaiting_s,
        paid=CountSum("success", 2, 1_200_000),
        failed=(
            CountSum("NOT_UPGRADED", 1, 600_000),
            CountSum("TEMPORARY_FAILURE", 1, 600_000),
        ),
        failed_total=CountSum("failed", 2, 1_200_000),
        held=(
            CountSum("NOT_UPGRADED", 4, 2_400_000),  # a's four, the one in flight included
            CountSum("PHONE_CHANGED", 4, 2_400_000),
        ),
        held_total=CountSum("held", 8, 4_800_000),
    )
    assert scenario.awaiting_s >= 125
    assert disbursement_live_state(scenario.run.pk, now=scenario.now) == expected
    # Every approved run: the same (the later run is only prepared).
    assert disbursement_live_state(now=scenario.now) == expected

    # The later run: b's third, c's first again and third at ovo, d's third at gopay; ready.
    later = disbursement_live_state(scenario.later.pk, now=scenario.now)
    assert later.batches == (
        CountSum("ready", 2, 2_400_000),
        CountSum("sending", 0, 0),
        CountSum("sent", 0, 0),
        CountSum("refused", 0, 0),
    )
    assert later.in_flight[0] == CountSum("ready", 4, 2_400_000)
    assert (later.outcome_unknown_oldest_s, later.awaiting_results_oldest_s) == (None, None)
    assert (later.paid, later.failed) == (CountSum("success", 0, 0), ())
    assert later.held == expected.held  # holds are the program's, whichever run is shown


def test_the_selector_reads_a_few_grouped_queries(scenario, django_assert_num_queries):
    with django_assert_num_queries(3):
        disbursement_live_state(scenario.run.pk)
    with django_assert_num_queries(3):
        disbursement_live_state()


def test_the_run_page_shows_the_live_state(scenario, monkeypatch):
    frozen = scenario.now
    monkeypatch.setattr(
        incentives_admin,
        "disbursement_live_state",
        lambda run_id=None: disbursement_live_state(run_id, now=frozen),
    )
    viewer = staff("viewer", "view_disbursementrun")
    response = viewer.get(f"/admin/incentives/disbursementrun/{scenario.run.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h2>Keadaan pengiriman</h2>" in page
    assert row(page, "live-batches-ready") == ["Siap dikirim", "0", "Rp0"]
    assert row(page, "live-batches-sending") == [
        "Sedang dikirim (hasil belum pasti)",
        "1",
        "Rp1.200.000",
    ]
    assert row(page, "live-batches-sent") == ["Dikirim", "1", "Rp3.600.000"]
    assert row(page, "live-batches-refused") == ["Ditolak seluruhnya oleh lembaga", "0", "Rp0"]
    assert row(page, "live-in-flight-sent") == ["Dikirim", "2", "Rp1.200.000", ""]
    assert row(page, "live-in-flight-accepted") == [
        "Diterima, menunggu hasil",
        "2",
        "Rp1.200.000",
        "",
    ]
    assert row(page, "live-outcome-unknown") == [
        "Hasil kiriman belum pasti (batch sedang dikirim)",
        "1",
        "Rp1.200.000",
        "125",
    ]
    assert row(page, "live-awaiting-results") == [
        "Menunggu hasil (diterima dalam batch yang terkirim)",
        "2",
        "Rp1.200.000",
        str(scenario.awaiting_s),
    ]
    assert row(page, "live-paid") == ["Dibayar", "2", "Rp1.200.000", ""]
    assert row(page, "live-failed") == ["Gagal", "2", "Rp1.200.000", ""]
    assert row(page, "live-failed-NOT_UPGRADED") == [
        "NOT_UPGRADED",
        "Dompet digital belum di-upgrade (KYC)",
        "1",
        "Rp600.000",
    ]
    assert row(page, "live-failed-TEMPORARY_FAILURE") == [
        "TEMPORARY_FAILURE",
        "Gagal sementara (dicoba lagi pada proses berikutnya)",
        "1",
        "Rp600.000",
    ]
    assert row(page, "live-held-PHONE_CHANGED") == [
        "PHONE_CHANGED",
        "Nomor telepon berganti",
        "4",
        "Rp2.400.000",
    ]
    assert row(page, "live-held-total") == ["Total", "8", "Rp4.800.000"]

    english = staff("viewer-en", "view_disbursementrun", language="en")
    page = english.get(f"/admin/incentives/disbursementrun/{scenario.run.pk}/change/")
    assert "<h2>Live state</h2>" in page.content.decode()


def test_metrics_answer_the_token_holder_with_the_approved_runs_gauges(scenario, monkeypatch):
    frozen = scenario.now
    monkeypatch.setattr(
        metrics, "disbursement_live_state", lambda: disbursement_live_state(now=frozen)
    )
    monkeypatch.setenv("PRAKERJA_METRICS_TOKEN", TOKEN)
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = [line for line in response.content.decode().splitlines() if not line.startswith("#")]
    assert samples == [
        'prakerja_disbursement_batches{status="ready"} 0',
        'prakerja_disbursement_batches{status="sending"} 1',
        'prakerja_disbursement_batches{status="sent"} 1',
        'prakerja_disbursement_batches{status="refused"} 0',
        'prakerja_disbursement_instructions_in_flight{status="ready"} 0',
        'prakerja_disbursement_instructions_in_flight{status="sent"} 2',
        'prakerja_disbursement_instructions_in_flight{status="accepted"} 2',
        "prakerja_disbursement_outcome_unknown_batches 1",
        "prakerja_disbursement_outcome_unknown_oldest_seconds 125",
        "prakerja_disbursement_awaiting_results 2",
        f"prakerja_disbursement_awaiting_results_oldest_seconds {scenario.awaiting_s}",
        "prakerja_disbursement_paid_total 2",
        "prakerja_disbursement_paid_idr 1200000",
        'prakerja_disbursement_failed_total{reason="NOT_UPGRADED"} 1',
        'prakerja_disbursement_failed_total{reason="TEMPORARY_FAILURE"} 1',
        'prakerja_disbursement_failed_idr{reason="NOT_UPGRADED"} 600000',
        'prakerja_disbursement_failed_idr{reason="TEMPORARY_FAILURE"} 600000',
        'prakerja_entitlements_held{reason="NOT_UPGRADED"} 4',
        'prakerja_entitlements_held{reason="PHONE_CHANGED"} 4',
        'prakerja_entitlements_held_idr{reason="NOT_UPGRADED"} 2400000',
        'prakerja_entitlements_held_idr{reason="PHONE_CHANGED"} 2400000',
    ]
    text = response.content.decode()
    assert text.endswith("\n")
    assert (
        "# HELP prakerja_disbursement_batches Batches of approved runs by status.\n"
        "# TYPE prakerja_disbursement_batches gauge\n"
        'prakerja_disbursement_batches{status="ready"} 0\n'
    ) in text
    assert text.count("# TYPE ") == 12 and text.count(" gauge\n") == 12


@pytest.mark.parametrize(
    ("configured", "authorization"),
    [
        ("", ""),  # no token configured: nobody is answered
        ("", "Bearer "),
        (TOKEN, ""),
        (TOKEN, "Bearer wrong-token"),
        (TOKEN, f"Bearer {TOKEN}x"),
        (TOKEN, f"Basic {TOKEN}"),
        (TOKEN, TOKEN),
    ],
)
def test_metrics_are_a_plain_404_to_anyone_else(monkeypatch, configured, authorization):
    monkeypatch.setenv("PRAKERJA_METRICS_TOKEN", configured)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().get("/metrics", **headers)
    unknown = Client().get("/metrics-nowhere")
    assert response.status_code == unknown.status_code == 404
    assert b"prakerja_" not in response.content


def test_metrics_answer_get_only_and_tell_nobody_else_the_method(monkeypatch):
    monkeypatch.setenv("PRAKERJA_METRICS_TOKEN", TOKEN)
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert Client().post("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
