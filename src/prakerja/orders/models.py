"""Orders (one training each), their vouchers, and the reviews that follow completion
(program.md §4, §7; partner-api.md, digital platforms).

An order's price moves in the ledger, never here: at purchase from the participant's training balance
to the platform's pending payable; at redemption to the platform's payable; at expiry back to the
balance; at settlement out of the program. The statuses below follow those moves and the platform's
reports; orders/rules.py holds the one transition table.
"""

from django.db import models
from django.db.models import Q

from prakerja.common import clock


class OrderStatus(models.TextChoices):
    ISSUED = "issued", "Voucher issued"
    REDEEMED = "redeemed", "Redeemed on the platform"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired unredeemed (price returned)"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"


# An order is open while its voucher can still be used or its training is under way: the same
# training cannot be bought again meanwhile.
OPEN_STATUSES = (OrderStatus.ISSUED, OrderStatus.REDEEMED)


class Order(models.Model):
    participant = models.ForeignKey(
        "waves.Participant", on_delete=models.PROTECT, related_name="orders"
    )
    # No index of their own: (training, status) and (platform, …) below lead with them. Every
    # order is written three times (purchase, redemption, completion): each index costs thrice.
    training = models.ForeignKey(
        "catalog.Training", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The platform that sold it (the training's, at purchase): only it may redeem the voucher.
    platform = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    price_idr = models.BigIntegerField()  # the training's price at purchase
    # See orders/vouchers.py. Unique by a constraint rather than unique=True, which on PostgreSQL
    # adds a second (LIKE) index that look-ups by equality never use.
    voucher_code = models.CharField(max_length=13)
    status = models.CharField(
        max_length=10, choices=OrderStatus.choices, default=OrderStatus.ISSUED
    )
    issued_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()  # unredeemed after this: expired, price returned

    redeemed_at = models.DateTimeField(null=True, blank=True)
    platform_user_ref = models.CharField(max_length=100, blank=True)  # the platform's user id

    percent = models.PositiveSmallIntegerField(default=0)  # never goes backwards
    sessions_attended = models.PositiveIntegerField(default=0)
    progress_reported_at = models.DateTimeField(null=True, blank=True)

    completed_at = models.DateTimeField(null=True, blank=True)
    final_score = models.PositiveSmallIntegerField(null=True, blank=True)
    certificate_number = models.CharField(max_length=100, blank=True)
    certificate_url = models.URLField(max_length=500, blank=True)
    # Completed sooner after redemption than the training's duration: accepted, shown for review.
    flag_fast_completion = models.BooleanField(default=False)

    ended_at = models.DateTimeField(null=True, blank=True)  # expired, refunded or cancelled
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voucher_code"], name="order_voucher_code_unique"),
            models.UniqueConstraint(
                fields=["participant", "training"],
                condition=Q(status__in=["issued", "redeemed"]),
                name="order_one_open_per_training",
            ),
            models.CheckConstraint(condition=Q(price_idr__gt=0), name="order_price_positive"),
            models.CheckConstraint(
                condition=Q(percent__lte=100)
                & (Q(final_score__isnull=True) | Q(final_score__lte=100)),
                name="order_percent_and_score_at_most_100",
            ),
        ]
        indexes = [
            # The platform's orders list (GET /orders?updated_since=&cursor=).
            models.Index(fields=["platform", "updated_at", "id"], name="order_platform_updates"),
            # The daily expiry job: issued vouchers past their date.
            models.Index(
                fields=["expires_at"],
                condition=Q(status="issued"),
                name="order_issued_expiry",
            ),
            models.Index(fields=["training", "status"], name="order_training_status"),
            # Monthly settlements: a platform's orders by redemption time.
            models.Index(fields=["platform", "redeemed_at"], name="order_platform_redeemed"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.voucher_code})"


class Review(models.Model):
    """A participant's rating and review of a completed order: one per order, editable for the
    scheme's number of days, required before any incentive; shown in the catalog."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="review")
    training = models.ForeignKey("catalog.Training", on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(
        "waves.Participant", on_delete=models.PROTECT, related_name="reviews"
    )
    stars = models.PositiveSmallIntegerField()
    text = models.TextField()
    # SHA-256 of the normalised text: identical texts across accounts are found by index.
    text_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    flag_identical_text = models.BooleanField(default=False)  # the same text from another account
    flag_burst = models.BooleanField(default=False)  # one of many reviews of a training at once

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="review_stars_1_to_5"
            )
        ]
        indexes = [
            models.Index(fields=["text_hash"], name="review_text_hash"),
            models.Index(fields=["training", "created_at"], name="review_training_time"),
        ]

    def __str__(self) -> str:
        return f"review of order {self.order_id}"


class SettlementStatus(models.TextChoices):
    PREPARED = "prepared", "Prepared"
    PAID = "paid", "Paid"


class Settlement(models.Model):
    """What the PMO owes one platform for the vouchers redeemed in one calendar month (WIB): the
    statement is prepared after the month ends (its orders can no longer change), and marking it
    paid moves the amount out of the platform's payable in the ledger. The lines are the orders
    redeemed in the month, read from the orders themselves."""

    platform = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=7)  # yyyy-mm
    order_count = models.PositiveIntegerField()
    amount_idr = models.BigIntegerField()
    status = models.CharField(
        max_length=8, choices=SettlementStatus.choices, default=SettlementStatus.PREPARED
    )
    prepared_at = models.DateTimeField(default=clock.now)
    prepared_by = models.CharField(max_length=200)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.CharField(max_length=200, blank=True)
    payment_reference = models.CharField(
        max_length=100, blank=True
    )  # the bank transfer's reference

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "period"], name="settlement_once_per_month"
            ),
            models.CheckConstraint(
                condition=Q(amount_idr__gte=0), name="settlement_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform_id} {self.period}"
