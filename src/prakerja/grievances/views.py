"""The participant's complaint pages under /pengaduan/: their complaints with each one's status and
what happens next, the form to file one, a complaint's page with its steps and answer, and its
attachment. Only the signed-in registrant's own complaints exist here: another's is a 404."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.grievances import services
from prakerja.grievances.attachments import ATTACHMENT_MAX_BYTES
from prakerja.grievances.console import attachment_response, wib
from prakerja.grievances.errors import ComplaintAttachmentInvalid, ComplaintNotFound
from prakerja.grievances.forms import CATEGORY_LABELS, ComplaintForm
from prakerja.grievances.models import Complaint, EventKind, Status
from prakerja.grievances.related import related_label, related_of_registrant
from prakerja.grievances.selectors import (
    complaint_events,
    complaint_of_registrant,
    complaints_for_registrant,
)
from prakerja.portal.account_views import registrant_required
from prakerja.registration.field_errors import field_error_text
from prakerja.registration.models import Registrant

FIELD_MESSAGES = {
    "TOO_LONG": gettext_lazy("This text is too long: at most 4000 characters."),
    "NOT_FOUND": gettext_lazy("Choose one of your own items from the list."),
    "INCOMPLETE": gettext_lazy("Choose one of your own items from the list."),
    "ATTACHMENT_TOO_LARGE": gettext_lazy("The file is larger than 5 MB."),
    "ATTACHMENT_EMPTY": gettext_lazy("The file is empty."),
    "ATTACHMENT_FORMAT": gettext_lazy("The file must be a JPEG or PNG photo, or a PDF."),
}
# The form's field for each field a refusal names.
REFUSED_FIELDS = {"related": "related", "text": "text", "category": "category"}


def _language() -> str:
    return get_language() or "id"


def status_label(status: str) -> str:
    return str(
        {
            Status.NEW: _("Received"),
            Status.TRIAGED: _("Being checked"),
            Status.ASSIGNED: _("Being handled by an officer"),
            Status.RESOLVED: _("Resolved"),
            Status.REJECTED: _("Closed"),
        }[Status(status)]
    )


def next_step(complaint: Complaint) -> str:
    """What happens next, in the participant's words, with the promised time."""
    if complaint.status == Status.NEW:
        return _("Our support team will look at your complaint by %(when)s.") % {
            "when": wib(complaint.first_response_due_at)
        }
    if complaint.status == Status.TRIAGED:
        return _(
            "Your complaint has been checked and goes to an officer. You get an answer by %(when)s."
        ) % {"when": wib(complaint.resolution_due_at)}
    if complaint.status == Status.ASSIGNED:
        return _("An officer is working on your complaint. You get an answer by %(when)s.") % {
            "when": wib(complaint.resolution_due_at)
        }
    if complaint.status == Status.RESOLVED:
        return _("Resolved on %(when)s. The answer is below.") % {"when": wib(complaint.closed_at)}
    if complaint.reject_reason == "duplicate" and complaint.duplicate_of_id:
        return _(
            "Closed on %(when)s: it is the same as your complaint #%(other)d, which is "
            "handled instead."
        ) % {"when": wib(complaint.closed_at), "other": complaint.duplicate_of_id}
    return _("Closed on %(when)s: %(reason)s.") % {
        "when": wib(complaint.closed_at),
        "reason": complaint.get_reject_reason_display(),
    }


def _shown(complaint: Complaint) -> dict[str, Any]:
    return {
        "complaint": complaint,
        "category": CATEGORY_LABELS[complaint.category],
        "status": status_label(complaint.status),
        "next": next_step(complaint),
    }


def _refusal(form: ComplaintForm, error: ApplicationError) -> None:
    """A refused field next to the field; anything else at the top of the form."""
    details = (
        error.details if isinstance(error, ValidationFailed | ComplaintAttachmentInvalid) else {}
    )
    placed = False
    for key, code in details.items():
        field = "attachment" if key == "attachment" else REFUSED_FIELDS.get(key)
        if field and field in form.fields:
            text = FIELD_MESSAGES.get(str(code))
            form.add_error(field, str(text) if text else field_error_text(code, _language()))
            placed = True
    if not placed:
        form.add_error(None, error.message(_language()))


@registrant_required
def complaint_list(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    shown = [_shown(c) for c in complaints_for_registrant(registrant.pk)]
    return render(request, "grievances/list.html", {"complaints": shown})


@registrant_required
def complaint_new(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    related = related_of_registrant(registrant.pk)
    # A page that sends the person here may say what the complaint is about (?category=…).
    initial = {"category": request.GET.get("category", "")}
    form = ComplaintForm(
        request.POST or None, request.FILES or None, related=related, initial=initial
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data.get("attachment")
            related_type, related_id = form.related_ref()
            try:
                complaint = services.complaint_file(
                    registrant=registrant,
                    category=form.cleaned_data["category"],
                    text=form.cleaned_data["text"],
                    related_type=related_type,
                    related_id=related_id,
                    attachment=upload.read(ATTACHMENT_MAX_BYTES + 1) if upload else None,
                    attachment_name=upload.name if upload else "",
                    actor=Actor.participant(registrant.pk),
                )
            except ApplicationError as error:
                _refusal(form, error)
            else:
                messages.success(
                    request,
                    _("Your complaint #%(id)d is received. %(next)s")
                    % {"id": complaint.pk, "next": next_step(complaint)},
                )
                return redirect("grievances:detail", complaint_id=complaint.pk)
        status = 422
    return render(request, "grievances/new.html", {"form": form}, status=status)


def _own(registrant: Registrant, complaint_id: int) -> Complaint:
    try:
        return complaint_of_registrant(registrant.pk, complaint_id)
    except ComplaintNotFound:
        raise Http404(ComplaintNotFound().message(_language())) from None


@registrant_required
def complaint_detail(
    request: HttpRequest, registrant: Registrant, complaint_id: int
) -> HttpResponse:
    complaint = _own(registrant, complaint_id)
    # The participant sees the steps, not which operator took them (nor internal notes).
    steps = [
        {"kind": event.kind, "label": _step_label(event.kind), "at": event.at}
        for event in complaint_events(complaint.pk)
    ]
    context = {
        **_shown(complaint),
        "steps": steps,
        "related": related_label(registrant.pk, complaint.related_type, complaint.related_id),
    }
    return render(request, "grievances/detail.html", context)


def _step_label(kind: str) -> str:
    return str(
        {
            EventKind.FILED: _("Complaint sent"),
            EventKind.TRIAGED: _("Checked by support"),
            EventKind.ASSIGNED: _("Handed to an officer"),
            EventKind.RESOLVED: _("Resolved"),
            EventKind.REJECTED: _("Closed"),
        }[EventKind(kind)]
    )


@registrant_required
def complaint_attachment(
    request: HttpRequest, registrant: Registrant, complaint_id: int
) -> HttpResponseBase:
    complaint = _own(registrant, complaint_id)
    return attachment_response(complaint.pk)
