"""Queueing messages in the outbox (set-based) and sending what is due."""

import datetime
import json
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction

from prakerja.common import clock
from prakerja.integrations.sms import SmsUnavailable, sms_gateway
from prakerja.notifications.messages import MESSAGES
from prakerja.notifications.models import Channel, Notification, NotificationStatus

log = logging.getLogger(__name__)

N = Notification._meta.db_table
MAX_ATTEMPTS = 8
LEASE = datetime.timedelta(minutes=5)  # a claimed message is retried if its sender died


def notifications_queue_select(
    *,
    kind: str,
    source_sql: str,
    params: list[Any],
    channels: tuple[str, ...] = (Channel.SMS, Channel.EMAIL),
    extra: dict[str, Any] | None = None,
    key: str = "",
) -> int:
    """Queue `kind` on each channel for every row of `source_sql`, a SELECT of
    (registrant_id, subject_id), in one statement. A message already queued under the same
    kind, key, subject, registrant and channel is left alone, so a re-run queues nothing twice.
    Returns how many were queued now. Runs in the caller's transaction: the messages exist if and
    only if the change commits."""
    if connection.vendor == "postgresql":
        payload = "jsonb_build_object('subject', s.subject_id) || %s::jsonb"
        channel_rows = " UNION ALL ".join(["SELECT %s::varchar AS channel"] * len(channels))
    else:
        payload = "json_patch(json_object('subject', s.subject_id), %s)"
        channel_rows = " UNION ALL ".join(["SELECT %s AS channel"] * len(channels))
    now = connection.ops.adapt_datetimefield_value(clock.now())
    prefix = f"{kind}:{key}:" if key else f"{kind}:"
    sql = (
        f"INSERT INTO {N} (registrant_id, channel, kind, params, dedupe_key, status, attempts, "  # noqa: S608 - names are model constants
        "next_attempt_at, last_error, created_at) "
        f"SELECT s.registrant_id, c.channel, %s, {payload}, "
        "%s || CAST(s.subject_id AS varchar(20)) || ':' || CAST(s.registrant_id AS varchar(20)) "
        "|| ':' || c.channel, 'queued', 0, %s, '', %s "
        f"FROM ({source_sql}) AS s CROSS JOIN ({channel_rows}) AS c WHERE true "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, json.dumps(extra or {}), prefix, now, now, *params, *channels])
        return cursor.rowcount


def notifications_send_due(*, limit: int = 500) -> int:
    """Send up to `limit` due messages; returns how many went out. Safe to run in several workers
    at once: each claims its batch (PostgreSQL: SKIP LOCKED) by pushing the next attempt a lease
    ahead, so a worker that dies mid-batch leaves its messages to be retried, not lost."""
    now = clock.now()
    with transaction.atomic():
        due = Notification.objects.filter(
            status=NotificationStatus.QUEUED, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        batch = list(due.select_related("registrant")[:limit])
        Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
            next_attempt_at=now + LEASE
        )
    sent = 0
    for notification in batch:
        sent += _send_one(notification)
    return sent


def _send_one(notification: Notification) -> int:
    registrant = notification.registrant
    try:
        text = MESSAGES[notification.kind](notification)
        if notification.channel == Channel.SMS:
            if not registrant.phone:
                raise _Undeliverable("NO_PHONE")
            sms_gateway().send(to=registrant.phone, text=text.sms, reference=f"n{notification.pk}")
        else:
            send_mail(text.subject, text.body, settings.DEFAULT_FROM_EMAIL, [registrant.email])
    except _Undeliverable as problem:
        _fail(notification, str(problem), final=True)
        return 0
    except (SmsUnavailable, OSError) as problem:
        _fail(notification, f"{type(problem).__name__}: {problem}"[:200], final=False)
        return 0
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENT,
        sent_at=clock.now(),
        attempts=notification.attempts + 1,
        last_error="",
    )
    return 1


class _Undeliverable(Exception):
    pass


def _fail(notification: Notification, error: str, *, final: bool) -> None:
    attempts = notification.attempts + 1
    give_up = final or attempts >= MAX_ATTEMPTS
    log.warning("message %s not sent (attempt %s): %s", notification.pk, attempts, error)
    Notification.objects.filter(pk=notification.pk).update(
        attempts=attempts,
        last_error=error,
        status=NotificationStatus.FAILED if give_up else NotificationStatus.QUEUED,
        next_attempt_at=clock.now() + datetime.timedelta(seconds=30 * 2**attempts),
    )
