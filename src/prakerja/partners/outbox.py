"""Publishing events to partners: a row in the caller's transaction (the transactional outbox).
Delivery (signing, retries, order per subject) is done by workers afterwards."""

from typing import Any

from django.utils import timezone

from prakerja.partners.models import OutboundEvent


def event_publish(*, partner_id: int, event_type: str, subject: str, data: dict[str, Any]) -> int:
    """Queue `event_type` about `subject` for the partner; returns the event id. Call inside the
    transaction that makes the change: the event exists if and only if the change commits.
    The delivered body is {"type", "timestamp", "data"} (Standard Webhooks' recommended shape)."""
    now = timezone.now()
    event = OutboundEvent.objects.create(
        partner_id=partner_id,
        event_type=event_type,
        subject=subject,
        payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
        created_at=now,
        next_attempt_at=now,
    )
    return event.pk


def events_publish_many(*, event_type: str, events: list[tuple[int, str, dict[str, Any]]]) -> int:
    """`event_publish` for a chunk of batch work (one INSERT): each event is (partner id, subject,
    data). Returns how many were queued."""
    now = timezone.now()
    OutboundEvent.objects.bulk_create(
        [
            OutboundEvent(
                partner_id=partner_id,
                event_type=event_type,
                subject=subject,
                payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
                created_at=now,
                next_attempt_at=now,
            )
            for partner_id, subject, data in events
        ]
    )
    return len(events)
