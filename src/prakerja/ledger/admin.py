from django.contrib import admin
from django.http import HttpRequest

from prakerja.common.admin import ReadOnlyAdmin
from prakerja.common.money import format_rupiah
from prakerja.ledger.models import Account, Leg, Transaction


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "owner_id", "balance_idr", "created_at")
    list_filter = ("kind",)
    search_fields = ("=owner_id", "=id")
    list_select_related = ("balance",)

    @admin.display(description="Balance")
    def balance_idr(self, account: Account) -> str:
        return format_rupiah(account.balance.amount)


class LegInline(admin.TabularInline):
    model = Leg
    fields = ("account", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "idempotency_key", "actor", "created_at", "reverses")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "actor")
    date_hierarchy = "created_at"
    inlines = [LegInline]
