"""A participant's complaint and its append-only history (issue 9, grievances).

The complaint row keeps its current state (status, assignee, each step's time, the SLA due times) so
that the support list and the participant's page read one row; every step is also a ComplaintEvent
(and an audit event). Status changes follow TRANSITIONS in `services.py`; nothing sets them by hand.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prakerja.common import clock
from prakerja.common.immutable import AppendOnlyModel
from prakerja.registration.models import Registrant


class Category(models.TextChoices):
    VERIFICATION = "verification", _("Verification")
    SELECTION = "selection", _("Selection")
    VOUCHER = "voucher", _("Voucher")
    COMPLETION = "completion", _("Completion")
    PAYMENT = "payment", _("Payment")


class Status(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    RESOLVED = "resolved", _("Resolved")
    REJECTED = "rejected", _("Rejected")


OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.ASSIGNED)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class RejectReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate of another complaint")
    OUT_OF_SCOPE = "out_of_scope", _("Not about the program")
    UNFOUNDED = "unfounded", _("Nothing wrong found")


class Complaint(models.Model):
    registrant = models.ForeignKey(Registrant, on_delete=models.PROTECT, related_name="complaints")
    category = models.CharField(max_length=16, choices=Category.choices)
    # What the complaint is about, as a plain id of the category's object (an order, an
    # entitlement, a wave application): kept loose so a complaint outlives schema changes there.
    related_type = models.CharField(max_length=32, blank=True)
    related_id = models.BigIntegerField(null=True, blank=True)
    text = models.TextField()
    # Kept in the database, like the pending selfie, so any web machine can serve it.
    attachment = models.BinaryField(null=True, blank=True, editable=False)
    attachment_name = models.CharField(max_length=120, blank=True)
    attachment_type = models.CharField(
        max_length=32, blank=True
    )  # image/jpeg, image/png, application/pdf

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_complaints",
    )
    resolution = models.TextField(blank=True)  # shown to the participant
    reject_reason = models.CharField(max_length=16, choices=RejectReason.choices, blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates"
    )

    filed_at = models.DateTimeField(default=clock.now)
    triaged_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # resolved or rejected
    # Set at filing from the default priority and again at triage from the chosen one.
    first_response_due_at = models.DateTimeField()
    resolution_due_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["registrant", "filed_at"]),
            models.Index(fields=["status", "resolution_due_at"]),
            models.Index(fields=["assignee", "status"]),
        ]

    def __str__(self) -> str:
        return f"Complaint #{self.pk} ({self.category}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def first_responded_at(self) -> datetime | None:
        return self.triaged_at or self.closed_at


class EventKind(models.TextChoices):
    FILED = "filed", _("Filed")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    RESOLVED = "resolved", _("Resolved")
    REJECTED = "rejected", _("Rejected")


class ComplaintEvent(AppendOnlyModel):
    """One step of one complaint: who did what when. Never edited."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    at = models.DateTimeField(default=clock.now)
    actor_label = models.CharField(max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["complaint", "at"])]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_label}"
