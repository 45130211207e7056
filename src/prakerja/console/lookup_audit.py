"""The look-up's writes: the audit trail of who looked for whom and who saw whose personal data.

The key searched for and the unmasked values are never written: a NIK in the audit log would be
the very leak the masking prevents. The kind of key, the records found, the operator's reason and
the names of the fields shown are enough to answer "who saw what, and why".
"""

from django.db import transaction

from prakerja.audit.models import AuditEvent
from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.registration.models import Registrant

LOOKED_UP = "participant.looked_up"
VIEWED = "participant.viewed"
UNMASKED = "participant.unmasked"

# What an operator may unmask, in the order the screen lists them.
UNMASKABLE_FIELDS = ("full_name", "nik", "birth_date", "email", "phone", "card_number", "accounts")
REASON_MIN_CHARS = 10


class UnmaskReasonRequired(ValidationFailed):
    code = "UNMASK_REASON_REQUIRED"
    message_id = "Tuliskan alasan membuka data pribadi (paling sedikit 10 karakter)."
    message_en = "Write why you are unmasking personal data (at least 10 characters)."


class UnmaskFieldsRequired(ValidationFailed):
    code = "UNMASK_FIELDS_REQUIRED"
    message_id = "Pilih data pribadi yang akan dibuka."
    message_en = "Choose which personal data to unmask."


def participant_lookup_record(*, actor: Actor, kind: str, found: list[int]) -> AuditEvent:
    """A search was made: by which kind of key, and which registrants it returned."""
    with transaction.atomic():
        return audit_record(
            actor=actor, event_type=LOOKED_UP, details={"kind": kind, "found": found}
        )


def participant_view_record(*, actor: Actor, registrant: Registrant) -> AuditEvent:
    """A registrant's (masked) timeline was opened."""
    with transaction.atomic():
        return audit_record(actor=actor, event_type=VIEWED, subject=registrant)


def participant_unmask(
    *, actor: Actor, registrant: Registrant, reason: str, fields: list[str]
) -> list[str]:
    """Record that the operator is shown these fields unmasked, for this reason; returns the
    fields, in screen order. A missing reason or no known field refuses and writes nothing."""
    reason = " ".join(reason.split())
    if len(reason) < REASON_MIN_CHARS:
        raise UnmaskReasonRequired(details={"reason": "REASON_REQUIRED"})
    chosen = [name for name in UNMASKABLE_FIELDS if name in fields]
    if not chosen:
        raise UnmaskFieldsRequired(details={"fields": "FIELDS_REQUIRED"})
    with transaction.atomic():
        audit_record(
            actor=actor,
            event_type=UNMASKED,
            subject=registrant,
            details={"reason": reason, "fields": chosen},
        )
    return chosen
