from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from prakerja.common.actors import Actor
from prakerja.common.money import format_rupiah
from prakerja.waves.models import ProgramScheme
from prakerja.waves.services import scheme_save


@admin.register(ProgramScheme)
class ProgramSchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active", "training", "incentives", "surveys", "maximum")
    fieldsets = (
        (None, {"fields": ("code", "name", "is_active")}),
        (
            "Training balance",
            {
                "fields": (
                    "training_balance_idr",
                    "first_purchase_window_days",
                    "balance_expiry_date",
                )
            },
        ),
        (
            "Incentives",
            {
                "fields": (
                    "incentive_monthly_idr",
                    "incentive_months",
                    "survey_incentive_idr",
                    "survey_count",
                )
            },
        ),
        (
            "Capacity and limits",
            {
                "fields": (
                    "wave_quota",
                    "daily_disbursement_capacity",
                    "max_participants_per_family",
                    "min_age_years",
                )
            },
        ),
    )

    @admin.display(description="Training balance")
    def training(self, scheme: ProgramScheme) -> str:
        return format_rupiah(scheme.training_balance_idr)

    @admin.display(description="Incentives")
    def incentives(self, scheme: ProgramScheme) -> str:
        return f"{scheme.incentive_months} × {format_rupiah(scheme.incentive_monthly_idr)}"

    @admin.display(description="Surveys")
    def surveys(self, scheme: ProgramScheme) -> str:
        return f"{scheme.survey_count} × {format_rupiah(scheme.survey_incentive_idr)}"

    @admin.display(description="Maximum per participant")
    def maximum(self, scheme: ProgramScheme) -> str:
        return format_rupiah(scheme.max_per_participant_idr)

    def save_model(self, request: HttpRequest, obj: ProgramScheme, form: Any, change: bool) -> None:
        scheme_save(scheme=obj, actor=Actor.for_user(request.user))

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # waves and money refer to schemes; retire one by activating another
