"""Two operators (or a retried task) selecting one wave at the same moment, and two revocation jobs
at once. On PostgreSQL these race for real row locks; on SQLite writers queue on the database lock."""

import datetime

import pytest
from django.utils import timezone

from prakerja.ledger.models import AccountKind, Transaction
from prakerja.ledger.selectors import account_balance, ledger_integrity_report
from prakerja.notifications.models import Notification
from prakerja.waves import crediting
from prakerja.waves.models import LifetimeBlock, Participant, ProgramScheme, WaveApplication
from prakerja.waves.revocation import participants_revoke_due
from prakerja.waves.selection import wave_select
from tests.ledger.test_concurrency import run_at_once
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db(transaction=True)
AMOUNT = 1_000_000  # the 2020 scheme's training balance


@pytest.fixture(autouse=True)
def scheme_2020():
    # Transactional tests empty the tables between tests, the data migration's schemes included.
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )


def test_two_selections_at_once_draw_once_and_credit_each_participant_once(monkeypatch):
    monkeypatch.setattr(crediting, "CHUNK", 3)
    wave = open_wave(quota=12)
    join(wave, verified(15))
    closed(wave)

    outcomes = run_at_once(
        4, lambda _: str(wave_select(wave=wave, seed="seed-of-the-wave", actor=OPERATOR).selected)
    )

    assert outcomes == {"12": 4}
    assert Participant.objects.count() == 12
    assert WaveApplication.objects.filter(outcome="selected").count() == 12
    assert Transaction.objects.filter(kind="training_credit").count() == 12
    assert account_balance(kind=AccountKind.PROGRAM_BUDGET) == -12 * AMOUNT
    assert Notification.objects.filter(kind="wave_selected").count() == 24
    assert ledger_integrity_report().ok


def test_two_revocation_jobs_at_once_revoke_each_participant_once():
    wave = open_wave(quota=6)
    join(wave, verified(6))
    wave_select(wave=closed(wave), seed="seed-of-the-wave", actor=OPERATOR)
    Participant.objects.update(purchase_deadline=timezone.now() - datetime.timedelta(hours=1))

    outcomes = run_at_once(3, lambda _: str(participants_revoke_due(actor=OPERATOR)))

    assert sum(int(n) for n in outcomes.elements()) == 6
    assert Participant.objects.filter(status="revoked").count() == 6
    assert Transaction.objects.filter(kind="training_revoke").count() == 6
    assert account_balance(kind=AccountKind.TREASURY_RETURN) == 6 * AMOUNT
    assert LifetimeBlock.objects.count() == 6
    assert ledger_integrity_report().ok
