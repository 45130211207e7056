"""The training catalog: institutions and trainings published by digital platforms through the
partner API (`PUT/DELETE /trainings/{external_id}`) and curated by the PMO (program.md §4, §7)."""

from django.db import models
from django.db.models import Q

from prakerja.common import clock


class Institution(models.Model):
    """A training institution (lembaga pelatihan) as a platform declares it. One owned by the
    platform itself is recorded and disclosed to participants (a conflict of interest in 2020)."""

    platform = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="institutions"
    )
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    owned_by_platform = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="institution_once_per_platform"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Delivery(models.TextChoices):
    SELF_PACED = "self_paced", "Self-paced video"
    WEBINAR = "webinar", "Webinar"
    OFFLINE = "offline", "Offline (in person)"


class TrainingStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", "Pending review"
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"
    WITHDRAWN = "withdrawn", "Withdrawn by the platform"


class Training(models.Model):
    platform = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="trainings"
    )
    external_id = models.CharField(max_length=64)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="trainings")
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=60)
    description = models.TextField()
    price_idr = models.BigIntegerField()
    price_outside_program_idr = models.BigIntegerField()
    duration_hours = models.PositiveIntegerField()
    sessions = models.PositiveIntegerField()
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    url = models.URLField(max_length=500)
    # Offline trainings only: where they take place.
    address = models.CharField(max_length=300, blank=True)
    regency_code = models.CharField(max_length=5, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)

    status = models.CharField(
        max_length=14, choices=TrainingStatus.choices, default=TrainingStatus.PENDING_REVIEW
    )
    status_reason = models.CharField(max_length=300, blank=True)  # why rejected or suspended
    # SHA-256 of the price and content as last submitted: a change sends an active training back
    # to review; an identical PUT changes nothing.
    content_hash = models.CharField(max_length=64)
    # Curation flags (see catalog.flags): shown to the PMO, never decided automatically.
    flag_price_above_outside = models.BooleanField(default=False)
    flag_near_duplicate = models.BooleanField(default=False)
    # False from a platform's new training until the near-duplicate check has compared its text
    # (catalog.flags.near_duplicates_check_due, every few seconds): the partner call does not wait
    # for it. Trainings seeded in bulk store their band keys themselves and start checked.
    near_duplicate_checked = models.BooleanField(default=True)

    # Read by search: buyers counted from the orders every ten minutes (orders/popularity.py),
    # ratings kept by the review service.
    buyers = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="training_once_per_platform"
            ),
            models.CheckConstraint(
                condition=Q(price_idr__gt=0) & Q(price_outside_program_idr__gt=0),
                name="training_prices_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "category"]),
            models.Index(fields=["status", "price_idr"]),
            # The check's queue: only the few trainings not yet checked have an entry.
            models.Index(
                fields=["id"],
                condition=Q(near_duplicate_checked=False),
                name="catalog_training_unchecked",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TrainingTextBand(models.Model):
    """A locality-sensitive key of a training's title and description (catalog.flags): trainings
    whose texts are near-identical share at least one, so the near-duplicate check reads those
    few trainings and not the whole category. Rewritten whenever the text or category changes."""

    training = models.ForeignKey(Training, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=60)
    key = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["category", "key"], name="catalog_band_lookup")]

    def __str__(self) -> str:
        return f"{self.training_id}:{self.key}"
