"""The partner admin: never a secret on screen, the live-secret count, and suspension and
reactivation through `partner_status_set` (audited, with the reason typed beside the action)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.partners.models import Partner
from prakerja.partners.services import partner_create, partner_secret_add
from tests.operators import operator_login

pytestmark = pytest.mark.django_db
ADMIN = Actor.system("tests")


@pytest.fixture
def staff(client: Client) -> Client:
    user = User.objects.create_superuser("pmo", "pmo@prakerja.example", "rahasia-panjang-1")
    operator_login(client, user)
    return client


def test_no_secret_is_ever_shown_and_live_secrets_are_counted(staff: Client):
    partner, first = partner_create(
        code="tokopedia", name="Tokopedia", kind="platform", actor=ADMIN
    )
    second = partner_secret_add(partner=partner, actor=ADMIN)
    webhook = decrypt(partner.webhook_secret_encrypted)

    listing = staff.get(reverse("admin:partners_partner_changelist"))
    page = staff.get(reverse("admin:partners_partner_change", args=[partner.pk]))

    assert listing.status_code == page.status_code == 200
    for response in (listing, page):
        text = response.content.decode()
        for secret in (first, second, webhook, partner.webhook_secret_encrypted):
            assert secret not in text
    assert '<td class="field-live_secrets">2</td>' in listing.content.decode()


def test_suspend_and_activate_actions_go_through_the_service(staff: Client):
    partner, _ = partner_create(code="tokopedia", name="Tokopedia", kind="platform", actor=ADMIN)
    url = reverse("admin:partners_partner_changelist")

    staff.post(
        url,
        {"action": "suspend", "_selected_action": [partner.pk], "reason": "audit BPK", "index": 0},
    )
    assert Partner.objects.get().status == "suspended"
    staff.post(url, {"action": "activate", "_selected_action": [partner.pk], "index": 0})

    assert Partner.objects.get().status == "active"
    assert list(
        AuditEvent.objects.filter(event_type="partner.status_changed")
        .order_by("pk")
        .values_list("actor_label", "details")
    ) == [
        ("user:pmo", {"from": "active", "to": "suspended", "reason": "audit BPK"}),
        ("user:pmo", {"from": "suspended", "to": "active", "reason": "admin"}),
    ]


def test_partners_are_not_added_edited_or_deleted_in_the_admin(staff: Client):
    partner, _ = partner_create(code="tokopedia", name="Tokopedia", kind="platform", actor=ADMIN)

    assert staff.get(reverse("admin:partners_partner_add")).status_code == 403
    assert (
        staff.post(
            reverse("admin:partners_partner_change", args=[partner.pk]), {"name": "Other"}
        ).status_code
        == 403
    )
    assert staff.get(reverse("admin:partners_partner_delete", args=[partner.pk])).status_code == 403
    assert Partner.objects.get().name == "Tokopedia"
