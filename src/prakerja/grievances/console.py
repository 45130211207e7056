"""The support console's own pages for a complaint, wired into the admin by grievances/admin.py:
triage, assign, resolve and reject (each a POST that calls one service with the operator as actor
and comes back to the complaint with what it did, or the refusal's code and message, nothing
changed), and the attachment. Every step needs grievances.change_complaint, not only the view right.
"""

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import NoReverseMatch, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.common.form_text import multi_line_text
from prakerja.common.timeutil import format_wib
from prakerja.grievances import services
from prakerja.grievances.models import Complaint, Priority, RejectReason
from prakerja.grievances.selectors import Timer, complaint_attachment, handlers

CHANGE = services.HANDLER_PERMISSION
STEP_LABELS = {
    "triage": gettext_lazy("Triage"),
    "assign": gettext_lazy("Assign"),
    "resolve": gettext_lazy("Resolve"),
    "reject": gettext_lazy("Reject"),
}


def may_handle(request: HttpRequest) -> bool:
    return request.user.has_perm(CHANGE)


def wib(moment: datetime.datetime | None) -> str:
    return format_wib(moment, language=get_language() or "id") if moment else "—"


def refusal(error: ApplicationError) -> str:
    text = f"{error.code} — {error.message(get_language() or 'id')}"
    if error.details:
        text += " (" + "; ".join(f"{key}: {value}" for key, value in error.details.items()) + ")"
    return text


def duration(delta: datetime.timedelta) -> str:
    """'2 d 3 h', '5 h 20 min', '12 min' (whole minutes, rounded down)."""
    minutes = int(abs(delta).total_seconds()) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def timer_text(timer: Timer) -> str:
    if timer.left is None or timer.due is None:
        return "—"
    clock = _("first response") if timer.clock == "first_response" else _("resolution")
    if timer.overdue:
        return _("%(clock)s overdue by %(time)s (due %(due)s)") % {
            "clock": clock,
            "time": duration(timer.left),
            "due": wib(timer.due),
        }
    return _("%(clock)s: %(time)s left (due %(due)s)") % {
        "clock": clock,
        "time": duration(timer.left),
        "due": wib(timer.due),
    }


def participant_url(registrant_id: int) -> str:
    """The participant's record in the console, once that page exists (else no link)."""
    try:
        return reverse("console_lookup:timeline", kwargs={"registrant_id": registrant_id})
    except NoReverseMatch:
        return ""


# --- forms -------------------------------------------------------------------------------------


class TriageForm(forms.Form):
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), choices=Priority.choices)
    note = forms.CharField(
        validators=[multi_line_text],
        label=gettext_lazy("Internal note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    # An id, not a model choice: whom a complaint may go to is the service's rule, refused there.
    assignee = forms.IntegerField(label=gettext_lazy("Assign to"), widget=forms.Select)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].widget.choices = [
            (user.pk, user.get_username()) for user in handlers()
        ]


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        validators=[multi_line_text],
        label=gettext_lazy("Resolution (shown to the participant)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class RejectForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=RejectReason.choices)
    duplicate_of = forms.IntegerField(
        label=gettext_lazy("Duplicate of complaint #"), required=False, min_value=1
    )
    explanation = forms.CharField(
        validators=[multi_line_text],
        label=gettext_lazy("Explanation (shown to the participant)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def action_forms(complaint: Complaint) -> dict[str, forms.Form]:
    """The forms of the steps the complaint's status allows (services.TRANSITIONS)."""
    allowed = services.TRANSITIONS[complaint.status]
    shown: dict[str, forms.Form] = {}
    if "triaged" in allowed:
        shown["triage"] = TriageForm(initial={"priority": complaint.priority})
    if "assigned" in allowed:
        shown["assign"] = AssignForm(auto_id="id_assign_%s")
    if "resolved" in allowed:
        shown["resolve"] = ResolveForm()
    if "rejected" in allowed:
        shown["reject"] = RejectForm(auto_id="id_reject_%s")
    return shown


# --- views -------------------------------------------------------------------------------------


def _complaint_url(complaint_id: int) -> str:
    return reverse("admin:grievances_complaint_change", args=[complaint_id])


def _complaint_or_404(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> Complaint:
    complaint = model_admin.get_object(request, unquote(object_id))
    if complaint is None:
        raise Http404(_("There is no complaint with id %(id)s.") % {"id": object_id})
    return complaint


def _form_refusal(form: forms.Form) -> str:
    return "; ".join(
        f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
    )


def step_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str, step: str
) -> HttpResponseBase:
    """POST of one step's form → its service → back to the complaint with a message."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not may_handle(request):
        raise PermissionDenied
    complaint = _complaint_or_404(model_admin, request, object_id)
    form_class = {
        "triage": TriageForm,
        "assign": AssignForm,
        "resolve": ResolveForm,
        "reject": RejectForm,
    }[step]
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing changed: %(errors)s") % {"errors": _form_refusal(form)})
        return HttpResponseRedirect(_complaint_url(complaint.pk))
    data = form.cleaned_data
    actor = Actor.for_user(request.user)
    try:
        if step == "triage":
            done = services.complaint_triage(
                complaint=complaint, priority=data["priority"], note=data["note"], actor=actor
            )
            text = _("Complaint #%(id)d triaged: priority %(priority)s, resolution due %(due)s.")
            params = {
                "id": done.pk,
                "priority": done.get_priority_display(),
                "due": wib(done.resolution_due_at),
            }
        elif step == "assign":
            done = services.complaint_assign(
                complaint=complaint, assignee_id=data["assignee"], actor=actor
            )
            text = _("Complaint #%(id)d assigned to %(user)s.")
            params = {"id": done.pk, "user": done.assignee.get_username() if done.assignee else ""}
        elif step == "resolve":
            done = services.complaint_resolve(
                complaint=complaint, resolution=data["resolution"], actor=actor
            )
            text = _("Complaint #%(id)d resolved.")
            params = {"id": done.pk}
        else:
            done = services.complaint_reject(
                complaint=complaint,
                reason=data["reason"],
                duplicate_of_id=data["duplicate_of"],
                explanation=data["explanation"],
                actor=actor,
            )
            text = _("Complaint #%(id)d rejected: %(reason)s.")
            params = {"id": done.pk, "reason": done.get_reject_reason_display()}
    except ApplicationError as error:
        messages.error(request, _("Nothing changed: %(refusal)s") % {"refusal": refusal(error)})
    else:
        messages.success(request, text % params)
    return HttpResponseRedirect(_complaint_url(complaint.pk))


def attachment_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponseBase:
    complaint = _complaint_or_404(model_admin, request, object_id)
    if not model_admin.has_view_permission(request, complaint):
        raise PermissionDenied
    return attachment_response(complaint.pk)


def attachment_response(complaint_id: int) -> HttpResponse:
    """The stored attachment: photos inline, a PDF only as a download (never rendered in the
    console's origin), never sniffed as anything else."""
    found = complaint_attachment(complaint_id)
    if found is None:
        raise Http404(_("This complaint has no attachment."))
    data, name, content_type = found
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(not content_type.startswith("image/"), name) or ""
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def assign_to_me(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    """The list's action: each selected complaint to the operator, one service call each; the
    refused ones are named with their reason and stay as they were."""
    if not may_handle(request):
        raise PermissionDenied
    actor = Actor.for_user(request.user)
    assigned = 0
    for complaint in queryset.order_by("pk"):
        try:
            services.complaint_assign(
                complaint=complaint, assignee_id=int(request.user.pk or 0), actor=actor
            )
        except ApplicationError as error:
            messages.error(
                request,
                _("Complaint #%(id)d not assigned: %(refusal)s")
                % {"id": complaint.pk, "refusal": refusal(error)},
            )
        else:
            assigned += 1
    if assigned:
        messages.success(
            request,
            ngettext(
                "%(count)d complaint assigned to you.",
                "%(count)d complaints assigned to you.",
                assigned,
            )
            % {"count": assigned},
        )
