"""The draw: the published rule, the re-checks at selection time, crediting that survives a crash."""

import datetime
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.ledger.models import Account, AccountKind, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.notifications.models import Notification
from prakerja.registration.exclusions import exclusion_list_import
from prakerja.waves import crediting
from prakerja.waves.cards import luhn_valid
from prakerja.waves.inputs import selection_inputs
from prakerja.waves.lottery import rank, rank60, rank60_sql
from prakerja.waves.models import Participant, Wave, WaveApplication
from prakerja.waves.selection import SeedMismatch, wave_select
from tests.waves.factory import OPERATOR, closed, join, nik_for, open_wave, verified

pytestmark = pytest.mark.django_db
SEED = "seed-of-the-wave"
VERIFY = Path(__file__).resolve().parents[2] / "tools" / "verify_selection.py"
AMOUNT = 1_000_000  # the 2020 scheme's training balance


def verify(tmp_path: Path, inputs: dict, selected: list[int] | None = None) -> tuple[int, str]:
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    args = [sys.executable, str(VERIFY), str(tmp_path / "inputs.json")]
    if selected is not None:
        (tmp_path / "selected.json").write_text(json.dumps(selected))
        args.append(str(tmp_path / "selected.json"))
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout


def outcomes(wave: Wave) -> dict[int, str]:
    return dict(WaveApplication.objects.filter(wave=wave).values_list("registrant_id", "outcome"))


def test_the_database_ranks_exactly_as_the_published_rule():
    wave = open_wave()
    applications = join(wave, verified(30))
    sql, params = rank60_sql(connection.vendor, SEED, "a.id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, {sql} FROM waves_waveapplication a WHERE a.wave_id = %s",
            [*params, wave.pk],
        )
        in_database = dict(cursor.fetchall())
    assert in_database == {a.pk: rank60(rank(SEED, a.pk)) for a in applications}


def test_a_national_style_draw_reproduces_with_the_verifier_and_tampering_is_caught(tmp_path):
    # Given priorities, a provincial quota, a large family and a family with an earlier participant
    wave = open_wave(quota=20, priority_order=["laid_off"], province_quotas={"94": 4})
    laid_off = verified(6, employment="laid_off")
    papua = verified(9, province="94")
    family = verified(4, kk="family-card-1")
    others = verified(40)
    join(wave, laid_off + papua + family + others)

    # When the wave is drawn
    result = wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)

    # Then the published inputs reproduce the selection, and the rules hold
    assert (result.selected, result.quota, result.ineligible) == (20, 20, 0)
    inputs = selection_inputs(result.wave)
    assert len(inputs["applications"]) == 59
    assert sorted(inputs["selected"]) == sorted(
        WaveApplication.objects.filter(wave=wave, outcome="selected").values_list("pk", flat=True)
    )
    assert verify(tmp_path, inputs)[0] == 0
    chosen = outcomes(wave)
    assert all(chosen[r.pk] == "selected" for r in laid_off)
    assert sum(chosen[r.pk] == "selected" for r in papua) >= 4
    assert sum(chosen[r.pk] == "selected" for r in family) <= 2
    assert Participant.objects.count() == 20

    # A list with one id swapped, or another seed, does not verify
    outsider = next(a["id"] for a in inputs["applications"] if a["id"] not in inputs["selected"])
    tampered = [*inputs["selected"][:-1], outsider]
    code, printed = verify(tmp_path, inputs, tampered)
    assert code == 1
    assert printed.startswith("MISMATCH")
    assert verify(tmp_path, {**inputs, "seed": "another-seed"})[0] == 1


def test_priority_groups_then_province_quotas_then_everyone_by_rank():
    # Given more laid-off applicants than the quota: they fill it, nobody else gets in
    wave = open_wave(quota=5, priority_order=["laid_off"], province_quotas={"94": 2})
    laid_off = verified(7, employment="laid_off")
    papua = verified(3, province="94")
    join(wave, laid_off + papua)
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)
    chosen = outcomes(wave)
    assert sum(chosen[r.pk] == "selected" for r in laid_off) == 5
    assert all(chosen[r.pk] == "pending" for r in papua)
    # The five picked are the five best-ranked laid-off applications
    applications = WaveApplication.objects.filter(wave=wave, registrant__in=laid_off)
    best = sorted(applications, key=lambda a: rank(SEED, a.pk))[:5]
    assert {a.pk for a in best} == set(
        applications.filter(outcome="selected").values_list("pk", flat=True)
    )


def test_province_quota_is_filled_before_the_rest():
    wave = open_wave(quota=4, province_quotas={"94": 3})
    papua = verified(3, province="94")
    java = verified(30)
    join(wave, java + papua)
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)
    chosen = outcomes(wave)
    assert [chosen[r.pk] for r in papua] == ["selected"] * 3
    assert sum(chosen[r.pk] == "selected" for r in java) == 1


def test_family_limit_counts_participants_of_earlier_waves():
    first = open_wave(quota=1)
    family = verified(3, kk="family-card-7")
    join(first, family[:1])
    wave_select(wave=closed(first), seed=SEED, actor=OPERATOR)
    second = open_wave(quota=10, seed="second")
    join(second, family[1:])
    wave_select(wave=closed(second), seed="second", actor=OPERATOR)
    assert Participant.objects.filter(registrant__in=family).count() == 2


def test_an_exclusion_imported_after_joining_prevents_selection():
    wave = open_wave(quota=10)
    people = verified(3)
    join(wave, people)
    excluded = people[1]
    number = int(excluded.email[1:].split("@")[0])
    exclusion_list_import(
        stream=io.StringIO(f"nik\n{nik_for(number)}\n"),
        file_name="asn.csv",
        category="ASN",
        actor=OPERATOR,
    )
    result = wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)
    assert (result.selected, result.ineligible) == (2, 1)
    application = WaveApplication.objects.get(wave=wave, registrant=excluded)
    assert (application.outcome, application.outcome_reason) in {
        ("ineligible", "EXCLUDED"),
        ("ineligible", "NOT_VERIFIED"),  # the import's own re-check failed the eligibility layer
    }
    assert not Participant.objects.filter(registrant=excluded).exists()


def test_selection_credits_cards_deadlines_and_queues_messages():
    wave = open_wave(quota=3)
    join(wave, verified(3))
    before = timezone.now()
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)
    participants = list(Participant.objects.order_by("pk"))
    assert len(participants) == 3
    for participant in participants:
        assert len(participant.card_number) == 16 and luhn_valid(participant.card_number)
        local = participant.purchase_deadline.astimezone(
            datetime.timezone(datetime.timedelta(hours=7))
        )
        assert (local.hour, local.minute, local.second) == (23, 59, 59)
        selected_day = before.astimezone(local.tzinfo).date()
        assert local.date() - selected_day == datetime.timedelta(days=30)
        account = Account.objects.get(kind=AccountKind.TRAINING_BALANCE, owner_id=participant.pk)
        assert Balance.objects.get(account=account).amount == AMOUNT
    assert Balance.objects.get(account__kind=AccountKind.PROGRAM_BUDGET).amount == -3 * AMOUNT
    assert Notification.objects.filter(kind="wave_selected").count() == 6
    wave.refresh_from_db()
    assert (wave.status, wave.credited_at is not None) == ("selected", True)
    assert AuditEvent.objects.filter(event_type="wave.credited").count() == 1
    assert ledger_integrity_report().ok


def ledger_snapshot() -> dict:
    """The ledger in terms that do not depend on row ids."""
    owners = dict(Participant.objects.values_list("pk", "registrant_id"))
    balances = sorted(
        (owners[owner], amount)
        for owner, amount in Balance.objects.filter(
            account__kind=AccountKind.TRAINING_BALANCE
        ).values_list("account__owner_id", "amount")
    )
    return {
        "balances": balances,
        "budget": Balance.objects.get(account__kind=AccountKind.PROGRAM_BUDGET).amount,
        "transactions": Transaction.objects.filter(kind="training_credit").count(),
        "legs": Leg.objects.count(),
        "messages": Notification.objects.count(),
    }


def test_selecting_twice_credits_nobody_twice():
    wave = open_wave(quota=25)
    join(wave, verified(30))
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)
    once = ledger_snapshot()
    wave_select(wave=wave, seed=SEED, actor=OPERATOR)
    assert ledger_snapshot() == once
    assert once["transactions"] == 25 and once["budget"] == -25 * AMOUNT


class Crash(Exception):
    pass


def test_a_crash_mid_crediting_then_a_rerun_gives_the_uninterrupted_ledger(monkeypatch):
    monkeypatch.setattr(crediting, "CHUNK", 4)
    wave = open_wave(quota=10)
    people = verified(12)
    join(wave, people)
    closed(wave)

    # The uninterrupted run, measured and rolled back
    with pytest.raises(Crash), transaction.atomic():
        wave_select(wave=wave, seed=SEED, actor=OPERATOR)
        uninterrupted = ledger_snapshot()
        raise Crash
    assert Participant.objects.count() == 0

    # The same draw, crashing in the second crediting chunk, then run again
    real_chunk = crediting.wave_credit_chunk
    calls = {"n": 0}

    def crashing_chunk(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        return real_chunk(**kwargs)

    monkeypatch.setattr(crediting, "wave_credit_chunk", crashing_chunk)
    from prakerja.waves import tasks

    monkeypatch.setattr(
        tasks, "wave_credit_chunk_task", type("T", (), {"delay": staticmethod(_inline_chunk)})
    )
    with pytest.raises(Crash):
        wave_select(wave=wave, seed=SEED, actor=OPERATOR)
    interrupted = ledger_snapshot()
    assert interrupted["transactions"] == 4  # the first chunk only
    wave.refresh_from_db()
    assert (wave.status, wave.credited_at) == ("selected", None)

    wave_select(wave=wave, seed=SEED, actor=OPERATOR)
    assert ledger_snapshot() == uninterrupted
    assert uninterrupted["transactions"] == 10
    assert ledger_integrity_report().ok


def _inline_chunk(wave_id, first_id, last_id, kind, actor_id, label):
    from prakerja.common.actors import Actor

    return crediting.wave_credit_chunk(
        wave_id=wave_id, first_id=first_id, last_id=last_id, actor=Actor(kind, actor_id, label)
    )


def test_a_wrong_seed_is_refused_and_nothing_is_written():
    wave = open_wave(quota=3)
    join(wave, verified(3))
    closed(wave)
    events = AuditEvent.objects.count()
    with pytest.raises(SeedMismatch):
        wave_select(wave=wave, seed="not-the-seed", actor=OPERATOR)
    wave.refresh_from_db()
    assert (wave.status, wave.seed) == ("closed", "")
    assert (Participant.objects.count(), Transaction.objects.count()) == (0, 0)
    assert AuditEvent.objects.count() == events
    assert set(outcomes(wave).values()) == {"pending"}
