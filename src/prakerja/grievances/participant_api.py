"""The participant API's complaints (registered under /api/v1/me with the bearer token of
portal/api.py, whose error body and handlers apply): the participant's complaints, one of them with
its steps, and filing one (multipart, with an optional attachment). `status_text` and `next` follow
Accept-Language."""

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from prakerja.common.actors import Actor
from prakerja.common.api_types import TrimmedText
from prakerja.grievances import services
from prakerja.grievances.attachments import ATTACHMENT_MAX_BYTES, ATTACHMENT_TYPES
from prakerja.grievances.models import Category, Complaint
from prakerja.grievances.related import RELATED_TYPES
from prakerja.grievances.selectors import (
    complaint_events,
    complaint_of_registrant,
    complaints_for_registrant,
)
from prakerja.grievances.views import next_step, status_label
from prakerja.portal.api import ErrorBody, utc
from prakerja.portal.api_params import BIGINT_MAX, ChoiceText, IntegerText
from prakerja.registration.api_tokens import me

router = Router(tags=["complaints"])

ComplaintId = Annotated[int, IntegerText(minimum=1, maximum=BIGINT_MAX)]
CategoryChoice = Annotated[str, ChoiceText(Category.values)]
RelatedType = Annotated[str | None, ChoiceText(RELATED_TYPES)]
RelatedId = Annotated[int | None, IntegerText(minimum=1, maximum=BIGINT_MAX)]
RELATED_TYPE_TEXT = "With `related_id`: what the complaint is about, one of your own."
# The attachment's part says what it is; which of these it really is the server reads from the
# bytes (a part's Content-Type is not checked: clients label files as they can).
ATTACHMENT_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "properties": {
                        "attachment": {
                            "minLength": 1,
                            "maxLength": ATTACHMENT_MAX_BYTES,
                            "description": "A JPEG or PNG photo (kept re-encoded as JPEG, without "
                            "its metadata) or a PDF, of 1 byte to 5 MB.",
                        }
                    }
                },
                "encoding": {"attachment": {"contentType": ", ".join(ATTACHMENT_TYPES)}},
            }
        }
    }
}


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
        "filed_at": utc(complaint.filed_at),
        "first_response_due_at": utc(complaint.first_response_due_at),
        "resolution_due_at": utc(complaint.resolution_due_at),
        "closed_at": utc(complaint.closed_at),
    }


@router.get(
    "/complaints",
    response={200: list[ComplaintOut], 401: ErrorBody},
    summary="My complaints",
    operation_id="complaints_list",
)
def complaints(request: HttpRequest) -> list[dict[str, Any]]:
    """The participant's complaints, newest first. Errors: 401 UNAUTHENTICATED."""
    return [_complaint(c) for c in complaints_for_registrant(me(request).pk)]


@router.get(
    "/complaints/{complaint_id}",
    response={200: ComplaintDetailOut, **dict.fromkeys((401, 404, 422), ErrorBody)},
    summary="One of my complaints",
    operation_id="complaint_get",
)
def complaint(request: HttpRequest, complaint_id: ComplaintId) -> dict[str, Any]:
    """One complaint with its steps. Errors: 401 UNAUTHENTICATED; 404 COMPLAINT_NOT_FOUND (also
    for another person's); 422 VALIDATION_FAILED for an id that is not a positive integer."""
    found = complaint_of_registrant(me(request).pk, complaint_id)
    return {
        **_complaint(found),
        "steps": [{"kind": e.kind, "at": utc(e.at)} for e in complaint_events(found.pk)],
    }


@router.post(
    "/complaints",
    response={201: ComplaintOut, **dict.fromkeys((401, 404, 409, 413, 422, 429), ErrorBody)},
    summary="File a complaint",
    operation_id="complaint_file",
    openapi_extra=ATTACHMENT_DOC,
)
def complaint_file(
    request: HttpRequest,
    # ninja's idiom (B008): a parameter's default says where it comes from.
    category: CategoryChoice = Form(...),  # noqa: B008
    text: TrimmedText = Form(..., min_length=1, max_length=services.TEXT_MAX),  # noqa: B008
    related_type: RelatedType = Form(None, description=RELATED_TYPE_TEXT),  # noqa: B008
    related_id: RelatedId = Form(None, description="With `related_type`."),  # noqa: B008
    # Not `| None`: a part is a file or is left out, never null.
    attachment: UploadedFile = File(None),  # noqa: B008 - ninja's idiom
) -> Status:
    """Multipart form: category, text, optionally related_type + related_id (one of your own
    applications, orders or entitlements) and an attachment (a JPEG/PNG photo or a PDF of 1 byte
    to 5 MB). Errors: 401 UNAUTHENTICATED; 404 COMPLAINT_RELATED_NOT_FOUND (related_type and
    related_id name nothing of yours); 409 FIELDS_DISAGREE {related: INCOMPLETE} (one of
    related_type and related_id without the other), COMPLAINT_ATTACHMENT_UNREADABLE
    {attachment: ATTACHMENT_FORMAT} (no photo or PDF could be read from it); 413
    REQUEST_TOO_LARGE (a body above the server's limit); 422 VALIDATION_FAILED naming a field that
    breaks the schema, COMPLAINT_ATTACHMENT_INVALID (details.attachment: ATTACHMENT_EMPTY,
    ATTACHMENT_TOO_LARGE); 429 RATE_LIMITED (10 complaints a day)."""
    registrant = me(request)
    filed = services.complaint_file(
        registrant=registrant,
        category=category,
        text=text,
        related_type=related_type or "",
        related_id=related_id,
        attachment=attachment.read(ATTACHMENT_MAX_BYTES + 1) if attachment else None,
        attachment_name=attachment.name or "" if attachment else "",
        actor=Actor.participant(registrant.pk),
    )
    return Status(201, _complaint(filed))
