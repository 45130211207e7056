"""The audit-log viewer (for holders of console.view_audit_log) and the console.action events the
console writes for every operator request that may change something — refused ones too, never the
request's body."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.console.services import operator_roles_set
from prakerja.waves.models import ProgramScheme
from tests.operators import operator_login

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
LIST = "/admin/audit/auditevent/"


def operator(username: str, *roles: str) -> Client:
    user = User.objects.create_user(username, password="x", is_staff=True)
    operator_roles_set(user=user, roles=list(roles), actor=SYSTEM)
    return operator_login(Client(), user)


def at(day: int, hour: int) -> datetime.datetime:
    return datetime.datetime(2020, 4, day, hour, tzinfo=WIB)


@pytest.fixture
def events() -> list[AuditEvent]:
    """Three events at known WIB times (written directly: audit_record stamps the present)."""
    rows = [
        (at(1, 23), Actor("user", 7, "user:budi"), "wave.opened", "", "", {}),
        (
            at(2, 1),
            Actor.partner(3, "tokopedia"),
            "training.created",
            "waves.programscheme",
            "9001",
            {"title": "Barista"},
        ),
        (at(3, 12), SYSTEM, "wave.opened", "", "", {}),
    ]
    return [
        AuditEvent.objects.create(
            occurred_at=moment,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label,
            event_type=event_type,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )
        for moment, actor, event_type, subject_type, subject_id, details in rows
    ]


def shown(client: Client, **query: str) -> list[int]:
    page = client.get(LIST, query)
    assert page.status_code == 200
    return sorted(event.pk for event in page.context["cl"].result_list)


def test_the_auditor_and_the_program_admin_read_the_log_and_others_do_not(events):
    auditor = operator("aud", "auditor")
    assert shown(auditor, actor_kind="user") == [events[0].pk]  # not the operators' own setup
    assert shown(auditor) == sorted(AuditEvent.objects.values_list("pk", flat=True))
    assert operator("pa", "program_admin").get(LIST).status_code == 200
    assert operator("fin", "finance_maker").get(LIST).status_code == 403
    assert operator("dukungan", "support").get(f"{LIST}{events[0].pk}/change/").status_code == 403


def test_filters_by_type_kind_actor_subject_and_wib_dates(events):
    client = operator("aud", "auditor")
    budi, partner, system = (e.pk for e in events)

    assert shown(client, event_type="wave.opened") == [budi, system]
    assert shown(client, actor_kind="partner") == [partner]
    assert shown(client, actor="user:budi") == [budi]
    assert shown(client, subject_type="waves.programscheme") == [partner]
    # 1 Apr 23.00 WIB is 16.00 UTC; 2 Apr 01.00 WIB is 1 Apr 18.00 UTC: dates are WIB days
    assert shown(client, occurred_from="2020-04-02", occurred_to="2020-04-02") == [partner]
    assert shown(client, occurred_to="2020-04-01") == [budi]
    assert shown(client, q="9001") == [partner]
    assert shown(client, q="user:budi") == [budi]


def test_an_event_shows_its_details_as_json(events):
    client = operator("aud", "auditor")
    page = client.get(f"{LIST}{events[1].pk}/change/").content.decode()
    assert "<pre id='audit-details'>{\n  &quot;title&quot;: &quot;Barista&quot;\n}</pre>" in page
    assert "2 Apr 2020 01.00 WIB" in page


def test_the_filtered_list_exports_as_csv(events):
    client = operator("aud", "auditor")
    answer = client.get(reverse("admin:audit_auditevent_export"), {"event_type": "wave.opened"})

    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert rows == [
        [
            "occurred_at_utc",
            "event_type",
            "actor_kind",
            "actor_id",
            "actor_label",
            "subject_type",
            "subject_id",
            "details",
        ],
        ["2020-04-03T05:00:00+00:00", "wave.opened", "system", "", "system:tests", "", "", "{}"],
        ["2020-04-01T16:00:00+00:00", "wave.opened", "user", "7", "user:budi", "", "", "{}"],
    ]
    refused = operator("fin", "finance_maker").get(reverse("admin:audit_auditevent_export"))
    assert refused.status_code == 403


def test_every_operator_post_is_recorded_refused_ones_too_without_the_body():
    client = operator("fin", "finance_maker")
    user = User.objects.get(username="fin")
    scheme = ProgramScheme.objects.get(code="2020")
    url = f"/admin/waves/programscheme/{scheme.pk}/change/"

    refused = client.post(url, {"name": "Rahasia-NIK-3171234567890001"})
    client.get(url)  # reading is not recorded

    assert refused.status_code == 403
    event = AuditEvent.objects.get(event_type="console.action")
    assert (event.actor_kind, event.actor_id, event.actor_label) == ("user", user.pk, "user:fin")
    assert event.details == {
        "method": "POST",
        "path": url,
        "url_name": "admin:waves_programscheme_change",
        "status": 403,
        "object_id": str(scheme.pk),
    }
    assert "Rahasia" not in str(AuditEvent.objects.values_list("details", flat=True))


def test_an_admin_action_records_its_name_and_ids_only(events):
    client = operator("mitra", "partner_manager")
    from prakerja.partners.services import partner_create

    partner, _ = partner_create(code="toko", name="Toko", kind="platform", actor=SYSTEM)
    client.post(
        "/admin/partners/partner/",
        {"action": "suspend", "_selected_action": [partner.pk], "reason": "audit", "index": 0},
    )

    event = AuditEvent.objects.get(event_type="console.action")
    assert event.details == {
        "method": "POST",
        "path": "/admin/partners/partner/",
        "url_name": "admin:partners_partner_changelist",
        "status": 302,
        "admin_action": "suspend",
        "selected_ids": [str(partner.pk)],
    }


def test_requests_outside_the_console_and_by_non_staff_are_not_console_actions():
    participant = User.objects.create_user("peserta", password="x")
    client = Client()
    client.force_login(participant)
    client.post("/admin/waves/programscheme/1/change/", {})
    client.post("/api/v1/me/incentives", {})
    assert not AuditEvent.objects.filter(event_type="console.action").exists()
