"""The participant API's complaints (registered under /api/v1/me with the bearer token of
portal/api.py, whose error body and handlers apply): the participant's complaints, one of them with
its steps, and filing one (multipart, with an optional attachment). `status_text` and `next` follow
Accept-Language."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from prakerja.common.actors import Actor
from prakerja.grievances import services
from prakerja.grievances.attachments import ATTACHMENT_MAX_BYTES
from prakerja.grievances.models import Complaint
from prakerja.grievances.selectors import (
    complaint_events,
    complaint_of_registrant,
    complaints_for_registrant,
)
from prakerja.grievances.views import next_step, status_label
from prakerja.registration.models import Registrant

router = Router(tags=["complaints"])


class ComplaintErrorOut(Schema):
    error: dict


ERRORS = {401: ComplaintErrorOut, 404: ComplaintErrorOut, 422: ComplaintErrorOut}


class ComplaintStepOut(Schema):
    kind: str = Field(description="filed, triaged, assigned, resolved or rejected.")
    at: datetime.datetime = Field(description="UTC.")


class ComplaintOut(Schema):
    id: int
    category: str = Field(description="verification, selection, voucher, completion or payment.")
    related_type: str = Field(description="application, order, entitlement, or empty.")
    related_id: int | None
    text: str
    has_attachment: bool
    status: str = Field(description="new, triaged, assigned, resolved or rejected.")
    status_text: str = Field(description="The status in words.")
    next: str = Field(description="What happens next, with the time promised (WIB).")
    resolution: str = Field(description="Support's answer, once resolved or closed.")
    reject_reason: str = Field(description="duplicate, out_of_scope, unfounded, or empty.")
    duplicate_of: int | None = Field(description="The complaint handled instead (duplicates).")
    filed_at: datetime.datetime = Field(description="UTC.")
    first_response_due_at: datetime.datetime = Field(description="UTC.")
    resolution_due_at: datetime.datetime = Field(description="UTC.")
    closed_at: datetime.datetime | None = Field(description="UTC.")


class ComplaintDetailOut(ComplaintOut):
    steps: list[ComplaintStepOut]


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    return moment.astimezone(datetime.UTC) if moment else None


def _complaint(complaint: Complaint) -> dict[str, Any]:
    return {
        "id": complaint.pk,
        "category": complaint.category,
        "related_type": complaint.related_type,
        "related_id": complaint.related_id,
        "text": complaint.text,
        "has_attachment": bool(complaint.attachment_type),
        "status": complaint.status,
        "status_text": status_label(complaint.status),
        "next": next_step(complaint),
        "resolution": complaint.resolution,
        "reject_reason": complaint.reject_reason,
        "duplicate_of": complaint.duplicate_of_id,
        "filed_at": _utc(complaint.filed_at),
        "first_response_due_at": _utc(complaint.first_response_due_at),
        "resolution_due_at": _utc(complaint.resolution_due_at),
        "closed_at": _utc(complaint.closed_at),
    }


def _me(request: HttpRequest) -> Registrant:
    registrant = request.auth  # type: ignore[attr-defined]
    assert isinstance(registrant, Registrant)
    return registrant


@router.get("/complaints", response={200: list[ComplaintOut], **ERRORS}, summary="My complaints")
def complaints(request: HttpRequest) -> list[dict[str, Any]]:
    """The participant's complaints, newest first."""
    return [_complaint(c) for c in complaints_for_registrant(_me(request).pk)]


@router.get(
    "/complaints/{complaint_id}",
    response={200: ComplaintDetailOut, **ERRORS},
    summary="One of my complaints",
)
def complaint(request: HttpRequest, complaint_id: int) -> dict[str, Any]:
    """One complaint with its steps. Errors: 404 COMPLAINT_NOT_FOUND (also for another person's)."""
    found = complaint_of_registrant(_me(request).pk, complaint_id)
    return {
        **_complaint(found),
        "steps": [{"kind": e.kind, "at": _utc(e.at)} for e in complaint_events(found.pk)],
    }


@router.post(
    "/complaints",
    response={201: ComplaintOut, 429: ComplaintErrorOut, **ERRORS},
    summary="File a complaint",
)
def complaint_file(
    request: HttpRequest,
    category: str = Form(...),
    text: str = Form(...),
    related_type: str = Form(""),
    related_id: int | None = Form(None),
    attachment: UploadedFile | None = File(None),  # noqa: B008 - ninja's idiom
) -> Status:
    """Multipart form: category, text, optionally related_type + related_id (one of your own
    applications, orders or entitlements) and an attachment (JPEG/PNG photo or PDF, at most
    5 MB). Errors: 422 VALIDATION_FAILED (details: category CHOICE_INVALID, text REQUIRED or
    TOO_LONG, related NOT_FOUND or INCOMPLETE), 422 COMPLAINT_ATTACHMENT_INVALID (details.attachment:
    ATTACHMENT_TOO_LARGE, ATTACHMENT_FORMAT, ATTACHMENT_EMPTY), 429 RATE_LIMITED."""
    registrant = _me(request)
    filed = services.complaint_file(
        registrant=registrant,
        category=category,
        text=text,
        related_type=related_type,
        related_id=related_id,
        attachment=attachment.read(ATTACHMENT_MAX_BYTES + 1) if attachment else None,
        attachment_name=attachment.name or "" if attachment else "",
        actor=Actor.participant(registrant.pk),
    )
    return Status(201, _complaint(filed))
