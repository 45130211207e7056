from django.db import transaction
from django.forms.models import model_to_dict

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.waves.models import ProgramScheme


def scheme_save(*, scheme: ProgramScheme, actor: Actor) -> ProgramScheme:
    """Save a scheme edited by an operator, audited with its before and after values. Activating it
    deactivates the one active before, in the same transaction."""
    with transaction.atomic():
        before = (
            model_to_dict(ProgramScheme.objects.get(pk=scheme.pk)) if scheme.pk is not None else {}
        )
        if scheme.is_active:
            ProgramScheme.objects.filter(is_active=True).exclude(pk=scheme.pk).update(
                is_active=False
            )
        scheme.full_clean()
        scheme.save()
        after = model_to_dict(scheme)
        changes = {
            field: [_plain(before.get(field)), _plain(value)]
            for field, value in after.items()
            if before.get(field) != value
        }
        audit_record(
            actor=actor,
            event_type="scheme.created" if not before else "scheme.changed",
            subject=scheme,
            details={"changes": changes},
        )
    return scheme


def _plain(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value
