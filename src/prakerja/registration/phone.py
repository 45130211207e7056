"""The phone layer, per request: it opens with an SMS code once the NIK passes, takes the code
(and then decides eligibility), and starts over when the number changes."""

import contextlib

from django.db import IntegrityError, transaction

from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.registration import limits, notify
from prakerja.registration.codes import ResendTooSoon, code_check, code_issue
from prakerja.registration.eligibility import eligibility_decide
from prakerja.registration.errors import PhoneTaken, StepNotAvailable
from prakerja.registration.layers import layer_set
from prakerja.registration.models import CodePurpose, Layer, Registrant
from prakerja.registration.rules import (
    ELIGIBILITY_ACTOR,
    OK,
    PHONE_AWAITING_CODE,
    P,
    normalise_phone,
    phone_opening,
)
from prakerja.registration.signals import phone_changed
from prakerja.throttle.services import RateLimited, throttle_hit


def phone_layer_open(registrant: Registrant, *, actor: Actor) -> None:
    """The NIK passed: the phone layer opens as rules.phone_opening says, with the SMS code."""
    reason = phone_opening(registrant.phone)
    layer_set(registrant, Layer.PHONE, P, reason=reason, actor=actor)
    if registrant.phone is None:
        return
    # If the number hit its cap, the passed NIK check stands; the person asks again later.
    with contextlib.suppress(RateLimited, ResendTooSoon):
        _send_phone_code(registrant, client_ip="system")


def _send_phone_code(registrant: Registrant, *, client_ip: str) -> None:
    assert registrant.phone
    throttle_hit(key=f"sms:number:{registrant.phone}", limit=limits.SMS_PER_NUMBER_PER_DAY)
    throttle_hit(key=f"sms:account:{registrant.pk}", limit=limits.SMS_PER_ACCOUNT_PER_DAY)
    if client_ip != "system":
        throttle_hit(key=f"sms:ip:{client_ip}", limit=limits.SMS_PER_IP_PER_DAY)
    code = code_issue(registrant=registrant, purpose=CodePurpose.PHONE, target=registrant.phone)
    notify.phone_code(registrant, code=code)


def _awaiting_code(registrant: Registrant) -> bool:
    return (registrant.phone_status, registrant.phone_reason) == PHONE_AWAITING_CODE


def phone_resend(*, registrant: Registrant, client_ip: str) -> None:
    if not _awaiting_code(registrant):
        raise StepNotAvailable(details={"layer": "phone"})
    with transaction.atomic(durable=True):
        _send_phone_code(registrant, client_ip=client_ip)


def phone_verify_code(*, registrant: Registrant, code: str, client_ip: str) -> Registrant:
    if not _awaiting_code(registrant):
        raise StepNotAvailable(details={"layer": "phone"})
    throttle_hit(key=f"otp-check:ip:{client_ip}", limit=limits.OTP_CHECKS_PER_IP)
    code_check(registrant=registrant, purpose=CodePurpose.PHONE, code=code)
    with transaction.atomic(durable=True):
        registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
        layer_set(registrant, Layer.PHONE, OK, actor=Actor.participant(registrant.pk))
        eligibility_decide(registrant, actor=ELIGIBILITY_ACTOR)
    return registrant


def phone_change(*, registrant: Registrant, phone: str, client_ip: str) -> Registrant:
    """A new number must be verified again. Apps keeping something keyed by the old number react
    to `signals.phone_changed` in the same transaction (incentives: e-wallets unlinked, unpaid
    incentives held with PHONE_CHANGED until an account is linked again, program.md §5)."""
    if registrant.phone_status == P and registrant.phone_reason == "WAITING_EARLIER_LAYER":
        raise StepNotAvailable(details={"layer": "phone"})
    try:
        new_phone = normalise_phone(phone)
    except ValueError:
        raise ValidationFailed(details={"phone": "PHONE_INVALID"}) from None
    # Signed in, the person may learn that a number is taken; a day's cap keeps that from becoming
    # a way to test numbers by the thousand.
    throttle_hit(key=f"phone-change:{registrant.pk}", limit=limits.PHONE_CHANGES_PER_DAY)
    if (
        Registrant.objects.filter(phone=new_phone, is_active=True)
        .exclude(pk=registrant.pk)
        .exists()
    ):
        raise PhoneTaken(details={"phone": "PHONE_TAKEN"})
    try:
        with transaction.atomic(durable=True):
            registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
            registrant.phone = new_phone
            registrant.save(update_fields=["phone"])
            actor = Actor.participant(registrant.pk)
            layer_set(
                registrant,
                Layer.PHONE,
                P,
                reason="AWAITING_PHONE_CODE",
                actor=actor,
                details={"changed": True},
            )
            phone_changed.send(sender=Registrant, registrant_id=registrant.pk, actor=actor)
            _send_phone_code(registrant, client_ip=client_ip)
    except IntegrityError:
        raise PhoneTaken(details={"phone": "PHONE_TAKEN"}) from None
    return registrant
