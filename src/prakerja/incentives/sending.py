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

from django.db import connection, transaction
from django.utils import timezone

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
CONFIRM_AFTER = datetime.timedelta(minutes=2)  # a batch `sending` this long is asked about


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
        return claim
    batch = TransferBatch.objects.select_related("institution").get(pk=batch_pk)
    client = bank_client(batch.institution.code)
    if claim == "confirm":
        try:
            results = client.batch_results(batch.batch_id)
        except BankUnavailable as error:
            logger.info("batch %s: not confirmed (%s); asked again later", batch.batch_id, error)
            return "unknown"
        if results is not None:
            _batch_sent(batch, rejected={})
            _outcomes(batch, results)
            return "confirmed"
    return _send(client, batch, resend=claim == "confirm")


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
        now = timezone.now()
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
        logger.info("batch %s: institution unavailable (%s)", batch.batch_id, error)
        with transaction.atomic():
            TransferBatch.objects.filter(pk=batch.pk, status=BatchStatus.SENDING).update(
                status=BatchStatus.READY
            )
            TransferInstruction.objects.filter(batch=batch, status=InstructionStatus.SENT).update(
                status=InstructionStatus.READY
            )
        return "unavailable"
    except BankOutcomeUnknown as error:
        logger.warning("batch %s: outcome unknown (%s); confirmed later", batch.batch_id, error)
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
    stale = timezone.now() - CONFIRM_AFTER
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


def batches_results_query(*, older_than: datetime.datetime | None = None) -> int:
    """Ask the institutions for the results of sent batches with instructions still accepted
    (their callbacks late or lost) and record them. Returns the batches asked."""
    batches = TransferBatch.objects.filter(
        status=BatchStatus.SENT, instructions__status=InstructionStatus.ACCEPTED
    ).distinct()
    if older_than is not None:
        batches = batches.filter(sent_at__lt=older_than)
    asked = 0
    for batch in batches.select_related("institution"):
        try:
            results = bank_client(batch.institution.code).batch_results(batch.batch_id)
        except BankUnavailable:
            continue
        asked += 1
        if results:
            _outcomes(batch, results)
    return asked
