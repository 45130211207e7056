"""The console's view of events sent to partners: each event with its delivery attempts, read-only,
and "retry now" for operators allowed to change events."""

import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.partners.models import DeliveryAttempt, OutboundEvent
from prakerja.partners.outbox import event_publish
from prakerja.partners.services import partner_create
from tests.operators import operator_login

CHANGELIST = "/admin/partners/outboundevent/"


@pytest.fixture
def events(db, actor):
    partner, _ = partner_create(
        code="tokoplatform",
        name="Toko",
        kind="platform",
        actor=actor,
        webhook_url="https://platform.example/hooks",
    )
    given_up = event_publish(
        partner_id=partner.pk, event_type="voucher.issued", subject="order-7", data={"v": 1}
    )
    delivered = event_publish(
        partner_id=partner.pk, event_type="voucher.expired", subject="order-8", data={"v": 2}
    )
    now = timezone.now()
    OutboundEvent.objects.filter(pk=given_up).update(gave_up_at=now, attempts=2)
    OutboundEvent.objects.filter(pk=delivered).update(delivered_at=now, attempts=1)
    DeliveryAttempt.objects.create(
        event_id=given_up,
        attempted_at=now - datetime.timedelta(minutes=1),
        status_code=503,
        error="HTTP 503: sedang pemeliharaan",
        duration_ms=41,
    )
    DeliveryAttempt.objects.create(
        event_id=given_up, attempted_at=now, error="ConnectTimeout: timed out", duration_ms=10000
    )
    return given_up, delivered


def staff(*permissions: str) -> Client:
    user = User.objects.create_user("operator", password="rahasia-sekali-123", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="partners", codename__in=permissions)
    )
    client = Client()
    operator_login(client, user)
    return client


def test_the_event_list_shows_partner_type_subject_and_state(admin_client, events):
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("Toko (tokoplatform)", "voucher.issued", "order-7", "voucher.expired"):
        assert expected in text
    assert "retry_now" in text  # the action is offered


def test_an_event_page_shows_its_attempts_and_webhook_id(admin_client, events):
    given_up, _ = events
    page = admin_client.get(f"{CHANGELIST}{given_up}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"evt_{given_up}" in text
    assert "HTTP 503: sedang pemeliharaan" in text
    assert "ConnectTimeout: timed out" in text
    assert "10000" in text
    # read-only: no save button
    assert 'name="_save"' not in text


def test_retry_now_makes_the_given_up_event_due_and_skips_the_delivered(admin_client, events):
    # given a given-up and a delivered event
    given_up, delivered = events

    # when an administrator retries both
    answer = admin_client.post(
        CHANGELIST,
        {"action": "retry_now", "_selected_action": [given_up, delivered]},
        follow=True,
    )

    # then the given-up one is open and due, the delivered one unchanged, and the operator told
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "1 event(s) due now" in text and "1 already delivered, skipped" in text
    event = OutboundEvent.objects.get(pk=given_up)
    assert event.gave_up_at is None and event.next_attempt_at <= timezone.now()
    assert OutboundEvent.objects.get(pk=delivered).delivered_at is not None
    [audit] = AuditEvent.objects.filter(event_type="partner_event.retry_now")
    assert (audit.subject_id, audit.actor_kind) == (str(given_up), "user")


@pytest.mark.parametrize(
    ("permissions", "sees_list", "may_retry"),
    [
        ((), False, False),
        (("view_outboundevent",), True, False),
        (("view_outboundevent", "change_outboundevent"), True, True),
    ],
)
def test_who_may_see_events_and_retry_them(events, permissions, sees_list, may_retry):
    # given a staff member with some permissions and a given-up event
    given_up, _ = events
    client = staff(*permissions)

    # when they open the list and try the action
    page = client.get(CHANGELIST)
    client.post(CHANGELIST, {"action": "retry_now", "_selected_action": [given_up]})

    # then they see the list only with view permission, and retry only with change permission
    assert page.status_code == (200 if sees_list else 403)
    if sees_list:
        assert ("retry_now" in page.content.decode()) is may_retry
    retried = OutboundEvent.objects.get(pk=given_up).gave_up_at is None
    assert retried is may_retry
    assert AuditEvent.objects.filter(event_type="partner_event.retry_now").exists() is may_retry
