"""The audit-log viewer: filters by event type, actor kind, actor, subject type and a date range
(WIB), search by subject id or actor label, each event's details as JSON, and the filtered list as
CSV. Open to whoever holds console.view_audit_log (the auditor, the program admin), not only to the
holders of the model's own view permission."""

import csv
import datetime
import json
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from prakerja.audit.models import AuditEvent
from prakerja.common import clock
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.timeutil import WIB, format_wib

AUDIT_LOG = "console.view_audit_log"
CSV_COLUMNS = (
    "occurred_at_utc",
    "event_type",
    "actor_kind",
    "actor_id",
    "actor_label",
    "subject_type",
    "subject_id",
    "details",
)


class InputFilter(admin.ListFilter):
    """A filter typed into boxes (an actor, dates) rather than picked from a list: the audit log
    has too many actors to list them."""

    template = "admin/audit/input_filter.html"
    inputs: tuple[tuple[str, Any, str], ...] = ()  # (parameter, label, input type)

    def __init__(
        self, request: HttpRequest, params: dict[str, list[str]], model: Any, model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        for name, _label, _kind in self.inputs:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1].strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [name for name, _label, _kind in self.inputs]

    def value(self, name: str) -> str:
        return str(self.used_parameters.get(name) or "")

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        mine = {name for name, _label, _kind in self.inputs}
        yield {
            "inputs": [
                {
                    "name": name,
                    "label": label,
                    "type": kind,
                    "value": self.value(name),
                }
                for name, label, kind in self.inputs
            ],
            "kept": [(k, v) for k, v in changelist.params.items() if k not in mine and k != "p"],
            "clear_url": changelist.get_query_string(remove=list(mine)),
            "active": any(self.value(name) for name in mine),
        }


class ActorFilter(InputFilter):
    title = _("actor")
    inputs = (("actor", _("Actor label (e.g. user:admin)"), "text"),)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value("actor")
        return queryset.filter(actor_label=value) if value else queryset


def _date(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


class OccurredFilter(InputFilter):
    title = _("date (WIB)")
    inputs = (("occurred_from", _("From"), "date"), ("occurred_to", _("To"), "date"))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        first = _date(self.value("occurred_from"))
        last = _date(self.value("occurred_to"))
        if first:
            queryset = queryset.filter(
                occurred_at__gte=datetime.datetime.combine(first, datetime.time.min, WIB)
            )
        if last:
            queryset = queryset.filter(
                occurred_at__lt=datetime.datetime.combine(
                    last + datetime.timedelta(days=1), datetime.time.min, WIB
                )
            )
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred", "event_type", "actor_label", "subject_type", "subject_id")
    list_filter = (
        "event_type",
        "actor_kind",
        ActorFilter,
        "subject_type",
        OccurredFilter,
    )
    search_fields = ("=subject_id", "actor_label")
    search_help_text = _("Subject id (exact) or actor label.")
    show_full_result_count = False  # a large, ever-growing table: no second COUNT per page
    fields = (
        "occurred",
        "event_type",
        "actor_kind",
        "actor_id",
        "actor_label",
        "subject_type",
        "subject_id",
        "details_json",
    )
    readonly_fields = fields
    change_list_template = "admin/audit/auditevent/change_list.html"

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(AUDIT_LOG)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or request.user.has_perm(AUDIT_LOG)

    @admin.display(description=_("Time (WIB)"), ordering="occurred_at")
    def occurred(self, event: AuditEvent) -> str:
        return format_wib(event.occurred_at, language=get_language() or "id")

    @admin.display(description=_("Details"))
    def details_json(self, event: AuditEvent) -> str:
        return format_html(
            "<pre id='audit-details'>{}</pre>",
            json.dumps(event.details, indent=2, ensure_ascii=False, sort_keys=True),
        )

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_view),
            name="audit_auditevent_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        query = request.GET.urlencode()
        export_url = reverse("admin:audit_auditevent_export") + (f"?{query}" if query else "")
        return super().changelist_view(request, {**(extra_context or {}), "export_url": export_url})

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The list as filtered and searched on screen, every page of it, as CSV (UTC times)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        events = self.get_changelist_instance(request).queryset

        class Echo:
            def write(self, value: str) -> str:
                return value

        writer = csv.writer(Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for event in events.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        event.occurred_at.astimezone(datetime.UTC).isoformat(),
                        event.event_type,
                        event.actor_kind,
                        "" if event.actor_id is None else event.actor_id,
                        event.actor_label,
                        event.subject_type,
                        event.subject_id,
                        json.dumps(event.details, ensure_ascii=False, sort_keys=True),
                    ]
                )

        today = clock.today().isoformat()
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{today}.csv"'
        return response
