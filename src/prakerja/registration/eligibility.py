"""The eligibility layer, per request: decided when the phone is proved, and again after an
exclusion import or a profile change. The rule is rules.eligibility_verdict, shared with bulk.py."""

from django.db import transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.registration.errors import StepNotAvailable
from prakerja.registration.exclusion_lookup import exclusion_categories_for
from prakerja.registration.layers import layer_set
from prakerja.registration.models import Layer, Registrant
from prakerja.registration.rules import (
    OK,
    P,
    eligibility_moves,
    eligibility_verdict,
    face_opens,
)
from prakerja.waves.selectors import scheme_active


def eligibility_decide(registrant: Registrant, *, actor: Actor) -> None:
    """Age, formal education and exclusion lists; passing opens the face check. Call it inside the
    service's transaction, the registrant locked."""
    # Eligibility follows a passed NIK layer, so the account holds its NIK.
    assert registrant.nik_index is not None
    status, reason, details = eligibility_verdict(
        birth_date=registrant.birth_date,
        in_school=registrant.in_school,
        categories=exclusion_categories_for(registrant.nik_index),
        min_age=scheme_active().min_age_years,
        today=clock.today(),
    )
    current = (registrant.eligibility_status, registrant.eligibility_reason)
    if not eligibility_moves(current, status, reason):
        return
    face = (registrant.face_status, registrant.face_reason)
    layer_set(
        registrant, Layer.ELIGIBILITY, status, reason=reason, actor=actor, details=details or None
    )
    if face_opens(status, face):
        layer_set(registrant, Layer.FACE, P, reason="AWAITING_SELFIE", actor=actor)


def eligibility_recheck(*, registrant: Registrant, actor: Actor) -> Registrant:
    """Run the eligibility rules again (after an exclusion import or a profile change)."""
    if registrant.phone_status != OK:
        raise StepNotAvailable(details={"layer": "eligibility"})
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        eligibility_decide(registrant, actor=actor)
    return registrant
