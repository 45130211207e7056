"""Back office for events sent to partners: every event with its delivery attempts (what the
partner's endpoint answered), read-only, and a "retry now" action for events that were given up or
are waiting for their next try. Registered from PartnersConfig.ready()."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.partners.delivery import events_retry_now
from prakerja.partners.models import DeliveryAttempt, OutboundEvent


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    ordering = ("-attempted_at", "-pk")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DeliveryState(admin.SimpleListFilter):
    title = "status pengiriman / delivery state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [
            ("pending", "Menunggu / Waiting"),
            ("delivered", "Terkirim / Delivered"),
            ("gave_up", "Dihentikan / Given up"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[OutboundEvent]
    ) -> QuerySet[OutboundEvent]:
        if self.value() == "pending":
            return queryset.filter(delivered_at__isnull=True, gave_up_at__isnull=True)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "gave_up":
            return queryset.filter(gave_up_at__isnull=False)
        return queryset


class OutboundEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "partner",
        "event_type",
        "subject",
        "created_at",
        "delivered_at",
        "attempts",
        "next_attempt_at",
        "gave_up_at",
    )
    list_filter = (DeliveryState, "event_type", "partner")
    list_select_related = ("partner",)
    search_fields = ("=subject", "event_type", "partner__code")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    fields = (
        "partner",
        "event_type",
        "subject",
        "webhook_id",
        "payload",
        "created_at",
        "delivered_at",
        "attempts",
        "next_attempt_at",
        "gave_up_at",
    )
    readonly_fields = fields
    inlines = (DeliveryAttemptInline,)
    actions = ("retry_now",)

    @admin.display(description="webhook-id")
    def webhook_id(self, event: OutboundEvent) -> str:
        return event.webhook_id

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("partners.change_outboundevent")

    @admin.action(
        description="Kirim ulang sekarang / Retry now (given-up or waiting events)",
        permissions=["retry"],
    )
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboundEvent]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = events_retry_now(event_ids=ids, actor=Actor.for_user(request.user))
        skipped = len(ids) - count
        text = f"{count} event dijadwalkan ulang sekarang / {count} event(s) due now."
        if skipped:
            text += f" {skipped} sudah terkirim, dilewati / {skipped} already delivered, skipped."
        self.message_user(request, text, messages.SUCCESS if count else messages.WARNING)


admin.site.register(OutboundEvent, OutboundEventAdmin)
