"""Double-entry ledger after django-hordak's Account / Transaction / Leg design, in integer rupiah.

A leg's amount is signed: positive moves money into its account, negative out of it; the legs of a
transaction sum to zero. Transactions and legs are append-only. The current balance of each account
is kept in its Balance row, changed only by the posting services in the same database transaction as
the legs, so that reading a balance never sums legs.
"""

from django.db import models
from django.db.models import Q

from prakerja.common import clock
from prakerja.common.immutable import AppendOnlyModel


class AccountKind(models.TextChoices):
    PROGRAM_BUDGET = "program_budget", "Program budget"
    TREASURY_RETURN = "treasury_return", "Treasury return"
    PAID_OUT = "paid_out", "Paid out of the program"
    TRAINING_BALANCE = "training_balance", "Participant training balance"
    INCENTIVE_PAYABLE = "incentive_payable", "Participant incentive payable"
    # A voucher's price between purchase and redemption: owed to the platform only once redeemed,
    # back to the participant's balance if it expires.
    PLATFORM_PENDING = "platform_pending", "Platform payable, pending redemption"
    PLATFORM_PAYABLE = "platform_payable", "Platform payable"
    INSTITUTION_CLEARING = "institution_clearing", "Financial institution clearing"


# Program-level accounts: one each, no owner.
SYSTEM_KINDS = frozenset(
    {AccountKind.PROGRAM_BUDGET, AccountKind.TREASURY_RETURN, AccountKind.PAID_OUT}
)
# The budget is where program money comes from: its balance is minus what the program has committed.
# Every other account holds money and can never go below zero.
MAY_GO_NEGATIVE = frozenset({AccountKind.PROGRAM_BUDGET})


class Account(models.Model):
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    # The participant, platform or institution the account belongs to (their primary key);
    # the ledger does not depend on those apps, so this is a plain number, not a foreign key.
    owner_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "owner_id"], name="ledger_account_one_per_owner"
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(owner_id__isnull=True),
                name="ledger_account_one_per_system_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = "" if self.owner_id is None else f" #{self.owner_id}"
        return f"{self.get_kind_display()}{owner}"


class Balance(models.Model):
    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    amount = models.BigIntegerField(default=0)
    may_go_negative = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) | Q(may_go_negative=True),
                name="ledger_balance_never_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount}"


class Transaction(AppendOnlyModel):
    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, db_index=True)
    memo = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    # One-to-one: the database lets a transaction be reversed at most once.
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.idempotency_key})"


class Leg(AppendOnlyModel):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="legs")
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_leg_not_zero"),
        ]
