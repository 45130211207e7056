from typing import Any

from django.db import models

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor


def audit_record(
    *,
    actor: Actor,
    event_type: str,
    subject: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        event_type=event_type,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        details=details or {},
    )
