"""Support console for complaints: the list with each complaint's service-level clock (time left or
overdue, WIB), filters (status, category, priority, overdue, assigned to me), and a complaint's page
with its history and the step forms (grievances/console.py), each calling one service.

Nothing is edited through the admin's generic form: a complaint moves only through the services.
The participant appears as a registrant id linking to their record in the console (no NIK here).
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from prakerja.common import clock
from prakerja.grievances import console
from prakerja.grievances.models import Complaint
from prakerja.grievances.related import related_label
from prakerja.grievances.selectors import (
    complaint_events,
    complaint_timer,
    complaints_on_time,
    complaints_overdue,
)


class OverdueFilter(admin.SimpleListFilter):
    title = _("service level")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("overdue", _("Overdue")), ("on_time", _("Open, on time"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "overdue":
            return complaints_overdue(queryset)
        if self.value() == "on_time":
            return complaints_on_time(queryset)
        return queryset


class AssignedToMeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Assigned to me")), ("nobody", _("Not assigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(assignee_id=request.user.pk)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "filed_time",
        "category",
        "status",
        "priority",
        "assignee",
        "sla_timer",
        "participant",
    )
    list_filter = ("status", "category", "priority", OverdueFilter, AssignedToMeFilter)
    list_select_related = ("assignee",)
    ordering = ("resolution_due_at", "pk")
    search_fields = ("=id", "=registrant__id")
    actions = ("assign_to_me",)
    fields = (
        "participant",
        "category",
        "related",
        "text",
        "attachment_link",
        "status",
        "priority",
        "assignee",
        "filed_time",
        "triaged_time",
        "assigned_time",
        "closed_time",
        "first_response_due",
        "resolution_due",
        "sla_timer",
        "resolution",
        "reject_reason",
        "duplicate_of",
    )
    readonly_fields = fields
    change_form_template = "admin/grievances/complaint/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("attachment")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # participants file complaints; the console only handles them

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The generic form would save a complaint past its services; the steps have their pages
        # (console.step_view), which check grievances.change_complaint themselves.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        steps = [
            path(
                f"<path:object_id>/{step}/",
                wrap(
                    lambda request, object_id, step=step: console.step_view(
                        self, request, object_id, step
                    )
                ),
                name=f"grievances_complaint_{step}",
            )
            for step in ("triage", "assign", "resolve", "reject")
        ]
        attachment = path(
            "<path:object_id>/attachment/",
            wrap(lambda request, object_id: console.attachment_view(self, request, object_id)),
            name="grievances_complaint_attachment",
        )
        return [*steps, attachment, *super().get_urls()]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not console.may_handle(request):
            actions.pop("assign_to_me", None)
        return actions

    @admin.action(description=_("Assign selected complaints to me"))
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        console.assign_to_me(self, request, queryset)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        complaint = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if complaint is not None and self.has_view_permission(request, complaint):
            extra["complaint"] = complaint
            extra["events"] = complaint_events(complaint.pk)
            extra["may_handle"] = console.may_handle(request)
            if extra["may_handle"]:
                extra["steps"] = [
                    {
                        "name": step,
                        "form": form,
                        "url": reverse(f"admin:grievances_complaint_{step}", args=[complaint.pk]),
                        "label": console.STEP_LABELS[step],
                    }
                    for step, form in console.action_forms(complaint).items()
                ]
        return super().change_view(request, object_id, form_url, extra)

    # --- columns -------------------------------------------------------------------------------

    @admin.display(description=_("complaint"), ordering="pk")
    def number(self, complaint: Complaint) -> str:
        return f"#{complaint.pk}"

    @admin.display(description=_("participant"), ordering="registrant_id")
    def participant(self, complaint: Complaint) -> str:
        label = _("Registrant #%(id)d") % {"id": complaint.registrant_id}
        url = console.participant_url(complaint.registrant_id)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description=_("service-level clock"), ordering="resolution_due_at")
    def sla_timer(self, complaint: Complaint) -> str:
        timer = complaint_timer(complaint, clock.now())
        text = console.timer_text(timer)
        if timer.overdue:
            return format_html('<strong class="sla-overdue">{}</strong>', text)
        return text

    @admin.display(description=_("about"))
    def related(self, complaint: Complaint) -> str:
        if not complaint.related_type:
            return "—"
        label = related_label(complaint.registrant_id, complaint.related_type, complaint.related_id)
        return f"{complaint.related_type} #{complaint.related_id}" + (
            f" — {label}" if label else ""
        )

    @admin.display(description=_("attachment"))
    def attachment_link(self, complaint: Complaint) -> str:
        if not complaint.attachment_type:
            return "—"
        url = reverse("admin:grievances_complaint_attachment", args=[complaint.pk])
        return format_html(
            '<a href="{}" id="attachment-link">{}</a> ({})',
            url,
            complaint.attachment_name,
            complaint.attachment_type,
        )

    @admin.display(description=_("filed (WIB)"), ordering="filed_at")
    def filed_time(self, complaint: Complaint) -> str:
        return console.wib(complaint.filed_at)

    @admin.display(description=_("triaged (WIB)"))
    def triaged_time(self, complaint: Complaint) -> str:
        return console.wib(complaint.triaged_at)

    @admin.display(description=_("assigned (WIB)"))
    def assigned_time(self, complaint: Complaint) -> str:
        return console.wib(complaint.assigned_at)

    @admin.display(description=_("closed (WIB)"))
    def closed_time(self, complaint: Complaint) -> str:
        return console.wib(complaint.closed_at)

    @admin.display(description=_("first response due (WIB)"))
    def first_response_due(self, complaint: Complaint) -> str:
        return console.wib(complaint.first_response_due_at)

    @admin.display(description=_("resolution due (WIB)"))
    def resolution_due(self, complaint: Complaint) -> str:
        return console.wib(complaint.resolution_due_at)
