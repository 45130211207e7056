from django.contrib import admin

from prakerja.audit.models import AuditEvent
from prakerja.common.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "event_type", "actor_label", "subject_type", "subject_id")
    list_filter = ("event_type", "actor_kind")
    search_fields = ("event_type", "actor_label", "subject_id")
    date_hierarchy = "occurred_at"
