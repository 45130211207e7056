"""Partners (digital platforms and financial institutions), their signing secrets, and the stored
answers that make partner calls idempotent (partner-api.md)."""

from django.db import models
from django.db.models import Q

from prakerja.common import clock


class PartnerKind(models.TextChoices):
    PLATFORM = "platform", "Digital platform"
    INSTITUTION = "institution", "Financial institution"


class PartnerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Partner(models.Model):
    code = models.SlugField(max_length=40, unique=True)  # the X-PARTNER-ID header
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=PartnerKind.choices)
    status = models.CharField(
        max_length=10, choices=PartnerStatus.choices, default=PartnerStatus.ACTIVE
    )
    # Calls per minute before 429 RATE_LIMITED.
    rate_limit_per_minute = models.PositiveIntegerField(default=600)
    webhook_url = models.URLField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)  # "whsec_…" (Standard Webhooks)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PartnerSecret(models.Model):
    """A signing secret. A partner holds at most two unretired secrets, so keys rotate without
    downtime: add the new one, let the partner switch, retire the old one."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="secrets")
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(default=clock.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["partner"], condition=Q(retired_at__isnull=True), name="partner_secret_live"
            )
        ]

    def __str__(self) -> str:
        return f"secret #{self.pk} of {self.partner_id}"


class IdempotentCall(models.Model):
    """The first answer to a partner's POST/PUT/DELETE, by X-EXTERNAL-ID, kept 24 hours."""

    # No index of its own: the unique (partner, external_id) index starts with it.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", db_index=False)
    external_id = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "external_id"], name="idempotent_call_once_per_partner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.external_id}"


class OutboundEvent(models.Model):
    """An event for a partner (partner-api.md, "Events the system sends"), written in the same
    transaction as the change it reports; delivered afterwards, at least once, in order per
    subject, signed by the Standard Webhooks specification."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="events")
    event_type = models.CharField(max_length=40)  # "voucher.issued", "training.status_changed", …
    subject = models.CharField(max_length=80)  # ordering key: an order id, a training id
    payload = models.JSONField()
    created_at = models.DateTimeField(default=clock.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    gave_up_at = models.DateTimeField(null=True, blank=True)  # retried for 24 hours, then stopped

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, gave_up_at__isnull=True),
                name="outbound_event_due",
            ),
            models.Index(fields=["partner", "subject", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk} for {self.partner_id}"

    @property
    def webhook_id(self) -> str:
        return f"evt_{self.pk}"


class DeliveryAttempt(models.Model):
    """One try at delivering an event: what the partner's endpoint answered, for the console."""

    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="deliveries")
    attempted_at = models.DateTimeField(default=clock.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"attempt on event {self.event_id}: {self.status_code or self.error}"
