"""The support console for complaints (/admin/grievances/complaint/): the list's columns, filters
and service-level clock, a complaint's page with its steps, each step through its button with a
permitted operator (done, with the message) and refused ones (nothing written), and the list's
"assign to me" action."""

import datetime
import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.timeutil import format_wib
from prakerja.grievances.models import Complaint
from prakerja.grievances.services import complaint_assign, complaint_file, complaint_triage
from tests.grievances.kit import (
    PDF,
    as_participant,
    console_client,
    counts,
    registrant,
    snapshot,
    staff,
)

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
LIST = "/admin/grievances/complaint/"
VIEW = "grievances.view_complaint"
CHANGE = "grievances.change_complaint"


def filed(person=None, *, at=None, **fields) -> Complaint:  # type: ignore[no-untyped-def]
    person = person or registrant()
    return complaint_file(
        registrant=person,
        category=fields.pop("category", "payment"),
        text=fields.pop("text", "Insentif belum masuk."),
        actor=as_participant(person),
        now=at,
        **fields,
    )


def handler(name: str = "cs1") -> tuple[Client, Actor]:
    user = staff(name, VIEW, CHANGE)
    client = console_client(user)
    client.cookies["django_language"] = "en"
    return client, Actor.for_user(user)


def reader(name: str = "viewer") -> Client:
    return console_client(staff(name, VIEW))


def listed(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', page)]


def messages_of(answer) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in answer.context["messages"]] if answer.context else []


def step(client: Client, complaint: Complaint, name: str, data: dict):  # type: ignore[no-untyped-def]
    url = reverse(f"admin:grievances_complaint_{name}", args=[complaint.pk])
    return client.post(url, data, follow=True)


# --- the list -------------------------------------------------------------------------------------


def test_the_list_shows_the_clock_in_wib_and_links_the_participants_record() -> None:
    now = timezone.now()
    late = filed(at=now - 25 * H)
    on_time = filed(at=now - 2 * H)
    client, _ = handler()

    page = html.unescape(client.get(LIST).content.decode())

    assert sorted(listed(page)) == sorted([late.pk, on_time.pk])
    assert (
        f'<a href="/console/peserta/{late.registrant_id}/">Registrant #{late.registrant_id}</a>'
        in page
    )
    late_due = format_wib(late.first_response_due_at, language="en")
    on_time_due = format_wib(on_time.first_response_due_at, language="en")
    # Seconds pass between filing and reading: whole minutes, rounded down.
    assert (
        f'<strong class="sla-overdue">first response overdue by 1 h 0 min (due {late_due})</strong>'
        in page
    )
    assert f"first response: 21 h 59 min left (due {on_time_due})" in page


def test_filters_overdue_and_assigned_to_me_are_exact() -> None:
    now = timezone.now()
    client, me = handler("cs1")
    _, colleague = handler("cs2")
    new_late = filed(at=now - 25 * H)
    new_on_time = filed(at=now - 1 * H)
    urgent_late = filed(at=now - 25 * H)
    complaint_triage(complaint=urgent_late, priority="urgent", actor=me)
    mine = filed(at=now - 1 * H)
    complaint_triage(complaint=mine, priority="normal", actor=me)
    complaint_assign(complaint=mine, assignee_id=me.id or 0, actor=me)
    theirs = filed(at=now - 1 * H)
    complaint_triage(complaint=theirs, priority="normal", actor=me)
    complaint_assign(complaint=theirs, assignee_id=colleague.id or 0, actor=me)

    overdue = listed(client.get(LIST + "?sla=overdue").content.decode())
    assert sorted(overdue) == sorted([new_late.pk, urgent_late.pk])
    assert listed(client.get(LIST + "?assigned=me").content.decode()) == [mine.pk]
    assert sorted(listed(client.get(LIST + "?status__exact=assigned").content.decode())) == sorted(
        [mine.pk, theirs.pk]
    )
    on_time = listed(client.get(LIST + "?sla=on_time").content.decode())
    assert sorted(on_time) == sorted([new_on_time.pk, mine.pk, theirs.pk])


def test_a_reader_sees_the_complaint_but_no_step_and_cannot_post_one() -> None:
    complaint = filed(attachment=PDF, attachment_name="surat.pdf")
    client = reader()

    page = client.get(reverse("admin:grievances_complaint_change", args=[complaint.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="triage-form"' not in content
    assert 'id="no-steps"' in content
    assert 'name="_save"' not in content
    assert (
        client.get(
            reverse("admin:grievances_complaint_attachment", args=[complaint.pk])
        ).status_code
        == 200
    )
    before, row = counts(), snapshot(complaint)

    answer = client.post(
        reverse("admin:grievances_complaint_triage", args=[complaint.pk]), {"priority": "high"}
    )

    assert answer.status_code == 403
    assert (counts(), snapshot(complaint)) == (before, row)


def test_staff_without_the_view_permission_do_not_see_complaints() -> None:
    complaint = filed()
    client = console_client(staff("finance", "incentives.view_entitlement"))
    assert client.get(LIST).status_code == 403
    assert (
        client.get(reverse("admin:grievances_complaint_change", args=[complaint.pk])).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:grievances_complaint_triage", args=[complaint.pk]), {"priority": "high"}
        ).status_code
        == 403
    )
    assert snapshot(complaint)["status"] == "new"


def test_a_handler_takes_a_complaint_through_every_step_by_its_buttons() -> None:
    complaint = filed()
    client, me = handler("cs1")
    page = client.get(
        reverse("admin:grievances_complaint_change", args=[complaint.pk])
    ).content.decode()
    assert 'id="triage-form"' in page and 'id="reject-form"' in page
    assert 'id="assign-form"' not in page and 'id="resolve-form"' not in page

    answer = step(client, complaint, "triage", {"priority": "high", "note": "cek"})
    assert Complaint.objects.get(pk=complaint.pk).status == "triaged"
    due = format_wib(Complaint.objects.get(pk=complaint.pk).resolution_due_at, language="en")
    assert messages_of(answer) == [
        f"Complaint #{complaint.pk} triaged: priority High, resolution due {due}."
    ]

    answer = step(client, complaint, "assign", {"assignee": me.id})
    assert messages_of(answer) == [f"Complaint #{complaint.pk} assigned to cs1."]
    row = snapshot(complaint)
    assert (row["status"], row["assignee_id"]) == ("assigned", me.id)

    answer = step(client, complaint, "resolve", {"resolution": "Sudah dibayar."})
    row = snapshot(complaint)
    assert (row["status"], row["resolution"]) == ("resolved", "Sudah dibayar.")
    assert messages_of(answer) == [f"Complaint #{complaint.pk} resolved."]
    page = answer.content.decode()
    assert 'id="no-steps"' in page
    assert re.findall(r'<tr class="event-(\w+)">', page) == [
        "filed",
        "triaged",
        "assigned",
        "resolved",
    ]


@pytest.mark.parametrize(
    ("setup", "name", "data", "code"),
    [
        ("new", "resolve", {"resolution": "Selesai"}, "COMPLAINT_TRANSITION_REFUSED"),
        ("new", "assign", {"assignee": "me"}, "COMPLAINT_TRANSITION_REFUSED"),
        ("assigned", "resolve", {"resolution": "  "}, "COMPLAINT_RESOLUTION_REQUIRED"),
        ("triaged", "assign", {"assignee": "reader"}, "COMPLAINT_ASSIGNEE_NOT_OPERATOR"),
        ("new", "reject", {"reason": "duplicate"}, "VALIDATION_FAILED"),
    ],
)
def test_refused_steps_show_the_code_and_change_nothing(
    setup: str, name: str, data: dict, code: str
) -> None:
    complaint = filed()
    client, me = handler("cs1")
    viewer = staff("viewer", VIEW)
    if setup in ("triaged", "assigned"):
        complaint_triage(complaint=complaint, priority="normal", actor=me)
    if setup == "assigned":
        complaint_assign(complaint=complaint, assignee_id=me.id or 0, actor=me)
    values = {"me": me.id, "reader": viewer.pk}
    data = {k: values.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    before, row = counts(), snapshot(complaint)

    answer = step(client, complaint, name, data)

    assert answer.status_code == 200
    shown = messages_of(answer)
    assert len(shown) == 1 and shown[0].startswith(f"Nothing changed: {code} — "), shown
    assert (counts(), snapshot(complaint)) == (before, row)


def test_assign_to_me_assigns_the_triaged_and_names_the_refused() -> None:
    client, me = handler("cs1")
    ready = filed()
    complaint_triage(complaint=ready, priority="normal", actor=me)
    fresh = filed()
    before_fresh = snapshot(fresh)

    answer = client.post(
        LIST,
        {"action": "assign_to_me", "_selected_action": [ready.pk, fresh.pk]},
        follow=True,
    )

    assert snapshot(ready)["assignee_id"] == me.id
    assert snapshot(fresh) == before_fresh
    shown = messages_of(answer)
    assert any(
        m.startswith(f"Complaint #{fresh.pk} not assigned: COMPLAINT_TRANSITION_REFUSED")
        for m in shown
    ), shown
    assert "1 complaint assigned to you." in shown


def test_a_reader_is_not_offered_assign_to_me_and_posting_it_changes_nothing() -> None:
    complaint = filed()
    complaint_triage(
        complaint=complaint, priority="normal", actor=Actor.for_user(staff("lead", VIEW, CHANGE))
    )
    client = reader()
    assert 'value="assign_to_me"' not in client.get(LIST).content.decode()
    before, row = counts(), snapshot(complaint)

    client.post(LIST, {"action": "assign_to_me", "_selected_action": [complaint.pk]})

    assert (counts(), snapshot(complaint)) == (before, row)
