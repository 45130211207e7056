"""The outbox of messages to registrants and participants (SMS and email).

A service that changes something a person must hear about inserts the message here in the same
database transaction as the change; a worker sends it afterwards. So a message goes out if and only if
the change committed, and batch work (a wave's 200.000 selection messages) is one INSERT per chunk.
"""

from django.db import models
from django.db.models import Q

from prakerja.common import clock


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed after every retry"


class Notification(models.Model):
    # No database-level foreign key: a wave queues 400.000 messages at once, and checking each
    # against the registrant table (locking a row of a table of millions) cost more than writing
    # the message. Registrants are never deleted (every reference to them protects them).
    registrant = models.ForeignKey(
        "registration.Registrant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="notifications",
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    kind = models.CharField(max_length=40)  # names the message template in notifications.messages
    params = models.JSONField(default=dict, blank=True)
    # The same message is never queued twice, whichever job or retry queues it.
    dedupe_key = models.CharField(max_length=120, unique=True)
    status = models.CharField(
        max_length=6, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="notification_due",
            ),
            models.Index(fields=["registrant", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} to registrant {self.registrant_id}"
