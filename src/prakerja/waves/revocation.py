"""Daily jobs on the first-purchase window: reminders before the deadline, revocation after it.

Revocation (program.md §1, §7): a participant who bought nothing by the deadline loses membership;
the whole training balance goes back to the treasury account, the NIK is blocked for life and the
place is given to the next wave's draw. Both jobs are idempotent: a second run finds nothing to do.
"""

import datetime
from typing import cast

from django.db import connection, transaction
from django.db.models import QuerySet

from prakerja.audit.models import AuditEvent
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.sqlsets import value_rows
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import AccountKind, Balance
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.notifications.services import notifications_queue_select
from prakerja.waves.models import LifetimeBlock, Participant, ParticipantStatus

CHUNK = 5_000
REMINDER_DAYS = (7, 3, 1)
PART = Participant._meta.db_table


def _due(now: datetime.datetime) -> QuerySet[Participant]:
    return Participant.objects.filter(
        status=ParticipantStatus.ACTIVE,
        first_purchase_at__isnull=True,
        purchase_deadline__lt=now,
    )


def participants_revoke_due(*, actor: Actor, now: datetime.datetime | None = None) -> int:
    """Revoke every participant whose window closed without a purchase; returns how many."""
    now = now or clock.now()
    revoked = 0
    after = 0
    while True:
        ids = list(
            _due(now).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            return revoked
        revoked += _revoke_chunk(ids, now=now, actor=actor)
        after = ids[-1]


def revoke_key(participant_id: int) -> str:
    return f"training-revoke:{participant_id}"


def _revoke_chunk(ids: list[int], *, now: datetime.datetime, actor: Actor) -> int:
    """Revoke the participants among `ids` whose window has passed. Unit of work: one transaction
    per chunk (locked in id order and filtered again, balances to the treasury, NIKs blocked)."""
    with transaction.atomic():
        # Lock in id order and filter again: a purchase committed meanwhile saves the participant.
        rows = list(
            _due(now)
            .select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "registrant_id", "registrant__nik_index", "wave_id")
        )
        if not rows:
            return 0
        locked = [pk for pk, _, _, _ in rows]
        accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=locked)
        balances = dict(
            Balance.objects.filter(account_id__in=accounts.values()).values_list(
                "account_id", "amount"
            )
        )
        treasury = account_get_or_create(kind=AccountKind.TREASURY_RETURN).pk
        postings = [
            Posting(revoke_key(pk), ((accounts[pk], -balances[accounts[pk]]), (treasury, amount)))
            for pk in locked
            if (amount := balances[accounts[pk]]) > 0
        ]
        if postings:
            transactions_post_bulk(
                kind="training_revoke",
                postings=postings,
                actor=actor,
                memo="No purchase within the window: balance returned to the treasury",
            )
        Participant.objects.filter(pk__in=locked).update(
            status=ParticipantStatus.REVOKED, revoked_at=now
        )
        LifetimeBlock.objects.bulk_create(
            [
                LifetimeBlock(
                    nik_index=cast(str, nik_index),  # a participant's account holds its NIK
                    reason="REVOKED_NO_PURCHASE",
                    participant_id=pk,
                )
                for pk, _, nik_index, _ in rows
            ],
            ignore_conflicts=True,
        )
        returned = {pk: balances[accounts[pk]] for pk in locked}
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    occurred_at=now,
                    actor_kind=actor.kind,
                    actor_id=actor.id,
                    actor_label=actor.label,
                    event_type="participant.revoked",
                    subject_type="waves.participant",
                    subject_id=str(pk),
                    details={
                        "reason": "NO_PURCHASE_IN_WINDOW",
                        "wave_id": wave_id,
                        "returned_idr": returned[pk],
                    },
                )
                for pk, _, _, wave_id in rows
            ]
        )
        rows_sql, rows_param = value_rows(locked, "bigint")
        notifications_queue_select(
            kind="participant_revoked",
            source_sql=f"SELECT registrant_id, id AS subject_id FROM {PART} WHERE id IN {rows_sql}",  # noqa: S608
            params=[rows_param],
        )
    return len(locked)


def purchase_reminders_queue(*, today: datetime.date | None = None) -> int:
    """Queue the reminders due today: 7, 3 and 1 days before each active participant's deadline,
    for those who have bought nothing yet. Each reminder is queued once, however often this runs."""
    today = today or clock.today()
    queued = 0
    adapt = connection.ops.adapt_datetimefield_value
    for days in REMINDER_DAYS:
        day = today + datetime.timedelta(days=days)
        start = datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=WIB)
        queued += notifications_queue_select(
            kind="purchase_reminder",
            key=str(days),
            extra={"days": days},
            source_sql=(
                f"SELECT registrant_id, id AS subject_id FROM {PART} "  # noqa: S608
                "WHERE status = %s AND first_purchase_at IS NULL "
                "AND purchase_deadline >= %s AND purchase_deadline < %s"
            ),
            params=[
                ParticipantStatus.ACTIVE,
                adapt(start),
                adapt(start + datetime.timedelta(days=1)),
            ],
        )
    return queued
