"""Back office for platform settlements: finance sees each month's statement per platform (prepared
by the daily job once the month has ended) with its lines, and marks it paid with the transfer's
reference, which moves the amount out of the platform's payable in the ledger."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from prakerja.common.actors import Actor
from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.errors import ApplicationError
from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import format_wib
from prakerja.orders.models import Settlement
from prakerja.orders.settlements import Period, settlement_mark_paid, settlement_orders

LINES_SHOWN = 200


class PaymentForm(ActionForm):
    reference = forms.CharField(
        required=False,
        max_length=100,
        label="Payment reference / Referensi transfer",
        help_text="Required to mark a statement paid.",
        widget=forms.TextInput(attrs={"size": 30}),
    )


@admin.action(description="Mark paid with the reference (prepared → paid)", permissions=["pay"])
def mark_paid(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    actor = Actor.for_user(request.user)
    reference = request.POST.get("reference", "")
    done = 0
    for settlement in queryset.order_by("pk"):
        try:
            settlement_mark_paid(settlement=settlement, payment_reference=reference, actor=actor)
        except ApplicationError as error:
            modeladmin.message_user(
                request,
                f"{settlement}: {error.code} — {error.message('id')} / {error.message('en')}",
                messages.ERROR,
            )
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} statement(s) marked paid.", messages.SUCCESS)


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ("period", "platform", "order_count", "amount", "status", "paid_at_wib")
    list_filter = ("status", "period", "platform")
    ordering = ("-period", "platform__code")
    action_form = PaymentForm
    actions = [mark_paid]
    fields = (
        "platform",
        "period",
        "order_count",
        "amount",
        "status",
        "prepared_at",
        "prepared_by",
        "paid_at_wib",
        "paid_by",
        "payment_reference",
        "lines",
    )
    readonly_fields = fields

    def has_pay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_settlement")

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("orders.view_settlement") or self.has_pay_permission(request)

    @admin.display(description="Amount")
    def amount(self, settlement: Settlement) -> str:
        return format_rupiah(settlement.amount_idr)

    @admin.display(description="Paid at")
    def paid_at_wib(self, settlement: Settlement) -> str:
        return format_wib(settlement.paid_at) if settlement.paid_at else "—"

    @admin.display(description=f"Lines (first {LINES_SHOWN})")
    def lines(self, settlement: Settlement) -> str:
        orders = settlement_orders(
            platform=settlement.platform, period=Period.parse(settlement.period)
        ).values_list("pk", "voucher_code", "price_idr", "redeemed_at")[:LINES_SHOWN]
        return format_html_join(
            "",
            "<div>#{} · {} · {} · {}</div>",
            (
                (pk, code, format_rupiah(price), format_wib(redeemed_at) if redeemed_at else "")
                for pk, code, price, redeemed_at in orders
            ),
        )
