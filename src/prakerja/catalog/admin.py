"""Back office for the catalog: the PMO curates trainings here (program.md §4, §7).

Trainings and institutions are what platforms publish through the partner API: the admin shows
them and never edits them. Curation is four actions on the training list (approve, reject, suspend,
reinstate), each calling `training_review` once per selected training; reject and suspend take the
reason typed in the box beside the action menu.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from prakerja.catalog import flags
from prakerja.catalog.models import Institution, Training
from prakerja.catalog.services import REASON_MAX, training_review
from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.errors import ApplicationError
from prakerja.common.money import format_rupiah

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices

# program.md §7: a training's price may not exceed its price outside the program. The platform
# declares both; a training above it is accepted but flagged (catalog.flags), and shown here so the
# PMO sees the mismatch before approving.
PRICE_PARITY_TITLE = "Paritas harga / Price parity"
PRICE_ABOVE = "Melebihi harga di luar program / Above the price outside the program"
PRICE_WITHIN = "Sesuai / Within"


class PriceParityFilter(admin.BooleanFieldListFilter):
    """The flag's filter named for what it means rather than after the field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = PRICE_PARITY_TITLE

    def choices(self, changelist: Any) -> "Iterator[_ListFilterChoices]":
        # Django's choices are All, then the flag set ("1"), then not set ("0"): named here.
        labels = ("", PRICE_ABOVE, PRICE_WITHIN)
        for index, choice in enumerate(super().choices(changelist)):
            if index < len(labels) and labels[index]:
                choice["display"] = labels[index]
            yield choice


class ReviewActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX,
        label="Reason / Alasan",
        help_text="Required to reject or suspend; the platform is told it.",
        widget=forms.TextInput(attrs={"size": 50}),
    )


def _refusal(error: ApplicationError) -> str:
    text = f"{error.code} — {error.message('id')} / {error.message('en')}"
    if error.details:
        text += " (" + "; ".join(f"{key}: {value}" for key, value in error.details.items()) + ")"
    return text


def _review(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Training],
    decision: str,
    done: str,
) -> None:
    """One `training_review` per selected training (each its own transaction): the ones done and
    each refusal reported."""
    reason = request.POST.get("reason", "")
    actor = Actor.for_user(request.user)
    changed = 0
    for training in queryset.order_by("pk"):
        try:
            training_review(training=training, decision=decision, reason=reason, actor=actor)
        except ApplicationError as error:
            modeladmin.message_user(
                request, f"“{training.title}” (#{training.pk}): {_refusal(error)}", messages.ERROR
            )
        else:
            changed += 1
    if changed:
        modeladmin.message_user(request, f"{changed} training(s) {done}.", messages.SUCCESS)


@admin.action(description="Approve (pending review → active)", permissions=["review"])
def approve(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _review(modeladmin, request, queryset, "approve", "approved")


@admin.action(
    description="Reject with the reason (pending review → rejected)", permissions=["review"]
)
def reject(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _review(modeladmin, request, queryset, "reject", "rejected")


@admin.action(description="Suspend with the reason (active → suspended)", permissions=["review"])
def suspend(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _review(modeladmin, request, queryset, "suspend", "suspended")


@admin.action(description="Reinstate (suspended → active)", permissions=["review"])
def reinstate(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _review(modeladmin, request, queryset, "reinstate", "reinstated")


@admin.register(Training)
class TrainingAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "platform",
        "institution",
        "owned_by_platform",
        "category",
        "delivery",
        "status",
        "price",
        "outside_price",
        "price_parity",
        "flag_near_duplicate",
        "near_duplicate_checked",
        "updated_at",
    )
    list_filter = (
        "status",
        ("flag_price_above_outside", PriceParityFilter),
        "flag_near_duplicate",
        "near_duplicate_checked",
        "platform",
        "category",
        "delivery",
        "institution__owned_by_platform",
    )
    list_select_related = ("platform", "institution")
    search_fields = ("title", "=external_id", "institution__name")
    ordering = ("-updated_at", "-pk")
    action_form = ReviewActionForm
    actions = [approve, reject, suspend, reinstate]
    fieldsets = (
        (
            None,
            {"fields": ("title", "platform", "external_id", "institution", "owned_by_platform")},
        ),
        (
            "Curation",
            {
                "fields": (
                    "status",
                    "status_reason",
                    "price_parity_detail",
                    "flag_near_duplicate",
                    "near_duplicate_checked",
                )
            },
        ),
        (
            "Content",
            {
                "fields": (
                    "category",
                    "description",
                    "price",
                    "outside_price",
                    "duration_hours",
                    "sessions",
                    "delivery",
                    "url",
                )
            },
        ),
        ("Offline location", {"fields": ("address", "regency_code", "lat", "lon")}),
        ("Marketplace", {"fields": ("buyers", "rating_count", "rating_sum")}),
        ("History", {"fields": ("created_at", "updated_at", "content_hash")}),
    )

    def has_review_permission(self, request: HttpRequest) -> bool:
        # The admin refuses "change" to everyone (trainings are the platforms' data), so ask the
        # permission itself: a PMO curator holds catalog.change_training.
        return request.user.has_perm("catalog.change_training")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [str(f) for _, options in self.fieldsets for f in options["fields"]]

    @admin.display(description="Owned by platform", boolean=True)
    def owned_by_platform(self, training: Training) -> bool:
        return training.institution.owned_by_platform

    @admin.display(description="Price", ordering="price_idr")
    def price(self, training: Training) -> str:
        return format_rupiah(training.price_idr)

    @admin.display(description="Price outside the program", ordering="price_outside_program_idr")
    def outside_price(self, training: Training) -> str:
        return format_rupiah(training.price_outside_program_idr)

    @admin.display(description=PRICE_PARITY_TITLE, ordering="flag_price_above_outside")
    def price_parity(self, training: Training) -> str:
        if not training.flag_price_above_outside:
            return "—"
        more = format_rupiah(training.price_idr - training.price_outside_program_idr)
        return f"⚠ {PRICE_ABOVE} (+{more})"

    @admin.display(description=PRICE_PARITY_TITLE)
    def price_parity_detail(self, training: Training) -> str:
        return flags.price_parity_reason(training) or (
            "Sesuai: harga di program tidak melebihi harga di luar program / Within: the price in "
            "the program is not above the price outside it"
        )


@admin.register(Institution)
class InstitutionAdmin(ReadOnlyAdmin):
    list_display = ("name", "platform", "external_id", "owned_by_platform", "trainings_count")
    list_filter = ("owned_by_platform", "platform")
    list_select_related = ("platform",)
    search_fields = ("name", "=external_id")
    ordering = ("name", "pk")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Institution]:
        return super().get_queryset(request).annotate(n_trainings=Count("trainings"))

    @admin.display(description="Trainings", ordering="n_trainings")
    def trainings_count(self, institution: Institution) -> int:
        return institution.n_trainings  # type: ignore[attr-defined]
