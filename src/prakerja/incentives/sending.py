"""Sending a run's batches to the institutions, a batch per task (several workers in parallel).

A batch is marked `sending` (and its instructions `sent`) in a committed transaction before the HTTP
call. If the call's outcome is unknown — a timeout, a 5xx, a worker killed mid-call — the batch stays
`sending`, and the next attempt (the task redelivered to a restarted worker, or the periodic
`batches_confirm_due`) first asks the institution what it received: a batch it has is never sent
again, one it never received is sent again under the same batch and instruction ids. Nothing is
ever sent under a new id except a new attempt after a recorded failure (a new run).
"""

import datetime
import logging
import random
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.incentives.models import (
    BatchStatus,
    DisbursementRun,
    InstructionStatus,
    RunStatus,
    TransferBatch,
    TransferInstruction,
)
from prakerja.incentives.results import Outcome, runs_finish_if_done, transfer_outcomes_record
from prakerja.integrations.bank import (
    BankClient,
    BankOutcomeUnknown,
    BankRefused,
    BankUnavailable,
    TransferAnswer,
    bank_client,
)
from prakerja.integrations.bank import (
    TransferInstruction as Wire,
)

logger = logging.getLogger(__name__)
ACTOR = Actor.system("disbursement")
# A batch `sending` this long (or sent with results this overdue) is asked about by the periodic
# job, which runs every 10 s: an unknown outcome is confirmed 20 to 30 s after the send. Shorter
# would ask about batches whose answer is still on its way; a killed worker's task is not waited
# for (the broker gives it back only after its visibility timeout).
CONFIRM_AFTER = datetime.timedelta(seconds=20)
# With a broker, a send whose outcome is unknown is asked about again after 5 to 10 s (spread so
# that the batches of one institution's bad minute do not all ask at once).
ASK_AGAIN_S = (5.0, 10.0)


def run_dispatch(*, run_id: int) -> int:
    """Queue a task per batch of an approved run that is ready (or stuck sending)."""
    from prakerja.incentives.tasks import batch_send_task

    batches = list(
        TransferBatch.objects.filter(
            run_id=run_id,
            run__status=RunStatus.APPROVED,
            status__in=(BatchStatus.READY, BatchStatus.SENDING),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for batch_pk in batches:
        batch_send_task.delay(batch_pk)
    return len(batches)


def batch_send(*, batch_pk: int) -> str:
    """Send one batch (or confirm it, if an earlier attempt's outcome is unknown). Returns what
    happened: sent, confirmed, resent, unavailable, unknown, refused, busy or done."""
    claim = _claim(batch_pk)
    if claim in ("busy", "done"):
        batch_id = TransferBatch.objects.filter(pk=batch_pk).values_list("batch_id", flat=True)
        logger.info("batch %s: %s (%s)", batch_id.first(), claim, _CLAIM_WHY[claim])
        return claim
    batch = TransferBatch.objects.select_related("institution").get(pk=batch_pk)
    client = bank_client(batch.institution.code)
    if claim == "confirm":
        try:
            results = client.batch_results(batch.batch_id)
        except BankUnavailable as error:
            logger.warning(
                "batch %s: unknown (sending since %s, attempt %s; the institution did not answer "
                "the status query: %s); asked again later",
                batch.batch_id,
                batch.sent_at,
                batch.send_attempts,
                error,
            )
            _ask_again(batch.pk)
            return "unknown"
        if results is not None:
            _batch_sent(batch, rejected={})
            _outcomes(batch, results)
            logger.info(
                "batch %s: confirmed (the institution has it: %d of its results known), not "
                "sent again",
                batch.batch_id,
                sum(1 for a in results if a.settled),
            )
            return "confirmed"
        logger.info(
            "batch %s: the institution never received it: sent again under the same ids",
            batch.batch_id,
        )
    return _send(client, batch, resend=claim == "confirm")


_CLAIM_WHY = {
    "busy": "another worker holds it",
    "done": "it is no longer ready or sending, or its run is not approved",
}


def _ask_again(batch_pk: int) -> None:
    """With a broker, ask about an unknown outcome again in a few seconds; inline (no broker) the
    periodic job asks, as a task run at once would only ask the same silent institution."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from prakerja.incentives.tasks import batch_send_task

    batch_send_task.apply_async((batch_pk,), countdown=random.uniform(*ASK_AGAIN_S))


def _claim(batch_pk: int) -> str:
    """Take the batch for this worker: `send` (it was ready: now sending), `confirm` (it was
    already sending: ask first), `busy` (another worker holds it) or `done`."""
    with transaction.atomic():
        query = TransferBatch.objects.filter(pk=batch_pk, run__status=RunStatus.APPROVED)
        if connection.vendor == "postgresql":
            query = query.select_for_update(skip_locked=True, of=("self",))
        batch = query.first()
        if batch is None:
            return "busy" if TransferBatch.objects.filter(pk=batch_pk).exists() else "done"
        if batch.status == BatchStatus.SENDING:
            return "confirm"
        if batch.status != BatchStatus.READY:
            return "done"
        now = clock.now()
        batch.status, batch.sent_at = BatchStatus.SENDING, now
        batch.send_attempts += 1
        batch.save(update_fields=["status", "sent_at", "send_attempts"])
        TransferInstruction.objects.filter(batch=batch, status=InstructionStatus.READY).update(
            status=InstructionStatus.SENT
        )
    return "send"


def _wire(batch: TransferBatch) -> list[Wire]:
    rows = (
        TransferInstruction.objects.filter(batch=batch)
        .order_by("pk")
        .values_list("instruction_id", "account__account_number", "amount_idr", "entitlement__kind")
    )
    return [
        Wire(instruction_id, number, amount, f"Insentif Kartu Prakerja ({kind})")
        for instruction_id, number, amount, kind in rows
    ]


def _send(client: BankClient, batch: TransferBatch, *, resend: bool) -> str:
    try:
        answer = client.transfer_batch(batch.batch_id, _wire(batch))
    except BankUnavailable as error:
        # Nothing was received: ready again, sent later under the same ids.
        logger.warning(
            "batch %s: unavailable (nothing received: %s); ready again, sent later under the "
            "same ids",
            batch.batch_id,
            error,
        )
        with transaction.atomic():
            TransferBatch.objects.filter(pk=batch.pk, status=BatchStatus.SENDING).update(
                status=BatchStatus.READY
            )
            TransferInstruction.objects.filter(batch=batch, status=InstructionStatus.SENT).update(
                status=InstructionStatus.READY
            )
        return "unavailable"
    except BankOutcomeUnknown as error:
        logger.warning(
            "batch %s: unknown (%s); confirmed with the institution before any resend",
            batch.batch_id,
            error,
        )
        _ask_again(batch.pk)
        return "unknown"
    except BankRefused as error:
        # Refused whole (its control totals): nothing moved; the instructions fail with a passing
        # reason, and their entitlements go to a later run.
        logger.error("batch %s refused by the institution: %s", batch.batch_id, error)
        TransferBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.REFUSED, refusal=str(error)[:200]
        )
        ids = TransferInstruction.objects.filter(batch=batch).values_list(
            "instruction_id", flat=True
        )
        transfer_outcomes_record(
            institution_id=batch.institution_id,
            outcomes=[Outcome(i, "failed", "TEMPORARY_FAILURE") for i in ids],
            actor=ACTOR,
        )
        return "refused"
    rejected = {item.instruction_id: item.reason_code for item in answer.rejected}
    logger.info(
        "batch %s: %s (%d instructions, %d rejected at once)",
        batch.batch_id,
        "resent" if resend else "sent",
        answer.accepted + len(rejected),
        len(rejected),
    )
    _batch_sent(batch, rejected=rejected)
    if rejected:
        transfer_outcomes_record(
            institution_id=batch.institution_id,
            outcomes=[Outcome(i, "failed", reason) for i, reason in rejected.items()],
            actor=ACTOR,
        )
    return "resent" if resend else "sent"


def _batch_sent(batch: TransferBatch, *, rejected: dict[str, str]) -> None:
    with transaction.atomic():
        TransferBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENT)
        TransferInstruction.objects.filter(
            batch=batch, status__in=(InstructionStatus.READY, InstructionStatus.SENT)
        ).exclude(instruction_id__in=list(rejected)).update(status=InstructionStatus.ACCEPTED)


def _outcomes(batch: TransferBatch, answers: list[TransferAnswer]) -> None:
    transfer_outcomes_record(
        institution_id=batch.institution_id,
        outcomes=[
            Outcome(
                a.instruction_id,
                a.status,
                a.reason_code or "",
                a.settled_at,
                a.partner_reference or "",
            )
            for a in answers
            if a.settled
        ],
        actor=ACTOR,
    )


def batches_confirm_due() -> int:
    """Periodic: batches of approved runs still ready (a lost task) or sending for a while (an
    unknown outcome), and sent batches whose results are overdue (lost callbacks): asked about
    and, where the institution never received them, sent under the same ids. Returns the
    batches handled."""
    stale = clock.now() - CONFIRM_AFTER
    handled = 0
    waiting = TransferBatch.objects.filter(run__status=RunStatus.APPROVED).filter(
        status__in=(BatchStatus.READY, BatchStatus.SENDING)
    )
    for batch_pk, status, sent_at in waiting.values_list("pk", "status", "sent_at"):
        if status == BatchStatus.READY or (sent_at and sent_at < stale):
            batch_send(batch_pk=batch_pk)
            handled += 1
    handled += batches_results_query(older_than=stale)
    with transaction.atomic():
        runs_finish_if_done(
            set(
                DisbursementRun.objects.filter(status=RunStatus.APPROVED).values_list(
                    "pk", flat=True
                )
            )
        )
    return handled


def batches_ask(*, batch_pks: Iterable[int], why: str) -> int:
    """Ask the institution now about these batches: one whose sending is unconfirmed is
    confirmed (or sent again if never received), a sent one's results are queried and recorded.
    Returns the batches asked."""
    asked = 0
    for batch_pk in sorted(set(batch_pks)):
        batch_id, status = (
            TransferBatch.objects.filter(pk=batch_pk).values_list("batch_id", "status").get()
        )
        logger.info("batch %s (%s): asked about because %s", batch_id, status, why)
        if status == BatchStatus.SENDING:
            batch_send(batch_pk=batch_pk)
            asked += 1
        elif status == BatchStatus.SENT:
            asked += batches_results_query(batch_pks=[batch_pk])
    return asked


def batches_results_query(
    *, older_than: datetime.datetime | None = None, batch_pks: list[int] | None = None
) -> int:
    """Ask the institutions for the results of sent batches with instructions still accepted
    (their callbacks late or lost) and record them. Returns the batches asked."""
    batches = TransferBatch.objects.filter(
        status=BatchStatus.SENT, instructions__status=InstructionStatus.ACCEPTED
    ).distinct()
    if older_than is not None:
        batches = batches.filter(sent_at__lt=older_than)
    if batch_pks is not None:
        batches = batches.filter(pk__in=batch_pks)
    asked = 0
    for batch in batches.select_related("institution"):
        try:
            results = bank_client(batch.institution.code).batch_results(batch.batch_id)
        except BankUnavailable as error:
            logger.warning("batch %s: results not answered (%s)", batch.batch_id, error)
            continue
        asked += 1
        if results:
            _outcomes(batch, results)
        logger.info(
            "batch %s: results asked (callbacks overdue): %d settled",
            batch.batch_id,
            sum(1 for a in results or [] if a.settled),
        )
    return asked
