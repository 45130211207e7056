"""The state of each verification layer changes only here, by one explicit transition table.

pending → passed | failed; failed → pending (the person fixed it and retries) | passed;
passed → failed only for eligibility (an exclusion list imported later) and passed → pending only
for the phone (the number changed). Every change writes a VerificationStep and an audit event in the
same transaction.
"""

import functools
from typing import Any

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import Conflict
from prakerja.registration.models import Layer, LayerStatus, Registrant, VerificationStep

P, OK, NO = LayerStatus.PENDING, LayerStatus.PASSED, LayerStatus.FAILED

ALLOWED: dict[Layer, set[tuple[str, str]]] = {
    Layer.EMAIL: {(P, P), (P, OK)},
    Layer.NIK: {(P, P), (P, OK), (P, NO), (NO, P)},
    Layer.PHONE: {(P, P), (P, OK), (OK, P)},
    Layer.ELIGIBILITY: {(P, OK), (P, NO), (OK, NO), (NO, OK), (NO, NO)},
    Layer.FACE: {(P, P), (P, OK), (P, NO), (NO, P), (NO, OK)},
}


class LayerTransitionRefused(Conflict):
    code = "LAYER_TRANSITION_REFUSED"
    message_id = "Langkah verifikasi ini tidak dapat diubah dari keadaannya sekarang."
    message_en = "This verification step cannot change from its current state."


@functools.cache
def layer_event_type(layer: Layer, status: str) -> str:
    """The audit event type of a layer change (cached: enum formatting, millions of times a
    national day in the set-based paths, cost more than the rest of their rows' building)."""
    return f"registration.{layer.value}.{status}"


def layer_event_details(reason: str, details: dict[str, Any] | None) -> dict[str, Any]:
    """The audit event's details of a layer change: the reason, then the step's details."""
    return {"reason": reason, **details} if details else {"reason": reason}


def layer_set(
    registrant: Registrant,
    layer: Layer,
    status: LayerStatus,
    *,
    reason: str = "",
    actor: Actor,
    details: dict | None = None,
) -> None:
    """Move `layer` of `registrant` to `status`; call inside the service's transaction."""
    current = getattr(registrant, f"{layer.value}_status")
    if (current, status) not in ALLOWED[layer]:
        raise LayerTransitionRefused(
            details={"layer": layer.value, "from": current, "to": status.value}
        )
    now = clock.now()
    setattr(registrant, f"{layer.value}_status", status)
    setattr(registrant, f"{layer.value}_reason", reason)
    setattr(registrant, f"{layer.value}_at", now)
    fields = [f"{layer.value}_status", f"{layer.value}_reason", f"{layer.value}_at"]
    registrant.save(update_fields=fields)
    VerificationStep.objects.create(
        registrant=registrant,
        layer=layer,
        outcome=status,
        reason=reason,
        at=now,
        details=details or {},
    )
    audit_record(
        actor=actor,
        event_type=layer_event_type(layer, status.value),
        subject=registrant,
        details=layer_event_details(reason, details),
    )
