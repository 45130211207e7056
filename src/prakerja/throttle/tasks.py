from celery import shared_task

from prakerja.throttle.services import throttle_prune


@shared_task(name="prakerja.throttle.prune")
def throttle_prune_task() -> int:
    return throttle_prune()
