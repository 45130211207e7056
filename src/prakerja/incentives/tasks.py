"""Celery tasks of incentives: a batch per task (several workers at once) and the periodic jobs."""

from celery import shared_task


@shared_task(name="prakerja.incentives.batch_send", acks_late=True, soft_time_limit=600)
def batch_send_task(batch_pk: int) -> str:
    from prakerja.incentives.sending import batch_send

    return batch_send(batch_pk=batch_pk)


@shared_task(name="prakerja.incentives.batches_confirm_due", soft_time_limit=1800)
def batches_confirm_due_task() -> int:
    from prakerja.incentives.sending import batches_confirm_due

    return batches_confirm_due()


@shared_task(name="prakerja.incentives.payment_accounts_check_due", soft_time_limit=1800)
def payment_accounts_check_due_task() -> int:
    from prakerja.incentives.accounts import payment_accounts_check_due

    return payment_accounts_check_due()
