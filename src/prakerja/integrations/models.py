"""Rows the integrations keep for themselves: the sandbox outbox the demo's inbox page reads."""

from django.db import models

from prakerja.common import clock


class SandboxEmail(models.Model):
    """One email as it would have been delivered to one recipient (PRAKERJA_EMAIL_URL=sandbox:)."""

    to = models.CharField(max_length=254, db_index=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ("-sent_at", "-id")
        verbose_name = "sandbox email"

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"
