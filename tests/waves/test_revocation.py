"""The first-purchase window: reminders before the deadline, revocation after it, freed quota."""

import datetime

import pytest
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import account_balance, ledger_integrity_report
from prakerja.notifications.models import Notification
from prakerja.waves.models import LifetimeBlock, Participant, WaveApplication
from prakerja.waves.revocation import participants_revoke_due, purchase_reminders_queue
from prakerja.waves.selection import wave_select
from prakerja.waves.services import AlreadyParticipant
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db
AMOUNT = 1_000_000  # the 2020 scheme's training balance
SEED = "seed-of-the-wave"


def drawn(n: int, *, seed: str = SEED) -> list[Participant]:
    wave = open_wave(quota=n, seed=seed)
    join(wave, verified(n))
    wave_select(wave=closed(wave), seed=seed, actor=OPERATOR)
    return list(Participant.objects.filter(wave=wave).order_by("pk"))


def test_revocation_returns_the_balance_blocks_the_nik_and_is_idempotent():
    # Given four participants: two past the deadline without a purchase, one past it who bought,
    # one still within the window
    late, late_too, bought, in_time = drawn(4)
    past = timezone.now() - datetime.timedelta(hours=1)
    Participant.objects.filter(pk__in=[late.pk, late_too.pk, bought.pk]).update(
        purchase_deadline=past
    )
    Participant.objects.filter(pk=bought.pk).update(first_purchase_at=past)
    messages_before = Notification.objects.count()

    # When the daily job runs twice
    assert participants_revoke_due(actor=OPERATOR) == 2
    assert participants_revoke_due(actor=OPERATOR) == 0

    # Then exactly the two late ones are revoked, their balances are in the treasury account
    statuses = dict(Participant.objects.values_list("pk", "status"))
    assert statuses == {
        late.pk: "revoked",
        late_too.pk: "revoked",
        bought.pk: "active",
        in_time.pk: "active",
    }
    assert account_balance(kind=AccountKind.TREASURY_RETURN) == 2 * AMOUNT
    for participant, expected in ((late, 0), (late_too, 0), (bought, AMOUNT), (in_time, AMOUNT)):
        assert (
            account_balance(kind=AccountKind.TRAINING_BALANCE, owner_id=participant.pk) == expected
        )
    blocked = set(LifetimeBlock.objects.values_list("nik_index", flat=True))
    assert blocked == {late.registrant.nik_index, late_too.registrant.nik_index}
    assert AuditEvent.objects.filter(event_type="participant.revoked").count() == 2
    revoked_messages = Notification.objects.filter(kind="participant_revoked")
    assert revoked_messages.count() == 4  # SMS and email each, once
    assert Notification.objects.count() == messages_before + 4
    assert ledger_integrity_report().ok


def test_the_next_wave_gets_exactly_the_revoked_places_once():
    first = drawn(3)
    Participant.objects.filter(pk__in=[first[0].pk, first[1].pk]).update(
        purchase_deadline=timezone.now() - datetime.timedelta(minutes=5)
    )
    participants_revoke_due(actor=OPERATOR)
    participants_revoke_due(actor=OPERATOR)

    second = open_wave(quota=3, seed="second")
    join(second, verified(10))
    result = wave_select(wave=closed(second), seed="second", actor=OPERATOR)
    assert (result.quota, result.selected, result.wave.quota_freed) == (5, 5, 2)
    assert set(
        Participant.objects.filter(quota_returned_to=second).values_list("pk", flat=True)
    ) == {first[0].pk, first[1].pk}

    # A third wave gets no place twice
    third = open_wave(quota=2, seed="third")
    join(third, verified(5))
    result = wave_select(wave=closed(third), seed="third", actor=OPERATOR)
    assert (result.quota, result.selected, result.wave.quota_freed) == (2, 2, 0)


def test_a_revoked_nik_is_never_selected_again():
    (participant,) = drawn(1)
    Participant.objects.filter(pk=participant.pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(days=1)
    )
    participants_revoke_due(actor=OPERATOR)
    wave = open_wave(quota=5, seed="again")
    application = WaveApplication.objects.create(
        wave=wave, registrant=participant.registrant, province_code="32"
    )
    result = wave_select(wave=closed(wave), seed="again", actor=OPERATOR)
    application.refresh_from_db()
    assert (result.selected, application.outcome) == (0, "ineligible")
    assert application.outcome_reason == "ALREADY_PARTICIPANT"


def test_reminders_go_out_seven_three_and_one_day_before_once_each():
    a, b, c, d = drawn(4)
    today = timezone.localdate(timezone=datetime.timezone(datetime.timedelta(hours=7)))
    wib = datetime.timezone(datetime.timedelta(hours=7))

    def deadline_in(days: int) -> datetime.datetime:
        day = today + datetime.timedelta(days=days)
        return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=wib)

    for participant, days in ((a, 7), (b, 3), (c, 1), (d, 5)):
        Participant.objects.filter(pk=participant.pk).update(purchase_deadline=deadline_in(days))
    assert purchase_reminders_queue(today=today) == 6
    assert purchase_reminders_queue(today=today) == 0
    reminders = Notification.objects.filter(kind="purchase_reminder")
    assert sorted((n.params["subject"], n.params["days"], n.channel) for n in reminders) == sorted(
        (p.pk, days, channel)
        for p, days in ((a, 7), (b, 3), (c, 1))
        for channel in ("sms", "email")
    )
    # Two days on: b's one-day reminder is due, d's three-day one is not, because d bought
    Participant.objects.filter(pk=d.pk).update(first_purchase_at=timezone.now())
    assert purchase_reminders_queue(today=today + datetime.timedelta(days=2)) == 2
    assert sorted(
        reminders.filter(params__days=1).values_list("params__subject", flat=True)
    ) == sorted([c.pk, c.pk, b.pk, b.pk])


def test_a_participant_or_revoked_nik_cannot_join_a_later_wave():
    active, revoked = drawn(2)
    Participant.objects.filter(pk=revoked.pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(days=1)
    )
    participants_revoke_due(actor=OPERATOR)
    wave = open_wave(quota=5, seed="later")
    for participant in (active, revoked):
        with pytest.raises(AlreadyParticipant) as refused:
            join(wave, [participant.registrant])
        assert refused.value.code == "ALREADY_PARTICIPANT"
    assert WaveApplication.objects.filter(wave=wave).count() == 0
