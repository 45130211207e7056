"""The layers that wait on the population registry, per request: the NIK (after the email, or
after the person corrected a typo) and the face check (after a selfie). Calls to the registry
happen in a task queued on commit, so a slow or broken registry never holds a request open; while
it is down the layer stays pending with a retry time. The verdicts are rules.py's, shared with
bulk.py."""

import datetime

from django.db import transaction

from prakerja.common import clock, crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import FieldsDisagree, ValidationFailed
from prakerja.integrations.population import RegistryUnavailable, population_registry
from prakerja.registration import tasks
from prakerja.registration.errors import StepNotAvailable
from prakerja.registration.layers import layer_set
from prakerja.registration.models import Layer, Registrant
from prakerja.registration.nik import NikProblem, check_nik
from prakerja.registration.phone import phone_layer_open
from prakerja.registration.rules import (
    FACE_ACTOR,
    NO,
    OK,
    REGISTRY_ACTOR,
    REGISTRY_SAFETY_NET,
    WAITING_ON_REGISTRY,
    P,
    face_submit_allowed,
    face_verdict,
    full_name_problem,
    nik_verdict,
    registry_retry_wait,
    retry_is_a_step,
    stripped_image,
)


def registry_check_queue(registrant: Registrant) -> None:
    """Queue the registry call after commit, and leave a retry time as a safety net: if the task is
    lost (broker down, worker killed), the periodic sweep asks the registry instead."""
    registrant.registry_retry_at = clock.now() + REGISTRY_SAFETY_NET
    registrant.save(update_fields=["registry_retry_at"])
    registrant_id = registrant.pk
    transaction.on_commit(lambda: tasks.registry_check_task.delay(registrant_id), robust=True)


def registrant_registry_check(*, registrant_id: int) -> Registrant:
    """Ask the registry for whichever layer waits on it (NIK, or the face check). While the registry
    is down the layer stays pending with a retry time; nothing is lost and nothing is failed."""
    registrant = Registrant.objects.get(pk=registrant_id)
    if registrant.nik_status == P and registrant.nik_reason in WAITING_ON_REGISTRY:
        return _nik_check(registrant)
    if registrant.face_status == P and registrant.face_reason in WAITING_ON_REGISTRY:
        return _face_check(registrant)
    # Nothing waits on the registry (settled meanwhile): stop the sweep from queuing this again.
    Registrant.objects.filter(pk=registrant.pk).update(registry_retry_at=None, registry_attempts=0)
    return registrant


def _nik_check(registrant: Registrant) -> Registrant:
    nik = crypto.decrypt(registrant.nik_encrypted)
    try:
        record = population_registry().lookup(nik)
    except RegistryUnavailable:
        return _registry_later(registrant.pk, Layer.NIK)
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        if registrant.nik_status != P:
            return registrant  # another worker settled it first
        verdict = nik_verdict(record, registrant.full_name, registrant.birth_date)
        _registry_done(registrant)
        if verdict.status == NO:
            layer_set(
                registrant,
                Layer.NIK,
                NO,
                reason=verdict.reason,
                actor=REGISTRY_ACTOR,
                details=verdict.details,
            )
            return registrant
        assert verdict.kk_index is not None  # a passed NIK names its family card
        registrant.kk_index = verdict.kk_index
        registrant.save(update_fields=["kk_index"])
        layer_set(registrant, Layer.NIK, OK, actor=REGISTRY_ACTOR)
        phone_layer_open(registrant, actor=REGISTRY_ACTOR)
    return registrant


def _registry_later(registrant_id: int, layer: Layer) -> Registrant:
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant_id)
        attempt = registrant.registry_attempts
        registrant.registry_attempts = attempt + 1
        registrant.registry_retry_at = clock.now() + registry_retry_wait(attempt)
        registrant.save(update_fields=["registry_attempts", "registry_retry_at"])
        if retry_is_a_step(getattr(registrant, f"{layer.value}_reason")):
            layer_set(registrant, layer, P, reason="REGISTRY_RETRYING", actor=REGISTRY_ACTOR)
    return registrant


def _registry_done(registrant: Registrant) -> None:
    registrant.registry_attempts = 0
    registrant.registry_retry_at = None
    registrant.save(update_fields=["registry_attempts", "registry_retry_at"])


def registry_retry_due(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """The periodic job: queue the registry check again for every registrant whose retry time has
    come. Returns how many were queued."""
    due = list(
        Registrant.objects.filter(registry_retry_at__lte=now or clock.now())
        .order_by("registry_retry_at")
        .values_list("pk", flat=True)[:limit]
    )
    for registrant_id in due:
        tasks.registry_check_task.delay(registrant_id)
    return len(due)


def nik_correct(*, registrant: Registrant, full_name: str, birth_date: datetime.date) -> Registrant:
    """After a name or birth-date mismatch the person fixes the typo and the registry is asked again.
    The NIK itself never changes: one NIK, one account."""
    if registrant.nik_status != NO or registrant.nik_reason not in (
        "NAME_MISMATCH",
        "BIRTH_DATE_MISMATCH",
    ):
        raise StepNotAvailable(details={"layer": "nik"})
    problem = full_name_problem(full_name)
    if problem:
        raise ValidationFailed(details={"full_name": problem})
    try:
        check_nik(crypto.decrypt(registrant.nik_encrypted), birth_date)
    except NikProblem as nik_problem:
        # The date must be the one the NIK on record encodes: a rule of the stored NIK, not of the
        # field alone.
        raise FieldsDisagree(details={"birth_date": nik_problem.reason}) from None
    with transaction.atomic(durable=True):
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        registrant.full_name, registrant.birth_date = " ".join(full_name.split()), birth_date
        registrant.save(update_fields=["full_name", "birth_date"])
        layer_set(
            registrant,
            Layer.NIK,
            P,
            reason="REGISTRY_CHECKING",
            actor=Actor.participant(registrant.pk),
            details={"corrected": True},
        )
        registry_check_queue(registrant)
    return registrant


# --- face check ----------------------------------------------------------------------------------


def face_submit(*, registrant: Registrant, image: bytes) -> Registrant:
    if not face_submit_allowed(registrant.face_status, registrant.face_reason):
        raise StepNotAvailable(details={"layer": "face"})
    clean = stripped_image(image)
    with transaction.atomic(durable=True):
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        registrant.pending_selfie = clean
        registrant.save(update_fields=["pending_selfie"])
        layer_set(
            registrant,
            Layer.FACE,
            P,
            reason="REGISTRY_CHECKING",
            actor=Actor.participant(registrant.pk),
        )
        registry_check_queue(registrant)
    return registrant


def _face_check(registrant: Registrant) -> Registrant:
    nik = crypto.decrypt(registrant.nik_encrypted)
    try:
        result = population_registry().face_match(nik, bytes(registrant.pending_selfie or b""))
    except RegistryUnavailable:
        return _registry_later(registrant.pk, Layer.FACE)
    with transaction.atomic():
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        if registrant.face_status != P:
            return registrant
        _registry_done(registrant)
        # The selfie is not kept once the registry has answered (data minimisation).
        registrant.pending_selfie = None
        registrant.save(update_fields=["pending_selfie"])
        status, reason, details = face_verdict(result)
        layer_set(registrant, Layer.FACE, status, reason=reason, actor=FACE_ACTOR, details=details)
    return registrant
