"""Events to partners delivered over real HTTP to the sandbox platform, which verifies each with the
Standard Webhooks reference library: signing, retries with backoff, giving up after 24 hours, order
per subject, and safe claiming by several workers."""

import datetime
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from prakerja.audit.models import AuditEvent
from prakerja.integrations.platform.sandbox import PlatformIdentity, create_app
from prakerja.integrations.sandbox import SandboxApp, start_in_thread
from prakerja.partners.delivery import (
    FIRST_BACKOFF,
    LEASE,
    MAX_BACKOFF,
    RETRY_FOR,
    DeliveryRound,
    backoff,
    events_deliver_due,
    events_retry_now,
    signed_request,
)
from prakerja.partners.models import DeliveryAttempt, OutboundEvent, Partner
from prakerja.partners.outbox import event_publish
from prakerja.partners.selectors import partner_credentials
from prakerja.partners.services import partner_create
from prakerja.partners.tasks import events_deliver_due_task


@dataclass
class Platform:
    partner: Partner
    app: SandboxApp
    url: str  # the sandbox's base URL
    webhook_secret: str


def start_platform(
    actor: Any, code: str, webhook_secret: str | None = None
) -> tuple[Platform, Any]:
    partner, secret = partner_create(
        code=code, name=f"Platform {code}", kind="platform", actor=actor
    )
    credentials = partner_credentials(code)
    app = create_app(
        PlatformIdentity(code, secret, webhook_secret or credentials.webhook_secret, "")
    )
    url, stop = start_in_thread(app)
    partner.webhook_url = f"{url}/webhooks"
    partner.save(update_fields=["webhook_url"])
    return Platform(partner, app, url, credentials.webhook_secret), stop


@pytest.fixture
def platform(db: None, actor: Any) -> Iterator[Platform]:
    started, stop = start_platform(actor, "tokoplatform")
    yield started
    stop()


def received(platform: Platform) -> dict[str, Any]:
    answer = httpx.get(f"{platform.url}/events")
    assert answer.status_code == 200
    return dict(answer.json())


def received_ids(platform: Platform) -> list[str]:
    return [event["webhook_id"] for event in received(platform)["events"]]


def set_faults(platform: Platform, **faults: object) -> None:
    assert httpx.post(f"{platform.url}/_faults", json=faults).status_code == 200


def publish(partner: Partner, subject: str, event_type: str = "voucher.issued", **data: Any) -> int:
    return event_publish(
        partner_id=partner.pk, event_type=event_type, subject=subject, data=data or {"x": 1}
    )


def make_due(*event_ids: int) -> None:
    """Move the next try into the past, as if the backoff had passed."""
    OutboundEvent.objects.filter(pk__in=event_ids).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def attempts_of(event_id: int) -> list[tuple[int | None, str]]:
    return [
        (a.status_code, a.error)
        for a in DeliveryAttempt.objects.filter(event_id=event_id).order_by("attempted_at", "pk")
    ]


def test_backoff_starts_at_30_seconds_doubles_and_is_capped_at_an_hour():
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff(50) == MAX_BACKOFF


def test_a_delivery_is_signed_by_the_standard_webhooks_reference_library(platform):
    # given an event
    event = OutboundEvent.objects.get(pk=publish(platform.partner, "order-1", voucher="V-1"))

    # when its request is built
    body, headers = signed_request(event, Webhook(platform.webhook_secret))

    # then the reference library verifies it and returns the payload; webhook-id is evt_<id>
    assert Webhook(platform.webhook_secret).verify(body, headers) == {
        "type": "voucher.issued",
        "timestamp": event.payload["timestamp"],
        "data": {"voucher": "V-1"},
    }
    assert headers["webhook-id"] == f"evt_{event.pk}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"


def test_an_event_is_delivered_and_the_platform_verifies_it_once(platform):
    # given a published event
    event_id = publish(platform.partner, "order-1", voucher="V-1")

    # when one round runs
    result = events_deliver_due()

    # then it was delivered, verified by the platform and shown once
    assert result == DeliveryRound(claimed=1, delivered=1)
    [shown] = received(platform)["events"]
    assert shown["webhook_id"] == f"evt_{event_id}"
    assert shown["type"] == "voucher.issued"
    assert shown["data"] == {"voucher": "V-1"}
    assert shown["deliveries"] == 1
    event = OutboundEvent.objects.get(pk=event_id)
    assert event.delivered_at is not None and event.gave_up_at is None
    assert event.attempts == 1
    assert attempts_of(event_id) == [(200, "")]
    # and a second round has nothing to do
    assert events_deliver_due() == DeliveryRound()
    assert DeliveryAttempt.objects.count() == 1


def test_a_failed_delivery_is_retried_after_backoff_and_arrives_once(platform):
    # given a platform answering 500 to everything
    event_id = publish(platform.partner, "order-1")
    set_faults(platform, error_rate=1.0)

    # when a round runs
    before = timezone.now()
    assert events_deliver_due() == DeliveryRound(claimed=1, failed=1)

    # then the attempt is recorded with status 500 and the next try is 30 s later
    [(status, error)] = attempts_of(event_id)
    assert status == 500
    assert error.startswith("HTTP 500: ") and "sandbox error fault" in error
    event = OutboundEvent.objects.get(pk=event_id)
    assert event.delivered_at is None and event.gave_up_at is None
    assert event.attempts == 1
    assert before + FIRST_BACKOFF <= event.next_attempt_at <= timezone.now() + FIRST_BACKOFF
    # and it is not tried again before then
    assert events_deliver_due() == DeliveryRound()
    set_faults(platform, error_rate=0.0)
    assert received(platform)["events"] == []

    # when the backoff has passed and the platform works again
    make_due(event_id)
    assert events_deliver_due() == DeliveryRound(claimed=1, delivered=1)

    # then it arrived, verified, once
    assert received_ids(platform) == [f"evt_{event_id}"]
    assert [s for s, _ in attempts_of(event_id)] == [500, 200]
    assert OutboundEvent.objects.get(pk=event_id).attempts == 2


def test_a_redelivered_event_is_not_recorded_twice_by_the_platform(platform):
    # given an event delivered once
    event_id = publish(platform.partner, "order-1")
    events_deliver_due()

    # when the system delivers it again (as after a lost acknowledgement)
    OutboundEvent.objects.filter(pk=event_id).update(
        delivered_at=None, next_attempt_at=timezone.now()
    )
    assert events_deliver_due() == DeliveryRound(claimed=1, delivered=1)

    # then the platform acknowledged it but shows it once, with two deliveries
    shown = received(platform)
    assert [(e["webhook_id"], e["deliveries"]) for e in shown["events"]] == [(f"evt_{event_id}", 2)]
    assert shown["duplicates"] == 1


def test_a_later_event_waits_for_the_earlier_one_of_its_subject(platform):
    # given A1 for subject A failed once and waits for its next try
    a1 = publish(platform.partner, "order-A", n=1)
    set_faults(platform, error_rate=1.0)
    assert events_deliver_due() == DeliveryRound(claimed=1, failed=1)
    set_faults(platform, error_rate=0.0)
    # and then A2 (subject A) and B1 (subject B) are published
    a2 = publish(platform.partner, "order-A", n=2)
    b1 = publish(platform.partner, "order-B", n=1)

    # when a round runs
    result = events_deliver_due()

    # then only B1 went out; A2 waits for A1 without being tried
    assert result == DeliveryRound(claimed=1, delivered=1)
    assert received_ids(platform) == [f"evt_{b1}"]
    assert attempts_of(a2) == []
    assert OutboundEvent.objects.get(pk=a2).attempts == 0

    # when A1's backoff has passed and the task runs
    make_due(a1)
    assert events_deliver_due_task() == 2

    # then A1 arrived, and A2 only after it
    assert received_ids(platform) == [f"evt_{b1}", f"evt_{a1}", f"evt_{a2}"]
    assert OutboundEvent.objects.filter(delivered_at__isnull=True).count() == 0


def test_a_round_takes_only_the_oldest_open_event_of_each_subject(platform):
    # given three events of one subject and one of another, all due
    a = [publish(platform.partner, "order-A", n=n) for n in (1, 2, 3)]
    b = publish(platform.partner, "order-B")

    # when rounds run one after the other
    rounds = [events_deliver_due() for _ in range(4)]

    # then each round sends at most one event of subject A, in order
    assert [r.delivered for r in rounds] == [2, 1, 1, 0]
    assert received_ids(platform) == [f"evt_{i}" for i in (a[0], b, a[1], a[2])]


def test_a_24_hour_old_failing_event_is_given_up_and_the_next_one_goes(platform, caplog):
    # given an event created 24 hours ago and a later one of the same subject
    old = publish(platform.partner, "order-A", n=1)
    OutboundEvent.objects.filter(pk=old).update(
        created_at=timezone.now() - RETRY_FOR - datetime.timedelta(seconds=1)
    )
    later = publish(platform.partner, "order-A", n=2)
    set_faults(platform, error_rate=1.0)

    # when a round runs while the platform fails
    with caplog.at_level(logging.WARNING, logger="prakerja.partners.delivery"):
        result = events_deliver_due()

    # then the old event is given up after this attempt, and logged
    assert result == DeliveryRound(claimed=1, gave_up=1)
    event = OutboundEvent.objects.get(pk=old)
    assert event.gave_up_at is not None and event.delivered_at is None
    assert event.attempts == 1
    assert [s for s, _ in attempts_of(old)] == [500]
    assert f"event {old} (voucher.issued, subject order-A)" in caplog.text
    assert "given up after 24 hours" in caplog.text

    # and when the platform works again, the later event goes out; the old one never does
    set_faults(platform, error_rate=0.0)
    assert events_deliver_due() == DeliveryRound(claimed=1, delivered=1)
    assert received_ids(platform) == [f"evt_{later}"]
    assert events_deliver_due() == DeliveryRound()


def test_the_last_retry_is_scheduled_at_24_hours_not_after(platform):
    # given an event 23 h 59 min 50 s old that fails
    event_id = publish(platform.partner, "order-A")
    created = timezone.now() - RETRY_FOR + datetime.timedelta(seconds=10)
    OutboundEvent.objects.filter(pk=event_id).update(created_at=created, attempts=10)
    set_faults(platform, error_rate=1.0)

    # when a round runs
    assert events_deliver_due() == DeliveryRound(claimed=1, failed=1)

    # then the next try is exactly at 24 hours (not an hour later), and it is the last
    event = OutboundEvent.objects.get(pk=event_id)
    assert event.next_attempt_at == created + RETRY_FOR
    assert event.gave_up_at is None


def test_a_wrong_webhook_secret_is_refused_by_the_platform_and_the_attempt_recorded(db, actor):
    # given a platform that holds another webhook secret than the system signs with
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    platform, stop = start_platform(actor, "wrongsecret", webhook_secret=other)
    try:
        event_id = publish(platform.partner, "order-1")

        # when a round runs
        result = events_deliver_due()

        # then the platform refused it with 400 and showed nothing; the system will retry
        assert result == DeliveryRound(claimed=1, failed=1)
        [(status, error)] = attempts_of(event_id)
        assert status == 400
        assert "verification failed" in error and "No matching signature found" in error
        shown = received(platform)
        assert shown["events"] == []
        assert shown["refused"] == 1
        event = OutboundEvent.objects.get(pk=event_id)
        assert event.delivered_at is None and event.gave_up_at is None
        assert event.next_attempt_at > timezone.now()
    finally:
        stop()


def test_events_of_a_partner_without_webhook_url_are_kept_and_not_attempted(platform, actor):
    # given a partner with no webhook URL and an event for it
    silent, _ = partner_create(code="nourl", name="No URL", kind="platform", actor=actor)
    event_id = publish(silent, "order-1")
    before = OutboundEvent.objects.get(pk=event_id)

    # when rounds run
    assert events_deliver_due() == DeliveryRound()

    # then the event is untouched: not attempted, not given up
    after = OutboundEvent.objects.get(pk=event_id)
    assert (after.attempts, after.next_attempt_at, after.delivered_at, after.gave_up_at) == (
        0,
        before.next_attempt_at,
        None,
        None,
    )
    assert attempts_of(event_id) == []


def test_an_unreachable_endpoint_is_tried_once_per_round_and_the_rest_deferred(db, actor):
    # given a partner whose endpoint refuses connections, with two events and an old third one
    partner, _ = partner_create(code="gone", name="Gone", kind="platform", actor=actor)
    url, stop = start_in_thread(create_app(PlatformIdentity()))
    stop()  # nothing listens there any more
    Partner.objects.filter(pk=partner.pk).update(webhook_url=f"{url}/webhooks")
    first = publish(partner, "order-1")
    second = publish(partner, "order-2")
    old = publish(partner, "order-3")
    OutboundEvent.objects.filter(pk=old).update(
        created_at=timezone.now() - RETRY_FOR - datetime.timedelta(minutes=1)
    )

    # when a round runs
    before = timezone.now()
    result = events_deliver_due()

    # then the first was tried and failed to connect; the second was put off 30 s without a try;
    # the old one was given up without a try
    assert result == DeliveryRound(claimed=3, failed=1, deferred=1, gave_up=1)
    [(status, error)] = attempts_of(first)
    assert status is None and error.startswith("ConnectError")
    assert attempts_of(second) == []
    deferred = OutboundEvent.objects.get(pk=second)
    assert deferred.attempts == 0
    assert before + FIRST_BACKOFF <= deferred.next_attempt_at <= timezone.now() + FIRST_BACKOFF
    assert attempts_of(old) == [(None, "not sent: the endpoint was unreachable moments before")]
    assert OutboundEvent.objects.get(pk=old).gave_up_at is not None


def test_events_not_tried_within_the_budget_are_released_due_again(platform):
    # given two due events
    ids = [publish(platform.partner, f"order-{n}") for n in (1, 2)]

    # when a round has no time left
    result = events_deliver_due(budget_s=0)

    # then nothing was sent and both are due again at once, not held for the lease
    assert result == DeliveryRound(claimed=2, released=2)
    assert attempts_of(ids[0]) == attempts_of(ids[1]) == []
    assert OutboundEvent.objects.filter(next_attempt_at__lte=timezone.now()).count() == 2
    assert events_deliver_due() == DeliveryRound(claimed=2, delivered=2)


def test_a_claimed_event_is_leased_so_no_other_worker_takes_it(platform, monkeypatch):
    # given a worker that claimed an event and then died before sending it
    event_id = publish(platform.partner, "order-1")
    import prakerja.partners.delivery as delivery

    claimed, lease_until = delivery._claim(10)
    assert [e.pk for e in claimed] == [event_id]

    # then the event is held for the lease: another round does not take it
    assert OutboundEvent.objects.get(pk=event_id).next_attempt_at == lease_until
    assert lease_until - timezone.now() > LEASE - datetime.timedelta(seconds=5)
    assert events_deliver_due() == DeliveryRound()

    # and after the lease it is taken again and delivered
    make_due(event_id)
    assert events_deliver_due() == DeliveryRound(claimed=1, delivered=1)


def test_retry_now_makes_given_up_and_waiting_events_due_and_is_audited(platform, actor):
    # given a given-up event, a waiting one and a delivered one
    given_up = publish(platform.partner, "order-1")
    waiting = publish(platform.partner, "order-2")
    delivered = publish(platform.partner, "order-3")
    now = timezone.now()
    OutboundEvent.objects.filter(pk=given_up).update(gave_up_at=now, attempts=30)
    OutboundEvent.objects.filter(pk=waiting).update(
        next_attempt_at=now + datetime.timedelta(hours=1), attempts=8
    )
    OutboundEvent.objects.filter(pk=delivered).update(delivered_at=now, attempts=1)

    # when an operator asks to retry all three now
    count = events_retry_now(event_ids=[given_up, waiting, delivered], actor=actor)

    # then the two undelivered are due and open, each audited; the delivered one is untouched
    assert count == 2
    events = OutboundEvent.objects.in_bulk([given_up, waiting, delivered])
    for pk in (given_up, waiting):
        assert events[pk].gave_up_at is None
        assert events[pk].next_attempt_at <= timezone.now()
    assert events[delivered].delivered_at == now
    audits = AuditEvent.objects.filter(event_type="partner_event.retry_now").order_by("pk")
    assert [(a.subject_id, a.details["was_given_up"], a.actor_label) for a in audits] == [
        (str(given_up), True, actor.label),
        (str(waiting), False, actor.label),
    ]
    # and the next round delivers both
    assert events_deliver_due() == DeliveryRound(claimed=2, delivered=2)


def test_retry_now_of_nothing_undelivered_changes_nothing(platform, actor):
    delivered = publish(platform.partner, "order-1")
    OutboundEvent.objects.filter(pk=delivered).update(delivered_at=timezone.now())
    assert events_retry_now(event_ids=[delivered, 999999], actor=actor) == 0
    assert not AuditEvent.objects.filter(event_type="partner_event.retry_now").exists()


@pytest.mark.django_db(transaction=True)
def test_several_workers_deliver_each_event_once_and_in_order_per_subject(actor, tmp_path: Path):
    # given 5 subjects with 4 events each
    platform, stop = start_platform(actor, "busyplatform")
    try:
        ids = {
            subject: [publish(platform.partner, subject, n=n) for n in range(4)]
            for subject in (f"order-{s}" for s in range(5))
        }
        errors: list[BaseException] = []

        # when 6 workers deliver at the same time until nothing is left
        def worker() -> None:
            try:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    events_deliver_due(limit=3)
                    if not OutboundEvent.objects.filter(delivered_at__isnull=True).exists():
                        return
            except BaseException as error:  # reported by the main thread
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # then every event arrived exactly once, and in order within its subject
        assert errors == []
        shown = received(platform)
        assert shown["duplicates"] == 0
        arrived = [event["webhook_id"] for event in shown["events"]]
        assert sorted(arrived) == sorted(f"evt_{i}" for group in ids.values() for i in group)
        for group in ids.values():
            assert [w for w in arrived if w in {f"evt_{i}" for i in group}] == [
                f"evt_{i}" for i in group
            ]
        assert DeliveryAttempt.objects.count() == 20
    finally:
        stop()


def test_a_malformed_webhook_url_is_a_failed_attempt_not_a_crash(db, actor):
    # given a partner whose webhook URL cannot be parsed
    partner, _ = partner_create(code="badurl", name="Bad URL", kind="platform", actor=actor)
    Partner.objects.filter(pk=partner.pk).update(webhook_url="http://[::1")
    event_id = publish(partner, "order-1")

    # when a round runs, then the try is recorded as failed and retried later
    assert events_deliver_due() == DeliveryRound(claimed=1, failed=1)
    [(status, error)] = attempts_of(event_id)
    assert status is None and error.startswith("InvalidURL")
    assert OutboundEvent.objects.get(pk=event_id).next_attempt_at > timezone.now()
