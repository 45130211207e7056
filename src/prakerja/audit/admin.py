from django.contrib import admin
from django.http import HttpRequest

from prakerja.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "event_type", "actor_label", "subject_type", "subject_id")
    list_filter = ("event_type", "actor_kind")
    search_fields = ("event_type", "actor_label", "subject_id")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
