"""The complaint services: filing (with and without an attachment), each step of the support side,
the service-level due times, and every refusal — after which no complaint, event or audit row was
written and the complaint is as it was."""

import datetime
import io

import pytest
from django.db import DatabaseError, connection, transaction
from PIL import Image

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.errors import FieldsDisagree, ValidationFailed
from prakerja.common.immutable import AppendOnlyError
from prakerja.grievances.attachments import ATTACHMENT_MAX_BYTES
from prakerja.grievances.errors import (
    ComplaintAssigneeNotOperator,
    ComplaintAttachmentInvalid,
    ComplaintNotFound,
    ComplaintResolutionRequired,
    ComplaintTransitionRefused,
)
from prakerja.grievances.models import Complaint, ComplaintEvent
from prakerja.grievances.selectors import (
    complaint_of_registrant,
    complaint_timer,
    complaints_for_registrant,
    complaints_overdue,
)
from prakerja.grievances.services import (
    ComplaintAttachmentUnreadable,
    ComplaintRelatedNotFound,
    complaint_assign,
    complaint_file,
    complaint_reject,
    complaint_resolve,
    complaint_triage,
)
from prakerja.throttle.services import RateLimited
from prakerja.waves.models import WaveApplication
from tests.grievances.kit import (
    PDF,
    T0,
    as_participant,
    counts,
    gif,
    jpeg_with_exif,
    png,
    registrant,
    snapshot,
    staff,
)

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
HANDLE = ("grievances.view_complaint", "grievances.change_complaint")


def filed(person=None, *, at=T0, **fields) -> Complaint:  # type: ignore[no-untyped-def]
    person = person or registrant()
    return complaint_file(
        registrant=person,
        category=fields.pop("category", "payment"),
        text=fields.pop("text", "Insentif bulan pertama belum masuk ke OVO saya."),
        actor=as_participant(person),
        now=at,
        **fields,
    )


def officer(name: str = "cs1") -> Actor:
    return Actor.for_user(staff(name, *HANDLE))


# --- filing ---------------------------------------------------------------------------------------


def test_filing_without_attachment_records_the_complaint_its_event_and_audit() -> None:
    person = registrant()
    complaint = filed(person, text="  Saldo pelatihan saya berkurang dua kali.  ")

    row = snapshot(complaint)
    assert row["registrant_id"] == person.pk
    assert row["category"] == "payment"
    assert row["text"] == "Saldo pelatihan saya berkurang dua kali."
    assert row["status"] == "new"
    assert row["priority"] == "normal"
    assert row["attachment"] is None
    assert (row["attachment_name"], row["attachment_type"]) == ("", "")
    assert row["filed_at"] == T0
    assert row["first_response_due_at"] == T0 + 24 * H
    assert row["resolution_due_at"] == T0 + 120 * H
    assert (row["triaged_at"], row["assigned_at"], row["closed_at"]) == (None, None, None)
    event = ComplaintEvent.objects.get()
    assert (event.kind, event.at, event.actor_label, event.actor_user_id) == (
        "filed",
        T0,
        f"registrant:{person.pk}",
        None,
    )
    assert event.details == {
        "registrant_id": person.pk,
        "category": "payment",
        "related_type": "",
        "related_id": None,
        "attachment": "",
    }
    audit = AuditEvent.objects.get()
    assert (audit.event_type, audit.subject_type, audit.subject_id, audit.actor_label) == (
        "complaint.filed",
        "grievances.complaint",
        str(complaint.pk),
        f"registrant:{person.pk}",
    )


def test_a_photo_is_kept_as_jpeg_without_its_metadata() -> None:
    original = jpeg_with_exif()
    assert b"SecretPhoneMaker" in original

    complaint = filed(attachment=original, attachment_name="C:\\Users\\me\\bukti transfer.jpeg")

    row = snapshot(complaint)
    kept = bytes(row["attachment"])
    assert b"SecretPhoneMaker" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert (image.format, image.size) == ("JPEG", (40, 30))
    assert (row["attachment_name"], row["attachment_type"]) == ("bukti transfer.jpg", "image/jpeg")
    assert ComplaintEvent.objects.get().details["attachment"] == "image/jpeg"


def test_a_png_becomes_jpeg_and_a_pdf_is_kept_as_sent() -> None:
    person = registrant()
    photo = filed(person, attachment=png(), attachment_name="layar.png")
    paper = filed(person, attachment=PDF, attachment_name="../../surat.pdf")

    assert (photo.attachment_name, photo.attachment_type) == ("layar.jpg", "image/jpeg")
    assert bytes(snapshot(paper)["attachment"]) == PDF
    assert (paper.attachment_name, paper.attachment_type) == ("surat.pdf", "application/pdf")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "ATTACHMENT_EMPTY"),
        (b"%PDF-" + b"0" * ATTACHMENT_MAX_BYTES, "ATTACHMENT_TOO_LARGE"),
    ],
)
def test_an_attachment_empty_or_too_large_is_refused_and_nothing_is_written(
    data: bytes, reason: str
) -> None:
    person = registrant()
    before = counts()

    with pytest.raises(ComplaintAttachmentInvalid) as refused:
        filed(person, attachment=data, attachment_name="x")

    assert (refused.value.code, refused.value.http_status) == ("COMPLAINT_ATTACHMENT_INVALID", 422)
    assert refused.value.details == {"attachment": reason}
    assert refused.value.message("id") == (
        "Lampiran harus berupa foto JPEG/PNG atau PDF, paling besar 5 MB."
    )
    assert counts() == before == (0, 0, 0)


@pytest.mark.parametrize(
    "data",
    [b"MZ\x90\x00 an executable", b"<html><script>alert(1)</script></html>", "gif"],
)
def test_an_attachment_that_is_no_photo_or_pdf_is_refused_and_nothing_is_written(
    data: bytes | str,
) -> None:
    person = registrant()
    before = counts()

    with pytest.raises(ComplaintAttachmentUnreadable) as refused:
        filed(person, attachment=gif() if data == "gif" else data, attachment_name="x")

    # What the bytes are, no schema states: 409 (its size, a schema does: 422 above).
    assert (refused.value.code, refused.value.http_status) == (
        "COMPLAINT_ATTACHMENT_UNREADABLE",
        409,
    )
    assert refused.value.details == {"attachment": "ATTACHMENT_FORMAT"}
    assert refused.value.message("id") == (
        "Lampiran tidak dapat dibaca sebagai foto JPEG/PNG atau PDF."
    )
    assert counts() == before == (0, 0, 0)


@pytest.mark.parametrize(
    ("fields", "error", "details"),
    [
        ({"category": "other"}, ValidationFailed, {"category": "CHOICE_INVALID"}),
        ({"text": "   "}, ValidationFailed, {"text": "REQUIRED"}),
        ({"text": "x" * 4001}, ValidationFailed, {"text": "TOO_LONG"}),
        ({"text": "Saldo \u202eiknup"}, ValidationFailed, {"text": "CHARACTER_INVALID"}),
        ({"related_type": "order"}, FieldsDisagree, {"related": "INCOMPLETE"}),
        ({"related_id": 1}, FieldsDisagree, {"related": "INCOMPLETE"}),
        (
            {"related_type": "order", "related_id": 999_999},
            ComplaintRelatedNotFound,
            {"related": "NOT_FOUND"},
        ),
        (
            {"related_type": "ledger", "related_id": 1},
            ComplaintRelatedNotFound,
            {"related": "NOT_FOUND"},
        ),
    ],
)
def test_malformed_filings_are_refused_and_nothing_is_written(
    fields: dict, error: type, details: dict
) -> None:
    person = registrant()

    with pytest.raises(error) as refused:
        filed(person, **fields)

    assert type(refused.value) is error
    assert refused.value.details == details
    assert counts() == (0, 0, 0)


def test_a_complaint_may_name_the_registrants_own_application_and_not_anothers() -> None:
    from tests.waves.factory import join, open_wave

    mine, theirs = registrant(), registrant()
    wave = open_wave(quota=2, seed="griev-seed")
    join(wave, [mine, theirs])
    my_application = WaveApplication.objects.get(registrant=mine)
    their_application = WaveApplication.objects.get(registrant=theirs)

    complaint = filed(
        mine, category="selection", related_type="application", related_id=my_application.pk
    )
    assert (complaint.related_type, complaint.related_id) == ("application", my_application.pk)
    with pytest.raises(ComplaintRelatedNotFound) as refused:
        filed(
            mine,
            category="selection",
            related_type="application",
            related_id=their_application.pk,
        )
    assert (refused.value.code, refused.value.http_status) == ("COMPLAINT_RELATED_NOT_FOUND", 404)
    assert refused.value.details == {"related": "NOT_FOUND"}
    assert Complaint.objects.count() == 1


def test_more_than_ten_filings_a_day_are_refused() -> None:
    person = registrant()
    for _ in range(10):
        filed(person)

    with pytest.raises(RateLimited):
        filed(person)

    assert Complaint.objects.filter(registrant=person).count() == 10


# --- what the participant sees ------------------------------------------------------------------


def test_a_participant_reads_only_their_own_complaints_newest_first() -> None:
    me, other = registrant(), registrant()
    first = filed(me, at=T0)
    second = filed(me, at=T0 + H)
    theirs = filed(other, at=T0 + 2 * H)

    assert [c.pk for c in complaints_for_registrant(me.pk)] == [second.pk, first.pk]
    assert complaint_of_registrant(me.pk, first.pk).pk == first.pk
    with pytest.raises(ComplaintNotFound) as refused:
        complaint_of_registrant(me.pk, theirs.pk)
    assert (refused.value.code, refused.value.http_status) == ("COMPLAINT_NOT_FOUND", 404)


# --- the support side -----------------------------------------------------------------------------


def test_the_whole_path_new_triaged_assigned_resolved() -> None:
    complaint = filed()
    lead, handler = officer("lead"), staff("cs2", *HANDLE)

    triaged = complaint_triage(
        complaint=complaint, priority="urgent", note="double debit", actor=lead, now=T0 + H
    )
    assert (triaged.status, triaged.priority, triaged.triaged_at) == ("triaged", "urgent", T0 + H)
    assert triaged.first_response_due_at == T0 + 4 * H
    assert triaged.resolution_due_at == T0 + 24 * H

    assigned = complaint_assign(
        complaint=complaint, assignee_id=handler.pk, actor=lead, now=T0 + 2 * H
    )
    assert (assigned.status, assigned.assignee_id, assigned.assigned_at) == (
        "assigned",
        handler.pk,
        T0 + 2 * H,
    )

    resolved = complaint_resolve(
        complaint=complaint,
        resolution="Dana sudah dikembalikan ke saldo pelatihan Anda.",
        actor=Actor.for_user(handler),
        now=T0 + 30 * H,
    )
    row = snapshot(resolved)
    assert (row["status"], row["closed_at"]) == ("resolved", T0 + 30 * H)
    assert row["resolution"] == "Dana sudah dikembalikan ke saldo pelatihan Anda."

    events = list(
        ComplaintEvent.objects.order_by("at").values_list("kind", "actor_user_id", "details")
    )
    assert events == [
        (
            "filed",
            None,
            {
                "registrant_id": complaint.registrant_id,
                "category": "payment",
                "related_type": "",
                "related_id": None,
                "attachment": "",
            },
        ),
        (
            "triaged",
            lead.id,
            {
                "priority": "urgent",
                "resolution_due_at": (T0 + 24 * H).isoformat(),
                "note": "double debit",
            },
        ),
        ("assigned", lead.id, {"assignee_id": handler.pk, "previous_assignee_id": None}),
        ("resolved", handler.pk, {"within_sla": False}),
    ]
    assert list(AuditEvent.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "complaint.filed",
        "complaint.triaged",
        "complaint.assigned",
        "complaint.resolved",
    ]


def test_an_assigned_complaint_can_be_handed_over_but_not_to_the_same_operator() -> None:
    complaint = filed()
    lead = officer("lead")
    first, second = staff("cs2", *HANDLE), staff("cs3", *HANDLE)
    complaint_triage(complaint=complaint, priority="normal", actor=lead, now=T0)
    complaint_assign(complaint=complaint, assignee_id=first.pk, actor=lead, now=T0)
    handed = complaint_assign(complaint=complaint, assignee_id=second.pk, actor=lead, now=T0 + H)
    assert (handed.assignee_id, handed.assigned_at) == (second.pk, T0 + H)
    assert ComplaintEvent.objects.filter(kind="assigned").order_by("at").last().details == {
        "assignee_id": second.pk,
        "previous_assignee_id": first.pk,
    }
    before, row = counts(), snapshot(complaint)

    with pytest.raises(ComplaintTransitionRefused):
        complaint_assign(complaint=complaint, assignee_id=second.pk, actor=lead)

    assert (counts(), snapshot(complaint)) == (before, row)


@pytest.mark.parametrize(
    ("status_path", "step"),
    [
        ([], "assign"),
        ([], "resolve"),
        (["triage"], "triage"),
        (["triage"], "resolve"),
        (["triage", "assign", "resolve"], "triage"),
        (["triage", "assign", "resolve"], "assign"),
        (["triage", "assign", "resolve"], "resolve"),
        (["triage", "assign", "resolve"], "reject"),
        (["reject"], "triage"),
        (["reject"], "assign"),
        (["reject"], "resolve"),
        (["reject"], "reject"),
    ],
)
def test_steps_the_status_does_not_allow_are_refused_and_nothing_changes(
    status_path: list[str], step: str
) -> None:
    complaint = filed()
    lead, handler, other = officer("lead"), staff("cs2", *HANDLE), staff("cs3", *HANDLE)
    do = {
        "triage": lambda: complaint_triage(complaint=complaint, priority="high", actor=lead),
        "assign": lambda: complaint_assign(
            complaint=complaint,
            assignee_id=(other if step == "assign" else handler).pk,
            actor=lead,
        ),
        "resolve": lambda: complaint_resolve(
            complaint=complaint, resolution="Selesai.", actor=lead
        ),
        "reject": lambda: complaint_reject(complaint=complaint, reason="unfounded", actor=lead),
    }
    for earlier in status_path:
        do[earlier]()
    before, row = counts(), snapshot(complaint)

    with pytest.raises(ComplaintTransitionRefused) as refused:
        do[step]()

    target = {
        "triage": "triaged",
        "assign": "assigned",
        "resolve": "resolved",
        "reject": "rejected",
    }
    assert refused.value.code == "COMPLAINT_TRANSITION_REFUSED"
    assert refused.value.details == {
        "complaint_id": complaint.pk,
        "from": row["status"],
        "to": target[step],
    }
    assert (counts(), snapshot(complaint)) == (before, row)


@pytest.mark.parametrize("resolution", ["", "   \n "])
def test_resolving_without_a_resolution_text_is_refused(resolution: str) -> None:
    complaint = filed()
    lead = officer("lead")
    complaint_triage(complaint=complaint, priority="low", actor=lead)
    complaint_assign(complaint=complaint, assignee_id=lead.id, actor=lead)  # type: ignore[arg-type]
    before, row = counts(), snapshot(complaint)

    with pytest.raises(ComplaintResolutionRequired) as refused:
        complaint_resolve(complaint=complaint, resolution=resolution, actor=lead)

    assert refused.value.code == "COMPLAINT_RESOLUTION_REQUIRED"
    assert refused.value.http_status == 422
    assert (counts(), snapshot(complaint)) == (before, row)


@pytest.mark.parametrize(
    "who",
    ["missing", "participant_staff_without_permission", "not_staff", "inactive", "view_only"],
)
def test_assigning_to_anyone_but_an_active_support_operator_is_refused(who: str) -> None:
    complaint = filed()
    lead = officer("lead")
    complaint_triage(complaint=complaint, priority="normal", actor=lead)
    assignee_id = {
        "missing": lambda: 999_999,
        "participant_staff_without_permission": lambda: staff("finance").pk,
        "not_staff": lambda: staff("outsider", *HANDLE, staff=False).pk,
        "inactive": lambda: staff("gone", *HANDLE, active=False).pk,
        "view_only": lambda: staff("reader", "grievances.view_complaint").pk,
    }[who]()
    before, row = counts(), snapshot(complaint)

    with pytest.raises(ComplaintAssigneeNotOperator) as refused:
        complaint_assign(complaint=complaint, assignee_id=assignee_id, actor=lead)

    assert refused.value.code == "COMPLAINT_ASSIGNEE_NOT_OPERATOR"
    assert refused.value.details == {"assignee_id": assignee_id}
    assert (counts(), snapshot(complaint)) == (before, row)


def test_rejecting_as_a_duplicate_names_the_other_complaint_of_the_same_participant() -> None:
    person = registrant()
    original = filed(person, at=T0)
    again = filed(person, at=T0 + H)
    lead = officer("lead")

    closed = complaint_reject(
        complaint=again,
        reason="duplicate",
        duplicate_of_id=original.pk,
        explanation="Sama dengan pengaduan sebelumnya.",
        actor=lead,
        now=T0 + 2 * H,
    )

    row = snapshot(closed)
    assert (row["status"], row["reject_reason"], row["duplicate_of_id"]) == (
        "rejected",
        "duplicate",
        original.pk,
    )
    assert (row["resolution"], row["closed_at"], row["triaged_at"]) == (
        "Sama dengan pengaduan sebelumnya.",
        T0 + 2 * H,
        None,
    )
    assert closed.first_responded_at == T0 + 2 * H
    assert ComplaintEvent.objects.get(kind="rejected").details == {
        "reason": "duplicate",
        "duplicate_of_id": original.pk,
    }


@pytest.mark.parametrize(
    ("reason", "duplicate_of", "details"),
    [
        ("spam", None, {"reason": "CHOICE_INVALID"}),
        ("duplicate", None, {"duplicate_of": "REQUIRED_FOR_DUPLICATE_ONLY"}),
        ("unfounded", "original", {"duplicate_of": "REQUIRED_FOR_DUPLICATE_ONLY"}),
        ("duplicate", "itself", {"duplicate_of": "NOT_FOUND"}),
        ("duplicate", "another_persons", {"duplicate_of": "NOT_FOUND"}),
    ],
)
def test_a_rejection_without_its_reason_or_with_a_wrong_duplicate_is_refused(
    reason: str, duplicate_of: str | None, details: dict
) -> None:
    person = registrant()
    original = filed(person)
    complaint = filed(person)
    elsewhere = filed()
    ids = {"original": original.pk, "itself": complaint.pk, "another_persons": elsewhere.pk}
    before, row = counts(), snapshot(complaint)

    with pytest.raises(ValidationFailed) as refused:
        complaint_reject(
            complaint=complaint,
            reason=reason,
            duplicate_of_id=ids[duplicate_of] if duplicate_of else None,
            actor=officer(),
        )

    assert refused.value.details == details
    assert (counts(), snapshot(complaint)) == (before, row)


def test_history_rows_cannot_be_edited_through_the_orm_or_sql() -> None:
    filed()
    event = ComplaintEvent.objects.get()
    event.details = {"rewritten": True}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE grievances_complaintevent SET actor_label = 'someone else'")
    assert ComplaintEvent.objects.get().actor_label == event.actor_label


# --- service levels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "first_response_hours", "resolution_hours"),
    [("urgent", 4, 24), ("high", 8, 72), ("normal", 24, 120), ("low", 48, 240)],
)
def test_due_times_follow_the_priority_counted_from_filing(
    priority: str, first_response_hours: int, resolution_hours: int
) -> None:
    complaint = filed(at=T0)

    triaged = complaint_triage(
        complaint=complaint, priority=priority, actor=officer(), now=T0 + 3 * H
    )

    assert triaged.first_response_due_at == T0 + first_response_hours * H
    assert triaged.resolution_due_at == T0 + resolution_hours * H


def test_overdue_means_open_and_past_the_next_due_time() -> None:
    now = T0 + 30 * H
    lead = officer()
    new_late = filed(at=T0)  # first response was due at T0 + 24 h
    new_on_time = filed(at=T0 + 7 * H)  # due at T0 + 31 h
    urgent_late = filed(at=T0)  # resolution due at T0 + 24 h once urgent
    complaint_triage(complaint=urgent_late, priority="urgent", actor=lead, now=T0 + H)
    normal_on_time = filed(at=T0)  # resolution due at T0 + 120 h
    complaint_triage(complaint=normal_on_time, priority="normal", actor=lead, now=T0 + H)
    closed_late = filed(at=T0)
    complaint_reject(complaint=closed_late, reason="unfounded", actor=lead, now=T0 + 29 * H)

    overdue = complaints_overdue(Complaint.objects.all(), now)

    assert sorted(overdue.values_list("pk", flat=True)) == sorted([new_late.pk, urgent_late.pk])
    timer = complaint_timer(new_late, now)
    assert (timer.clock, timer.due, timer.left, timer.overdue) == (
        "first_response",
        T0 + 24 * H,
        -6 * H,
        True,
    )
    on_time = complaint_timer(Complaint.objects.get(pk=normal_on_time.pk), now)
    assert (on_time.clock, on_time.due, on_time.left, on_time.overdue) == (
        "resolution",
        T0 + 120 * H,
        90 * H,
        False,
    )
    assert complaint_timer(Complaint.objects.get(pk=closed_late.pk), now).clock == "closed"
    assert complaint_timer(new_on_time, now).left == H
