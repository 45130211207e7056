import time

from celery import shared_task

from prakerja.notifications.services import notifications_send_due

BUDGET_SECONDS = 50


@shared_task(name="prakerja.notifications.send_due", soft_time_limit=120)
def notifications_send_due_task() -> int:
    """Drain the outbox for up to a minute; the periodic schedule starts the next round."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < BUDGET_SECONDS:
        batch = notifications_send_due()
        sent += batch
        if batch == 0:
            break
    return sent
