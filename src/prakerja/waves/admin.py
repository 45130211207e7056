"""Back office for program schemes, waves, participants and priority lists.

A wave is created through `wave_create` and changes status only through the wave services: its page
offers the transitions its status allows, each a small form posting to a view that calls one
service. Waves are never edited field by field nor deleted.
"""

import datetime
import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import format_wib
from prakerja.waves.inputs import selection_inputs_chunks
from prakerja.waves.models import (
    ApplicationOutcome,
    Participant,
    ParticipantStatus,
    PriorityEntry,
    ProgramScheme,
    Wave,
    WaveApplication,
    WaveStatus,
)
from prakerja.waves.services import (
    scheme_save,
    wave_create,
)
from prakerja.waves.wave_actions import ACTIONS, WaveCreateForm, actions_offered

ADD_TEMPLATE = "admin/waves/wave/add.html"
DRAWN = (WaveStatus.SELECTED, WaveStatus.ANNOUNCED)


def _wib(moment: datetime.datetime | None) -> str:
    return format_wib(moment, language="en") if moment else "—"


def refusal_text(error: ApplicationError) -> str:
    """An operator's error line: the stable code, the message in Indonesian and English, and the
    details (for a ValidationFailed they name the fields, which the messages do not)."""
    text = f"{error.code} — {error.message('id')} / {error.message('en')}"
    if error.details:
        text += " (" + "; ".join(f"{key}: {value}" for key, value in error.details.items()) + ")"
    return text


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
                    "rating_min_reviews",
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


def _count(**filters: Any) -> Coalesce:
    # A correlated subquery is evaluated only for the waves on the page, not for every wave.
    counted = (
        WaveApplication.objects.filter(wave=OuterRef("pk"), **filters)
        .order_by()
        .values("wave")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@admin.register(Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "status",
        "quota",
        "quota_freed",
        "opens",
        "closes",
        "applications",
        "selected",
        "credited",
    )
    list_filter = ("status",)
    ordering = ("-number",)
    change_form_template = "admin/waves/wave/change_form.html"
    fields = (
        "number",
        "scheme",
        "status",
        "quota",
        "quota_freed",
        "opens",
        "closes",
        "province_quotas",
        "priority_order",
        "verification",
        "seed_commitment",
        "revealed_seed",
        "selected_time",
        "credited_time",
        "carried_into",
        "created",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Wave]:
        return (
            super()
            .get_queryset(request)
            .select_related("scheme")
            .annotate(
                applications_count=_count(),
                selected_count=_count(outcome=ApplicationOutcome.SELECTED),
            )
        )

    # Status and settings change only through the services; a wave is history, never deleted.
    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def may_act(self, request: HttpRequest) -> bool:
        # The admin refuses "change" to everyone (see above), so ask the permission itself.
        return request.user.has_perm("waves.change_wave")

    @admin.display(description="Opens (WIB)", ordering="opens_at")
    def opens(self, wave: Wave) -> str:
        return _wib(wave.opens_at)

    @admin.display(description="Closes (WIB)", ordering="closes_at")
    def closes(self, wave: Wave) -> str:
        return _wib(wave.closes_at)

    @admin.display(description="Applications", ordering="applications_count")
    def applications(self, wave: Wave) -> int:
        return wave.applications_count  # type: ignore[attr-defined]

    @admin.display(description="Selected", ordering="selected_count")
    def selected(self, wave: Wave) -> int:
        return wave.selected_count  # type: ignore[attr-defined]

    @admin.display(description="Credited", boolean=True)
    def credited(self, wave: Wave) -> bool:
        return wave.credited_at is not None

    @admin.display(description="Revealed seed")
    def revealed_seed(self, wave: Wave) -> str:
        if wave.status in DRAWN and wave.seed:
            return wave.seed
        return "— (secret until the draw)"

    @admin.display(description="Drawn (WIB)")
    def selected_time(self, wave: Wave) -> str:
        return _wib(wave.selected_at)

    @admin.display(description="Fully credited (WIB)")
    def credited_time(self, wave: Wave) -> str:
        return _wib(wave.credited_at)

    @admin.display(description="Created (WIB)")
    def created(self, wave: Wave) -> str:
        return _wib(wave.created_at)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        prefix = f"{opts.app_label}_{opts.model_name}"
        own = [
            path(
                "<path:object_id>/inputs.json",
                self.admin_site.admin_view(self.inputs_view),
                name=f"{prefix}_inputs",
            ),
            *(
                path(
                    f"<path:object_id>/{name}/",
                    self.admin_site.admin_view(self.action_view),
                    {"action": name},
                    name=f"{prefix}_{name}",
                )
                for name in ACTIONS
            ),
        ]
        return [*own, *super().get_urls()]

    def _wave(self, request: HttpRequest, object_id: str) -> Wave:
        wave = self.get_object(request, unquote(object_id))
        if wave is None:
            raise Http404(f"There is no wave with id {object_id}.")
        return wave

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = WaveCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                wave = wave_create(**form.cleaned_data, actor=Actor.for_user(request.user))
            except ValidationFailed as error:
                for field, code in error.details.items():
                    form.add_error(field if field in form.fields else None, str(code))
                form.add_error(None, refusal_text(ValidationFailed()))
            except ApplicationError as error:
                form.add_error(None, refusal_text(error))
            else:
                messages.success(request, f"{wave} created as a draft.")
                return HttpResponseRedirect(reverse("admin:waves_wave_change", args=[wave.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Add wave",
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, ADD_TEMPLATE, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        wave = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if wave is not None:
            extra.update(self._page_facts(request, wave))
        return super().change_view(request, object_id, form_url, extra)

    def _page_facts(self, request: HttpRequest, wave: Wave) -> dict[str, Any]:
        opts = self.model._meta
        outcomes = []
        rows = (
            WaveApplication.objects.filter(wave=wave)
            .order_by()
            .values_list("outcome", "outcome_reason")
            .annotate(n=Count("pk"))
        )
        labels = {
            ApplicationOutcome.PENDING: "not selected" if wave.status in DRAWN else "pending",
            ApplicationOutcome.SELECTED: "selected",
            ApplicationOutcome.INELIGIBLE: "no longer eligible",
        }
        for outcome, reason, n in sorted(rows):
            label = labels.get(outcome, outcome)
            outcomes.append({"label": f"{label}: {reason}" if reason else label, "count": n})
        participants = Participant.objects.filter(wave=wave).aggregate(
            total=Count("pk"),
            active=Count("pk", filter=Q(status=ParticipantStatus.ACTIVE)),
            revoked=Count("pk", filter=Q(status=ParticipantStatus.REVOKED)),
            credited=Count("pk", filter=Q(credited_at__isnull=False)),
        )
        may_act = self.may_act(request)
        return {
            "wave": wave,
            "may_act": may_act,
            "outcomes": outcomes,
            "participants": participants,
            "participants_url": reverse("admin:waves_participant_changelist")
            + f"?wave__id__exact={wave.pk}",
            "inputs_url": (
                reverse(f"admin:{opts.app_label}_{opts.model_name}_inputs", args=[wave.pk])
                if wave.status in DRAWN
                else None
            ),
            "wave_actions": [
                {
                    "name": action.name,
                    "label": action.label,
                    "explanation": action.explanation,
                    "form": action.form(prefix=action.name),
                    "url": reverse(
                        f"admin:{opts.app_label}_{opts.model_name}_{action.name}", args=[wave.pk]
                    ),
                }
                for action in (actions_offered(wave) if may_act else [])
            ],
        }

    def action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponseBase:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.may_act(request):
            raise PermissionDenied
        wave = self._wave(request, object_id)
        spec = ACTIONS[action]
        form = spec.form(request.POST, prefix=spec.name)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(
                    request, f"{spec.label} {wave}: {field}: {' '.join(map(str, errors))}"
                )
        else:
            try:
                done = spec.run(wave, form.cleaned_data, Actor.for_user(request.user))
            except ApplicationError as error:
                messages.error(request, f"{spec.label} {wave} refused: {refusal_text(error)}")
            else:
                messages.success(request, f"{wave} {done}.")
        return HttpResponseRedirect(reverse("admin:waves_wave_change", args=[wave.pk]))

    def inputs_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        wave = self._wave(request, object_id)
        if not self.has_view_permission(request, wave):
            raise PermissionDenied
        try:
            chunks = selection_inputs_chunks(wave)  # refuses a wave not drawn, before streaming
        except ApplicationError as error:
            return HttpResponse(
                refusal_text(error),
                status=error.http_status,
                content_type="text/plain; charset=utf-8",
            )
        response = StreamingHttpResponse(chunks, content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="gelombang-{wave.number}-inputs.json"'
        )
        return response


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    """Found by exact card number only: no names, no NIKs."""

    list_display = ("card_number", "wave", "status", "deadline", "credited", "revoked")
    list_filter = ("status", "wave")
    list_select_related = ("wave",)
    search_fields = ("=card_number",)
    search_help_text = "Nomor kartu lengkap (16 digit) / The full card number (16 digits)."
    show_full_result_count = False  # a wave has hundreds of thousands; one COUNT per page is enough
    ordering = ("-id",)
    fields = (
        "card_number",
        "wave",
        "application",
        "status",
        "selected",
        "deadline",
        "first_purchase",
        "credited_time",
        "revoked",
        "quota_returned_to",
    )
    readonly_fields = fields

    @admin.display(description="Purchase deadline (WIB)", ordering="purchase_deadline")
    def deadline(self, participant: Participant) -> str:
        return _wib(participant.purchase_deadline)

    @admin.display(description="Credited", boolean=True)
    def credited(self, participant: Participant) -> bool:
        return participant.credited_at is not None

    @admin.display(description="Revoked (WIB)", ordering="revoked_at")
    def revoked(self, participant: Participant) -> str:
        return _wib(participant.revoked_at)

    @admin.display(description="Selected (WIB)")
    def selected(self, participant: Participant) -> str:
        return _wib(participant.selected_at)

    @admin.display(description="First purchase (WIB)")
    def first_purchase(self, participant: Participant) -> str:
        return _wib(participant.first_purchase_at)

    @admin.display(description="Credited (WIB)")
    def credited_time(self, participant: Participant) -> str:
        return _wib(participant.credited_at)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Participant], search_term: str
    ) -> tuple[QuerySet[Participant], bool]:
        # Cards are printed in groups of four digits; the look-up stays one exact match.
        term = re.sub(r"[\s.\-]", "", search_term)
        if not term:
            return queryset, False
        return queryset.filter(card_number=term), False


@admin.register(PriorityEntry)
class PriorityEntryAdmin(ReadOnlyAdmin):
    """Imported with `prakerja waves priority-import GROUP FILE.csv`; NIKs are never stored."""

    list_display = ("group", "short_index", "imported")
    list_filter = ("group",)
    show_full_result_count = False
    ordering = ("group", "id")
    fields = ("group", "nik_index", "imported")
    readonly_fields = fields

    @admin.display(description="NIK index")
    def short_index(self, entry: PriorityEntry) -> str:
        return format_html("<code>{}…</code>", entry.nik_index[:12])

    @admin.display(description="Imported (WIB)", ordering="imported_at")
    def imported(self, entry: PriorityEntry) -> str:
        return _wib(entry.imported_at)
