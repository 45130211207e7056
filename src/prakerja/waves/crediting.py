"""Crediting a drawn wave's training balances, chunk by chunk, and queueing the selection messages.

Each chunk is one transaction: the ledger postings (one per participant, keyed by scheme and
participant, so a repeated chunk posts nothing), the participants' `credited_at`, and their SMS and
email in the outbox. With a broker the chunks go to Celery workers, several at a time; without one
they run here, one after another.
"""

from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.ledger.models import AccountKind
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.notifications.services import notifications_queue_select
from prakerja.waves.models import Participant, Wave

CHUNK = 10_000
PART = Participant._meta.db_table


def credit_key(scheme_code: str, participant_id: int) -> str:
    return f"training-credit:{scheme_code}:{participant_id}"


def wave_credit(*, wave_id: int, actor: Actor) -> int:
    """Hand out the chunks of participants not yet credited; returns how many chunks."""
    from prakerja.waves.tasks import wave_credit_chunk_task

    pending = list(
        Participant.objects.filter(wave_id=wave_id, credited_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chunks = [pending[i : i + CHUNK] for i in range(0, len(pending), CHUNK)]
    for chunk in chunks:
        wave_credit_chunk_task.delay(
            wave_id, chunk[0], chunk[-1], actor.kind, actor.id, actor.label
        )
    if not chunks:
        _finish(wave_id, actor)
    return len(chunks)


def wave_credit_chunk(*, wave_id: int, first_id: int, last_id: int, actor: Actor) -> int:
    """Credit the uncredited participants of the wave with ids in [first_id, last_id]. Unit of
    work: one transaction per id range, so a Celery worker's chunk is credited whole or not at all
    and a re-run skips what was credited (ledger keys)."""
    with transaction.atomic():
        wave = Wave.objects.select_related("scheme").get(pk=wave_id)
        scheme = wave.scheme
        ids = list(
            Participant.objects.filter(
                wave_id=wave_id, pk__range=(first_id, last_id), credited_at__isnull=True
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        accounts = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=ids)
        budget = account_get_or_create(kind=AccountKind.PROGRAM_BUDGET).pk
        amount = scheme.training_balance_idr
        transactions_post_bulk(
            kind="training_credit",
            postings=[
                Posting(credit_key(scheme.code, pid), ((budget, -amount), (accounts[pid], amount)))
                for pid in ids
            ],
            actor=actor,
            memo=f"Training balance, wave {wave.number}",
        )
        Participant.objects.filter(
            wave_id=wave_id, pk__range=(first_id, last_id), credited_at__isnull=True
        ).update(credited_at=clock.now())
        notifications_queue_select(
            kind="wave_selected",
            source_sql=(
                f"SELECT registrant_id, id AS subject_id FROM {PART} "  # noqa: S608 - model constant
                "WHERE wave_id = %s AND id BETWEEN %s AND %s"
            ),
            params=[wave_id, first_id, last_id],
        )
    _finish(wave_id, actor)
    return len(ids)


def _finish(wave_id: int, actor: Actor) -> None:
    """Mark the wave credited once no participant of it is left uncredited (exactly once)."""
    with transaction.atomic():
        # From the highest id down: chunks are credited from the lowest up, so an uncredited
        # participant is found at once rather than after every participant credited so far.
        uncredited = (
            Participant.objects.filter(wave_id=wave_id, credited_at__isnull=True)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if uncredited is not None:
            return
        if Wave.objects.filter(pk=wave_id, credited_at__isnull=True).update(
            credited_at=clock.now()
        ):
            wave = Wave.objects.get(pk=wave_id)
            audit_record(
                actor=actor,
                event_type="wave.credited",
                subject=wave,
                details={"participants": Participant.objects.filter(wave_id=wave_id).count()},
            )
