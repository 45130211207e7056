import time

from celery import shared_task

from prakerja.partners.delivery import events_deliver_due

BUDGET_SECONDS = 50


@shared_task(name="prakerja.partners.deliver_due", soft_time_limit=120)
def events_deliver_due_task() -> int:
    """Deliver due partner events for up to ~50 seconds; the periodic schedule (every 10 s) starts
    the next round, and rounds in several workers claim disjoint events. Returns how many were
    delivered."""
    started = time.monotonic()
    delivered = 0
    while (left := BUDGET_SECONDS - (time.monotonic() - started)) > 0:
        round_ = events_deliver_due(budget_s=left)
        delivered += round_.delivered
        if round_.claimed == 0:
            break
    return delivered


@shared_task(name="prakerja.partners.idempotency_prune")
def idempotent_calls_prune_task() -> int:
    from prakerja.partners.idempotency import idempotent_calls_prune

    return idempotent_calls_prune()
