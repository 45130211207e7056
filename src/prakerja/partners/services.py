"""Partners and their signing secrets: created, rotated, retired and suspended by the PMO, audited."""

import base64
import re
import secrets as random

from django.db import IntegrityError, transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import encrypt
from prakerja.common.errors import Conflict, ValidationFailed
from prakerja.partners.models import Partner, PartnerKind, PartnerSecret, PartnerStatus

MAX_LIVE_SECRETS = 2


class TooManySecrets(Conflict):
    code = "PARTNER_SECRETS_FULL"
    message_id = "Mitra ini sudah memegang dua secret aktif; pensiunkan satu terlebih dahulu."
    message_en = "This partner already holds two live secrets; retire one first."


class OnlyOneLiveSecret(Conflict):
    code = "PARTNER_SECRET_LAST"
    message_id = "Mitra ini hanya memegang satu secret aktif; tambahkan yang baru sebelum pensiun."
    message_en = "This partner holds only one live secret; add a new one before retiring it."


# The X-PARTNER-ID: lower-case ASCII letters, digits, "-" and "_" (Partner.code is 40 long).
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _new_secret() -> str:
    return random.token_urlsafe(32)


def partner_create(
    *, code: str, name: str, kind: str, actor: Actor, webhook_url: str = ""
) -> tuple[Partner, str]:
    """A partner with its first signing secret and a webhook secret; returns the signing secret
    (shown once; kept encrypted)."""
    problems = {}
    if kind not in PartnerKind.values:
        problems["kind"] = "CHOICE_INVALID"
    if not CODE.fullmatch(code):
        problems["code"] = "SLUG_REQUIRED"
    elif Partner.objects.filter(code=code).exists():
        problems["code"] = "ALREADY_EXISTS"
    name = name.strip()
    if not name:
        problems["name"] = "REQUIRED"
    elif len(name) > 120:  # Partner.name
        problems["name"] = "TOO_LONG"
    if len(webhook_url) > 200:  # Partner.webhook_url
        problems["webhook_url"] = "TOO_LONG"
    if problems:
        raise ValidationFailed(details=problems)
    secret = _new_secret()
    webhook_secret = "whsec_" + base64.b64encode(random.token_bytes(24)).decode()
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                partner = Partner.objects.create(
                    code=code,
                    name=name,
                    kind=kind,
                    webhook_url=webhook_url,
                    webhook_secret_encrypted=encrypt(webhook_secret),
                )
        except IntegrityError:  # created by someone else since the check above
            raise ValidationFailed(details={"code": "ALREADY_EXISTS"}) from None
        PartnerSecret.objects.create(partner=partner, secret_encrypted=encrypt(secret))
        audit_record(actor=actor, event_type="partner.created", subject=partner, details={})
    return partner, secret


def partner_secret_add(*, partner: Partner, actor: Actor) -> str:
    """A second live secret for rotation; returns it. Both are accepted until one is retired."""
    with transaction.atomic(durable=True):
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.secrets.filter(retired_at__isnull=True).count() >= MAX_LIVE_SECRETS:
            raise TooManySecrets(details={"partner": partner.code})
        secret = _new_secret()
        added = PartnerSecret.objects.create(partner=partner, secret_encrypted=encrypt(secret))
        audit_record(
            actor=actor,
            event_type="partner.secret_added",
            subject=partner,
            details={"secret": added.pk},
        )
    return secret


def partner_secret_retire_oldest(*, partner: Partner, actor: Actor) -> int:
    """Retire the older of two live secrets (the end of a rotation); returns its id."""
    with transaction.atomic(durable=True):
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        live = list(partner.secrets.filter(retired_at__isnull=True).order_by("created_at", "pk"))
        if len(live) < MAX_LIVE_SECRETS:
            raise OnlyOneLiveSecret(details={"partner": partner.code})
        oldest = live[0]
        oldest.retired_at = clock.now()
        oldest.save(update_fields=["retired_at"])
        audit_record(
            actor=actor,
            event_type="partner.secret_retired",
            subject=partner,
            details={"secret": oldest.pk},
        )
    return oldest.pk


def partner_status_set(*, partner: Partner, status: str, reason: str, actor: Actor) -> Partner:
    """Suspend (every call refused with 403 PARTNER_SUSPENDED) or reactivate a partner."""
    if status not in PartnerStatus.values:
        raise ValidationFailed(details={"status": "CHOICE_INVALID"})
    with transaction.atomic(durable=True):
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        before = partner.status
        if before == status:
            return partner  # nothing to change, nothing to audit
        partner.status = status
        partner.save(update_fields=["status"])
        audit_record(
            actor=actor,
            event_type="partner.status_changed",
            subject=partner,
            details={"from": before, "to": status, "reason": reason},
        )
    return partner


def partner_webhook_set(*, partner: Partner, url: str, actor: Actor) -> Partner:
    """Where the partner's events are delivered (set by the PMO from what the partner declares)."""
    if url and not url.startswith(("http://", "https://")):
        raise ValidationFailed(details={"webhook_url": "URL_INVALID"})
    with transaction.atomic(durable=True):
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        before = partner.webhook_url
        partner.webhook_url = url
        partner.save(update_fields=["webhook_url"])
        audit_record(
            actor=actor,
            event_type="partner.webhook_changed",
            subject=partner,
            details={"from": before, "to": url},
        )
    return partner
