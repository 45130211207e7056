"""The message outbox: queued with the change, sent once afterwards, retried when a gateway fails."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from prakerja.common.timeutil import format_wib
from prakerja.notifications.models import Notification
from prakerja.notifications.services import notifications_send_due
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant
from prakerja.waves.selection import wave_select
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db


def selected(people: list[Registrant]) -> list[Participant]:
    wave = open_wave(quota=len(people))
    join(wave, people)
    wave_select(wave=closed(wave), seed="seed-of-the-wave", actor=OPERATOR)
    return list(Participant.objects.select_related("registrant").order_by("pk"))


def test_selection_messages_are_sent_once_in_each_persons_language(sms):
    by_language = {
        p.registrant.language: p for p in selected(verified(1) + verified(1, language="en"))
    }
    indonesian, english = by_language["id"], by_language["en"]
    assert notifications_send_due() == 4
    assert notifications_send_due() == 0

    texts = {to: text for to, text, _ in sms.sent}
    assert len(sms.sent) == 2
    deadline = format_wib(indonesian.purchase_deadline)
    assert texts[indonesian.registrant.phone] == (
        "Kartu Prakerja: selamat, Anda lolos gelombang 1. "
        f"Kartu {indonesian.card_number}, saldo pelatihan Rp1.000.000. Beli pelatihan pertama "
        f"sebelum {deadline} agar kepesertaan tidak dicabut."
    )
    assert texts[english.registrant.phone].startswith(
        "Kartu Prakerja: congratulations, you were selected in wave 1. "
        f"Card {english.card_number}, training balance Rp1.000.000."
    )
    subjects = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert subjects == sorted(
        [
            (indonesian.registrant.email, "Selamat, Anda lolos Kartu Prakerja gelombang 1"),
            (english.registrant.email, "You were selected for Kartu Prakerja, wave 1"),
        ]
    )
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_gateway_outage_is_retried_later_and_an_unreachable_person_is_reported(sms):
    people = verified(2)
    Registrant.objects.filter(pk=people[1].pk).update(phone=None)
    selected(people)
    sms.down = True
    assert notifications_send_due() == 2  # the two emails
    waiting = Notification.objects.get(channel="sms", registrant=people[0])
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert waiting.next_attempt_at > timezone.now() + datetime.timedelta(seconds=30)
    assert waiting.last_error.startswith("SmsUnavailable")
    unreachable = Notification.objects.get(channel="sms", registrant=people[1])
    assert (unreachable.status, unreachable.last_error) == ("failed", "NO_PHONE")

    # Once due again and the gateway is back, it goes out
    sms.down = False
    Notification.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now())
    assert notifications_send_due() == 1
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts, len(sms.sent)) == ("sent", 2, 1)
