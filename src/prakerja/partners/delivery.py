"""Delivering the outbox's events to partners (partner-api.md, "Events the system sends to
partners"): signed by the Standard Webhooks specification, at least once, in order per subject,
retried with backoff for 24 hours.

How a round works (`events_deliver_due`):

1. Claim. In one short transaction, pick due events (not delivered, not given up,
   next_attempt_at ≤ now) of which no EARLIER event of the same (partner, subject) is still open
   (undelivered and not given up): so a later event waits until the earlier one is delivered or
   given up, and at most one event per subject is ever in flight. PostgreSQL locks the picked rows
   with FOR UPDATE SKIP LOCKED, so several workers claim disjoint batches; SQLite takes the write
   lock at BEGIN (transaction_mode IMMEDIATE), so claims queue. A claim pushes next_attempt_at a
   lease ahead: a worker that dies mid-round leaves its events to be retried after the lease, not
   lost, and no other worker sees them as due meanwhile.
2. Send. POST the JSON body to the partner's webhook_url with the headers webhook-id (`evt_<id>`,
   the same on every retry so the partner can deduplicate), webhook-timestamp and
   webhook-signature (`v1,<base64 HMAC-SHA256>`), computed by the `standardwebhooks` reference
   library with the partner's `whsec_…` secret. Redirects are not followed.
3. Record. Every try writes a DeliveryAttempt (status code or error, duration). A 2xx answer marks
   the event delivered; anything else schedules the next try 30 s after the first failure, doubling
   up to one hour, and never later than 24 hours after the event was created; a failure 24 hours or
   more after creation gives the event up (logged). When a partner's endpoint cannot be reached at
   all (refused connection, timeout), its remaining events of the round are deferred by 30 s
   without being sent, so one dead endpoint does not hold a worker for timeout × batch.

A partner without a webhook_url (or without a webhook secret) gets nothing: its events are kept
undelivered and are not attempted, so no retry time is spent; they go out once a URL is set (and
those then older than 24 hours are given up at their first failure).
"""

import binascii
import datetime
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.fernet import InvalidToken
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.config import env
from prakerja.partners.models import DeliveryAttempt, OutboundEvent, Partner

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=5)  # longer than a round's budget plus one request's timeout
FIRST_BACKOFF = datetime.timedelta(seconds=30)
MAX_BACKOFF = datetime.timedelta(hours=1)
RETRY_FOR = datetime.timedelta(hours=24)
ROUND_BUDGET_S = 60.0
USER_AGENT = "prakerja-webhooks/1"
_ANSWER_KEPT = 200  # characters of a refusing endpoint's answer kept for the console


@dataclass
class DeliveryRound:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0  # answered non-2xx or unreachable; retried later
    gave_up: int = 0
    deferred: int = 0  # not sent: the partner's endpoint was unreachable earlier in the round
    released: int = 0  # not sent: the round's time budget ran out; due again at once


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status_code: int | None
    error: str
    duration_ms: int
    unreachable: bool = False


def backoff(failures: int) -> datetime.timedelta:
    """The wait after the `failures`-th failed try: 30 s, 1 min, 2 min, … capped at one hour."""
    doublings = min(max(failures - 1, 0), 20)  # 30 s · 2^20 is far past the cap; no overflow
    return min(FIRST_BACKOFF * 2**doublings, MAX_BACKOFF)


def events_deliver_due(*, limit: int = 100, budget_s: float = ROUND_BUDGET_S) -> DeliveryRound:
    """Claim up to `limit` due events and try each once (see the module docstring). Events not
    tried within `budget_s` seconds are released, due again at once. Safe in several workers."""
    deadline = time.monotonic() + budget_s
    batch, lease_until = _claim(limit)
    result = DeliveryRound(claimed=len(batch))
    if not batch:
        return result
    partners = Partner.objects.in_bulk({event.partner_id for event in batch})
    signers: dict[int, Webhook | str] = {}
    unreachable: set[int] = set()
    timeout = float(env.get("PRAKERJA_WEBHOOK_TIMEOUT_S"))
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for position, event in enumerate(batch):
            if time.monotonic() >= deadline:
                result.released = _release(batch[position:], lease_until)
                break
            if event.partner_id in unreachable:
                if _defer(event):
                    result.gave_up += 1
                else:
                    result.deferred += 1
                continue
            partner = partners[event.partner_id]
            if partner.pk not in signers:
                signers[partner.pk] = _signer(partner)
            outcome = _send(client, event, partner.webhook_url, signers[partner.pk])
            if outcome.unreachable:
                unreachable.add(partner.pk)
            state = _record(event, outcome)
            if state == "delivered":
                result.delivered += 1
            elif state == "gave_up":
                result.gave_up += 1
            else:
                result.failed += 1
    return result


def _claim(limit: int) -> tuple[list[OutboundEvent], datetime.datetime]:
    now = clock.now()
    lease_until = now + LEASE
    earlier_open = OutboundEvent.objects.filter(
        partner_id=OuterRef("partner_id"),
        subject=OuterRef("subject"),
        pk__lt=OuterRef("pk"),
        delivered_at__isnull=True,
        gave_up_at__isnull=True,
    )
    with transaction.atomic():
        due = (
            OutboundEvent.objects.filter(
                delivered_at__isnull=True, gave_up_at__isnull=True, next_attempt_at__lte=now
            )
            .exclude(partner__webhook_url="")
            .exclude(partner__webhook_secret_encrypted="")
            .filter(~Exists(earlier_open))
            .order_by("next_attempt_at", "pk")
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        batch = list(due[:limit])
        if batch:
            OutboundEvent.objects.filter(pk__in=[event.pk for event in batch]).update(
                next_attempt_at=lease_until
            )
    return batch, lease_until


def _signer(partner: Partner) -> Webhook | str:
    """The partner's Standard Webhooks signer, or why there is none (an unusable secret)."""
    try:
        return Webhook(decrypt(partner.webhook_secret_encrypted))
    except (InvalidToken, binascii.Error, ValueError, EmptyWebhookSecretError) as problem:
        return f"WEBHOOK_SECRET_UNUSABLE: {type(problem).__name__}"


def signed_request(event: OutboundEvent, signer: Webhook) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery, signed now (each retry is signed afresh, with the
    same webhook-id)."""
    body = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
    sent_at = clock.now()  # aware UTC, as Webhook.sign expects
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signer.sign(event.webhook_id, sent_at, body),
    }
    return body.encode(), headers


def _send(client: httpx.Client, event: OutboundEvent, url: str, signer: Webhook | str) -> _Outcome:
    if isinstance(signer, str):
        return _Outcome(False, None, signer, 0)
    body, headers = signed_request(event, signer)
    started = time.monotonic()
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code
            answer = b""
            if not 200 <= status < 300:
                for chunk in response.iter_bytes():
                    answer += chunk
                    if len(answer) >= _ANSWER_KEPT:
                        break
    except httpx.TransportError as problem:  # refused, reset, timed out, bad URL scheme…
        return _Outcome(
            False, None, f"{type(problem).__name__}: {problem}"[:300], _ms(started), True
        )
    except (httpx.HTTPError, httpx.InvalidURL) as problem:  # e.g. a malformed webhook_url
        return _Outcome(False, None, f"{type(problem).__name__}: {problem}"[:300], _ms(started))
    if 200 <= status < 300:
        return _Outcome(True, status, "", _ms(started))
    text = answer[:_ANSWER_KEPT].decode("utf-8", "replace")
    return _Outcome(False, status, f"HTTP {status}: {text}"[:300], _ms(started))


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _record(event: OutboundEvent, outcome: _Outcome) -> str:
    """Write the attempt and the event's new state; returns delivered, retry or gave_up."""
    now = clock.now()
    still_open = OutboundEvent.objects.filter(
        pk=event.pk, delivered_at__isnull=True, gave_up_at__isnull=True
    )
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            event=event,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        if outcome.ok:
            still_open.update(delivered_at=now, attempts=F("attempts") + 1)
            return "delivered"
        if now - event.created_at >= RETRY_FOR:
            still_open.update(gave_up_at=now, attempts=F("attempts") + 1)
            _log_gave_up(event, outcome.error)
            return "gave_up"
        retry_at = min(now + backoff(event.attempts + 1), event.created_at + RETRY_FOR)
        still_open.update(next_attempt_at=retry_at, attempts=F("attempts") + 1)
    log.info("event %s to %s failed: %s", event.pk, event.partner_id, outcome.error)
    return "retry"


def _defer(event: OutboundEvent) -> bool:
    """Put off an event whose partner's endpoint was just unreachable; True when it is given up
    instead, being 24 hours old."""
    now = clock.now()
    still_open = OutboundEvent.objects.filter(
        pk=event.pk, delivered_at__isnull=True, gave_up_at__isnull=True
    )
    if now - event.created_at < RETRY_FOR:
        still_open.update(next_attempt_at=min(now + FIRST_BACKOFF, event.created_at + RETRY_FOR))
        return False
    error = "not sent: the endpoint was unreachable moments before"
    with transaction.atomic():
        DeliveryAttempt.objects.create(event=event, attempted_at=now, error=error)
        still_open.update(gave_up_at=now)
    _log_gave_up(event, error)
    return True


def _release(events: list[OutboundEvent], lease_until: datetime.datetime) -> int:
    return OutboundEvent.objects.filter(
        pk__in=[event.pk for event in events], next_attempt_at=lease_until
    ).update(next_attempt_at=clock.now())


def _log_gave_up(event: OutboundEvent, error: str) -> None:
    log.warning(
        "event %s (%s, subject %s) for partner %s given up after 24 hours: %s",
        event.pk,
        event.event_type,
        event.subject,
        event.partner_id,
        error,
    )


def events_retry_now(*, event_ids: list[int], actor: Actor) -> int:
    """Make undelivered events (given up or waiting for their next try) due now; returns how many.
    Delivered events are left alone. A given-up event becomes open again, so later events of its
    subject wait for it once more; being older than 24 hours, it is given up again at its first
    failure. An event behind an earlier open event of its subject still waits for that one."""
    with transaction.atomic():
        events = list(
            OutboundEvent.objects.select_for_update()
            .filter(pk__in=event_ids, delivered_at__isnull=True)
            .order_by("pk")
        )
        if not events:
            return 0
        OutboundEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            next_attempt_at=clock.now(), gave_up_at=None
        )
        for event in events:
            details: dict[str, Any] = {
                "partner": event.partner_id,
                "event_type": event.event_type,
                "attempts": event.attempts,
                "was_given_up": event.gave_up_at is not None,
            }
            audit_record(
                actor=actor, event_type="partner_event.retry_now", subject=event, details=details
            )
    return len(events)
