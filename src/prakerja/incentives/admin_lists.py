"""The finance console's shared columns and filters, and its read-only lists: payment accounts,
entitlements and transfer instructions (admin.py: runs and statements). No NIK is shown: a
participant appears as their card number."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from prakerja.common.admin import ReadOnlyAdmin
from prakerja.incentives import console
from prakerja.incentives.models import (
    Entitlement,
    PaymentAccount,
    TransferInstruction,
)
from prakerja.integrations.bank.client import REASON_CODES
from prakerja.partners.models import Partner, PartnerKind


def wib_column(attribute: str, label: Any, ordering: str | None = None) -> Any:
    """A list column showing a time field in WIB (— when empty)."""

    @admin.display(description=label, ordering=ordering)
    def column(self: admin.ModelAdmin, obj: Any) -> str:
        return console.wib(getattr(obj, attribute))

    return column


class InstitutionFilter(admin.SimpleListFilter):
    """The financial institutions only (not every partner), without scanning the table for them."""

    title = _("financial institution")
    parameter_name = "institution"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (str(pk), name)
            for pk, name in Partner.objects.filter(kind=PartnerKind.INSTITUTION)
            .order_by("code")
            .values_list("pk", "name")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(institution_id=int(value)) if value and value.isdigit() else queryset


class ReasonFilter(admin.SimpleListFilter):
    """The reason codes of partner-api.md (and CANCELLED), named as finance reads them."""

    title = _("reason")
    parameter_name = "reason"
    codes: tuple[str, ...] = (*REASON_CODES, "CANCELLED")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, f"{code} — {console.reason_label(code)}") for code in self.codes]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(reason_code=value) if value else queryset


class AccountReasonFilter(ReasonFilter):
    """Why an account was rejected (the institution's answer) or unlinked (a newer account, a
    changed phone number)."""

    codes = (*(code for code in REASON_CODES if code != "TEMPORARY_FAILURE"), "REPLACED")


# --- read-only lists -------------------------------------------------------------------------------


@admin.register(PaymentAccount)
class PaymentAccountAdmin(ReadOnlyAdmin):
    list_display = (
        "account_number",
        "account_type",
        "institution",
        "card_number",
        "status",
        "reason_code",
        "kyc_level",
        "created_time",
        "checked_time",
    )
    list_filter = ("status", InstitutionFilter, AccountReasonFilter)
    list_select_related = ("institution", "participant")
    search_fields = ("=account_number",)
    search_help_text = _("The full account number (a phone number for e-wallets: 62…).")
    show_full_result_count = False  # millions of accounts: one COUNT per page is enough
    ordering = ("-pk",)
    fields = (
        "card_number",
        "institution",
        "account_type",
        "account_number",
        "status",
        "reason_code",
        "holder_name",
        "kyc_level",
        "created_time",
        "checked_time",
        "ended_time",
    )
    readonly_fields = fields

    @admin.display(description=_("card number"))
    def card_number(self, account: PaymentAccount) -> str:
        return account.participant.card_number

    created_time = wib_column("created_at", _("created at (WIB)"), ordering="created_at")

    checked_time = wib_column("checked_at", _("checked at (WIB)"), ordering="checked_at")

    ended_time = wib_column("ended_at", _("ended at (WIB)"))


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = (
        "card_number",
        "kind",
        "sequence",
        "amount",
        "due_on",
        "status",
        "hold_reason",
        "failed_attempts",
        "paid_time",
    )
    list_filter = ("status", "hold_reason", "kind")
    list_select_related = ("participant",)
    search_fields = ("=participant__card_number",)
    search_help_text = _("The participant's full card number (16 digits).")
    show_full_result_count = False
    ordering = ("-pk",)
    fields = (
        "card_number",
        "kind",
        "sequence",
        "amount",
        "due_on",
        "status",
        "hold_reason",
        "failed_attempts",
        "created_time",
        "paid_time",
    )
    readonly_fields = fields

    @admin.display(description=_("card number"))
    def card_number(self, entitlement: Entitlement) -> str:
        return entitlement.participant.card_number

    @admin.display(description=_("amount"), ordering="amount_idr")
    def amount(self, entitlement: Entitlement) -> str:
        return console.rupiah(entitlement.amount_idr)

    created_time = wib_column("created_at", _("created at (WIB)"))

    paid_time = wib_column("paid_at", _("paid at (WIB)"), ordering="paid_at")


@admin.register(TransferInstruction)
class TransferInstructionAdmin(ReadOnlyAdmin):
    list_display = (
        "instruction_id",
        "batch",
        "institution",
        "amount",
        "status",
        "reason_code",
        "partner_reference",
        "settled_time",
        "reconciled_time",
    )
    list_filter = ("status", ReasonFilter, InstitutionFilter)
    list_select_related = ("batch", "institution")
    search_fields = ("=instruction_id",)
    search_help_text = _("The full instruction id (PKJ-E…).")
    show_full_result_count = False
    ordering = ("-pk",)
    fields = (
        "instruction_id",
        "batch",
        "institution",
        "card_number",
        "account_number",
        "amount",
        "status",
        "reason_code",
        "partner_reference",
        "settled_time",
        "result_time",
        "reconciled_time",
    )
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The run page links here filtered by run, which the list's filters do not offer.
        return lookup == "batch__run__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("card number"))
    def card_number(self, instruction: TransferInstruction) -> str:
        return instruction.entitlement.participant.card_number

    @admin.display(description=_("account number"))
    def account_number(self, instruction: TransferInstruction) -> str:
        return instruction.account.account_number

    @admin.display(description=_("amount"), ordering="amount_idr")
    def amount(self, instruction: TransferInstruction) -> str:
        return console.rupiah(instruction.amount_idr)

    settled_time = wib_column("settled_at", _("settled at (WIB)"), ordering="settled_at")

    result_time = wib_column("result_at", _("result recorded at (WIB)"))

    reconciled_time = wib_column(
        "reconciled_at", _("reconciled at (WIB)"), ordering="reconciled_at"
    )
