"""Complaints: the participant files one; support triages, assigns, resolves or rejects it.

Each service is one transaction on the locked complaint row: the status moves by TRANSITIONS, the
step's time is set, a ComplaintEvent and an audit event are written. A refusal raises before anything
is written. Who may act is the console's check (grievances.change_complaint); the services check what
the complaint and the people named allow.
"""

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import FieldsDisagree, NotFound, ValidationFailed
from prakerja.common.text import CHARACTER_INVALID, text_problem
from prakerja.common.transitions import status_move
from prakerja.grievances.attachments import Attachment, attachment_checked
from prakerja.grievances.errors import (
    ComplaintAssigneeNotOperator,
    ComplaintAttachmentInvalid,
    ComplaintNotFound,
    ComplaintResolutionRequired,
    ComplaintTransitionRefused,
)
from prakerja.grievances.models import (
    Category,
    Complaint,
    ComplaintEvent,
    EventKind,
    Priority,
    RejectReason,
    Status,
)
from prakerja.grievances.related import related_belongs_to
from prakerja.grievances.sla import due_times
from prakerja.registration.models import Registrant
from prakerja.throttle.services import Limit, throttle_hit

TEXT_MAX = 4000
RESOLUTION_MAX = 4000
# Enough for a person with several real problems; a flood is someone else's script.
FILING_LIMIT = Limit(hits=10, seconds=24 * 3600)
HANDLER_PERMISSION = "grievances.change_complaint"

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.TRIAGED, Status.REJECTED}),
    Status.TRIAGED: frozenset({Status.ASSIGNED, Status.REJECTED}),
    # ASSIGNED → ASSIGNED is a hand-over to another operator.
    Status.ASSIGNED: frozenset({Status.ASSIGNED, Status.RESOLVED, Status.REJECTED}),
    Status.RESOLVED: frozenset(),
    Status.REJECTED: frozenset(),
}


class ComplaintRelatedNotFound(NotFound):
    """`related_type` + `related_id` name nothing of the complainant's (or another person's)."""

    code = "COMPLAINT_RELATED_NOT_FOUND"
    message_id = "Pendaftaran, pesanan atau insentif yang disebut tidak ditemukan di akun Anda."
    message_en = "The application, order or incentive named was not found in your account."


class ComplaintAttachmentUnreadable(ComplaintAttachmentInvalid):
    """An attachment that is no JPEG/PNG photo or PDF: what the bytes are is a rule no JSON
    schema can state (it can state their size), so 409, not 422. details.attachment:
    ATTACHMENT_FORMAT, as ComplaintAttachmentInvalid's, whose family the pages show by field."""

    code = "COMPLAINT_ATTACHMENT_UNREADABLE"
    http_status = 409
    message_id = "Lampiran tidak dapat dibaca sebagai foto JPEG/PNG atau PDF."
    message_en = "The attachment could not be read as a JPEG/PNG photo or a PDF."


def _locked(complaint: Complaint) -> Complaint:
    found = Complaint.objects.select_for_update().filter(pk=complaint.pk).first()
    if found is None:
        raise ComplaintNotFound(details={"complaint_id": complaint.pk})
    return found


def _move(complaint: Complaint, target: str) -> str:
    return status_move(
        complaint,
        target,
        table=TRANSITIONS,
        refused=lambda current: ComplaintTransitionRefused(
            details={"complaint_id": complaint.pk, "from": current, "to": target},
            current=current,
            target=target,
        ),
    )


def _record(
    complaint: Complaint,
    kind: str,
    *,
    actor: Actor,
    at: datetime.datetime,
    details: dict[str, Any],
) -> None:
    ComplaintEvent.objects.create(
        complaint=complaint,
        kind=kind,
        at=at,
        actor_label=actor.label,
        actor_user_id=actor.id if actor.kind == "user" else None,
        details=details,
    )
    audit_record(actor=actor, event_type=f"complaint.{kind}", subject=complaint, details=details)


def _clean_text(value: str, *, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(details={field: "REQUIRED"})
    if len(text) > limit:
        raise ValidationFailed(details={field: "TOO_LONG"})
    return text


# --- the participant ---------------------------------------------------------------------------


def complaint_file(
    *,
    registrant: Registrant,
    category: str,
    text: str,
    related_type: str = "",
    related_id: int | None = None,
    attachment: bytes | None = None,
    attachment_name: str = "",
    actor: Actor,
    now: datetime.datetime | None = None,
) -> Complaint:
    """A new complaint of `registrant`, due for a first response and a resolution by the default
    priority's service level. The fields' own rules are VALIDATION_FAILED (category
    CHOICE_INVALID; text REQUIRED, TOO_LONG, CHARACTER_INVALID) and COMPLAINT_ATTACHMENT_INVALID
    (ATTACHMENT_EMPTY, ATTACHMENT_TOO_LARGE); `related_type` without `related_id` or the other
    way round is FIELDS_DISAGREE {related: INCOMPLETE}; they must name one of the registrant's own
    orders, entitlements or wave applications (COMPLAINT_RELATED_NOT_FOUND, 404); an attachment
    that is no photo or PDF is COMPLAINT_ATTACHMENT_UNREADABLE (409)."""
    if category not in Category.values:
        raise ValidationFailed(details={"category": "CHOICE_INVALID"})
    body = _clean_text(text, field="text", limit=TEXT_MAX)
    if text_problem(body, multiline=True):
        raise ValidationFailed(details={"text": CHARACTER_INVALID})
    if bool(related_type) != (related_id is not None):
        raise FieldsDisagree(details={"related": "INCOMPLETE"})
    if related_type and not related_belongs_to(registrant.pk, related_type, related_id or 0):
        raise ComplaintRelatedNotFound(details={"related": "NOT_FOUND"})
    kept = _attachment(attachment, attachment_name) if attachment is not None else None
    throttle_hit(key=f"complaint:{registrant.pk}", limit=FILING_LIMIT, now=now)
    moment = now or clock.now()
    first_due, resolution_due = due_times(moment, Priority.NORMAL)
    with transaction.atomic(durable=True):
        complaint = Complaint.objects.create(
            registrant=registrant,
            category=category,
            related_type=related_type,
            related_id=related_id,
            text=body,
            attachment=kept.data if kept else None,
            attachment_name=kept.name if kept else "",
            attachment_type=kept.content_type if kept else "",
            priority=Priority.NORMAL,
            filed_at=moment,
            first_response_due_at=first_due,
            resolution_due_at=resolution_due,
        )
        _record(
            complaint,
            EventKind.FILED,
            actor=actor,
            at=moment,
            details={
                "registrant_id": registrant.pk,
                "category": category,
                "related_type": related_type,
                "related_id": related_id,
                "attachment": kept.content_type if kept else "",
            },
        )
    return complaint


def _attachment(data: bytes, name: str) -> Attachment:
    try:
        return attachment_checked(data, name)
    except ComplaintAttachmentInvalid as refused:
        if refused.details.get("attachment") == "ATTACHMENT_FORMAT":
            raise ComplaintAttachmentUnreadable(details=refused.details) from None
        raise


# --- support -----------------------------------------------------------------------------------


def complaint_triage(
    *,
    complaint: Complaint,
    priority: str,
    note: str = "",
    actor: Actor,
    now: datetime.datetime | None = None,
) -> Complaint:
    """First response: the priority is set and the service-level due times follow it (counted from
    filing). `note` is internal."""
    if priority not in Priority.values:
        raise ValidationFailed(details={"priority": "CHOICE_INVALID"})
    moment = now or clock.now()
    with transaction.atomic(durable=True):
        complaint = _locked(complaint)
        _move(complaint, Status.TRIAGED)
        complaint.priority = priority
        complaint.first_response_due_at, complaint.resolution_due_at = due_times(
            complaint.filed_at, priority
        )
        complaint.triaged_at = moment
        complaint.save(
            update_fields=[
                "status",
                "priority",
                "first_response_due_at",
                "resolution_due_at",
                "triaged_at",
            ]
        )
        _record(
            complaint,
            EventKind.TRIAGED,
            actor=actor,
            at=moment,
            details={
                "priority": priority,
                "resolution_due_at": complaint.resolution_due_at.isoformat(),
                "note": note.strip(),
            },
        )
    return complaint


def is_handler(user: Any) -> bool:
    """Who a complaint may be assigned to: an active staff member allowed to handle complaints."""
    return bool(user.is_active and user.is_staff and user.has_perm(HANDLER_PERMISSION))


def complaint_assign(
    *,
    complaint: Complaint,
    assignee_id: int,
    actor: Actor,
    now: datetime.datetime | None = None,
) -> Complaint:
    """Hand a triaged complaint (or one assigned to someone else) to an operator."""
    assignee = get_user_model().objects.filter(pk=assignee_id).first()
    if assignee is None or not is_handler(assignee):
        raise ComplaintAssigneeNotOperator(details={"assignee_id": assignee_id})
    moment = now or clock.now()
    with transaction.atomic(durable=True):
        complaint = _locked(complaint)
        previous = complaint.assignee_id
        _move(complaint, Status.ASSIGNED)
        if previous == assignee.pk:  # a hand-over to whom already has it
            raise ComplaintTransitionRefused(
                details={"complaint_id": complaint.pk, "assignee_id": assignee.pk},
                current=Status.ASSIGNED,
                target=Status.ASSIGNED,
            )
        complaint.assignee = assignee
        complaint.assigned_at = moment
        complaint.save(update_fields=["status", "assignee", "assigned_at"])
        _record(
            complaint,
            EventKind.ASSIGNED,
            actor=actor,
            at=moment,
            details={"assignee_id": assignee.pk, "previous_assignee_id": previous},
        )
    return complaint


def complaint_resolve(
    *,
    complaint: Complaint,
    resolution: str,
    actor: Actor,
    now: datetime.datetime | None = None,
) -> Complaint:
    """Close an assigned complaint with the answer the participant reads."""
    if not (resolution or "").strip():
        raise ComplaintResolutionRequired(details={"resolution": "REQUIRED"})
    answer = _clean_text(resolution, field="resolution", limit=RESOLUTION_MAX)
    moment = now or clock.now()
    with transaction.atomic(durable=True):
        complaint = _locked(complaint)
        _move(complaint, Status.RESOLVED)
        complaint.resolution = answer
        complaint.closed_at = moment
        complaint.save(update_fields=["status", "resolution", "closed_at"])
        _record(
            complaint,
            EventKind.RESOLVED,
            actor=actor,
            at=moment,
            details={"within_sla": moment <= complaint.resolution_due_at},
        )
    return complaint


def complaint_reject(
    *,
    complaint: Complaint,
    reason: str,
    duplicate_of_id: int | None = None,
    explanation: str = "",
    actor: Actor,
    now: datetime.datetime | None = None,
) -> Complaint:
    """Close an open complaint without acting on it: a duplicate (of another complaint of the same
    participant, named), out of scope or unfounded. `explanation` is shown to the participant."""
    if reason not in RejectReason.values:
        raise ValidationFailed(details={"reason": "CHOICE_INVALID"})
    if (reason == RejectReason.DUPLICATE) != (duplicate_of_id is not None):
        raise ValidationFailed(details={"duplicate_of": "REQUIRED_FOR_DUPLICATE_ONLY"})
    note = (explanation or "").strip()
    if len(note) > RESOLUTION_MAX:
        raise ValidationFailed(details={"explanation": "TOO_LONG"})
    moment = now or clock.now()
    with transaction.atomic(durable=True):
        complaint = _locked(complaint)
        if duplicate_of_id is not None and (
            duplicate_of_id == complaint.pk
            or not Complaint.objects.filter(
                pk=duplicate_of_id, registrant_id=complaint.registrant_id
            ).exists()
        ):
            raise ValidationFailed(details={"duplicate_of": "NOT_FOUND"})
        _move(complaint, Status.REJECTED)
        complaint.reject_reason = reason
        complaint.duplicate_of_id = duplicate_of_id
        complaint.resolution = note
        complaint.closed_at = moment
        complaint.save(
            update_fields=["status", "reject_reason", "duplicate_of", "resolution", "closed_at"]
        )
        _record(
            complaint,
            EventKind.REJECTED,
            actor=actor,
            at=moment,
            details={"reason": reason, "duplicate_of_id": duplicate_of_id},
        )
    return complaint
