from django.contrib import admin

from prakerja.common.admin import ReadOnlyAdmin
from prakerja.registration import admin_exclusions  # noqa: F401 - registers the exclusion-list admin
from prakerja.registration.models import Registrant, VerificationStep


class StepInline(admin.TabularInline):
    model = VerificationStep
    fields = ("at", "layer", "outcome", "reason", "details")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at",)

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Registrant)
class RegistrantAdmin(ReadOnlyAdmin):
    """Operators read registrants here; layers change only through the services. The NIK shows
    masked (its last four digits); look-up by full NIK comes with the console (issue 9)."""

    list_display = (
        "id",
        "masked_nik",
        "full_name",
        "province_code",
        "created_at",
        "email_status",
        "nik_status",
        "phone_status",
        "eligibility_status",
        "face_status",
    )
    list_filter = (
        "email_status",
        "nik_status",
        "phone_status",
        "eligibility_status",
        "face_status",
        "province_code",
    )
    search_fields = ("=email", "=phone", "=nik_last4")
    exclude = ("password", "nik_encrypted", "nik_index", "kk_index")
    inlines = [StepInline]
    date_hierarchy = "created_at"

    @admin.display(description="NIK")
    def masked_nik(self, registrant: Registrant) -> str:
        return f"************{registrant.nik_last4}"
