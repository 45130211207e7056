"""Back office for partners: who they are, their status and how many signing secrets are live.
A secret is never displayed here (nor its ciphertext): partners are created and their secrets
rotated with `prakerja partners …`; suspension and reactivation are admin actions through
`partner_status_set`, with the reason typed beside the action menu. (The events' admin is
partners/admin_events.py.)"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.errors import ApplicationError
from prakerja.partners.models import Partner, PartnerSecret, PartnerStatus
from prakerja.partners.services import partner_status_set


class StatusActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        max_length=300,
        label="Reason / Alasan",
        widget=forms.TextInput(attrs={"size": 50}),
    )


class SecretInline(admin.TabularInline):
    """When each secret was added and retired; never the secret."""

    model = PartnerSecret
    fields = ("id", "created_at", "retired_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "pk")
    verbose_name_plural = "Signing secrets (never shown; rotate with `prakerja partners rotate`)"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _set_status(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Partner], status: str
) -> None:
    reason = request.POST.get("reason", "").strip() or "admin"
    actor = Actor.for_user(request.user)
    changed = 0
    for partner in queryset.order_by("pk"):
        if partner.status == status:
            continue
        try:
            partner_status_set(partner=partner, status=status, reason=reason, actor=actor)
        except ApplicationError as error:
            modeladmin.message_user(
                request, f"{partner.code}: {error.code} — {error.message('en')}", messages.ERROR
            )
        else:
            changed += 1
    modeladmin.message_user(request, f"{changed} partner(s) now {status}.", messages.SUCCESS)


@admin.action(description="Suspend (every call refused with 403)", permissions=["manage"])
def suspend(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _set_status(modeladmin, request, queryset, PartnerStatus.SUSPENDED)


@admin.action(description="Activate (calls accepted again)", permissions=["manage"])
def activate(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _set_status(modeladmin, request, queryset, PartnerStatus.ACTIVE)


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "status",
        "live_secrets",
        "rate_limit_per_minute",
        "webhook_url",
        "created_at",
    )
    list_filter = ("kind", "status")
    search_fields = ("code", "name")
    ordering = ("code",)
    fields = (
        "code",
        "name",
        "kind",
        "status",
        "live_secrets",
        "rate_limit_per_minute",
        "webhook_url",
        "created_at",
    )
    readonly_fields = fields
    inlines = [SecretInline]
    action_form = StatusActionForm
    actions = [suspend, activate]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_live=Count("secrets", filter=Q(secrets__retired_at__isnull=True)))
        )

    def has_manage_permission(self, request: HttpRequest) -> bool:
        # "change" is refused to everyone (only services change partners): ask the permission.
        return request.user.has_perm("partners.change_partner")

    @admin.display(description="Live secrets", ordering="n_live")
    def live_secrets(self, partner: Partner) -> int:
        return partner.n_live  # type: ignore[attr-defined]
