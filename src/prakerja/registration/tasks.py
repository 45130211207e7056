"""Background work of registration. Each task is idempotent: Celery delivers at least once (acks
late), so a task may run twice; the services it calls check state before changing anything."""

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from prakerja.integrations.sms import SmsUnavailable, sms_gateway

log = logging.getLogger(__name__)


# The registry's services queue these two tasks (registry.py imports this module, as notify.py
# does for the messages): a task reads its service when it runs, the one import back up.
@shared_task(name="prakerja.registration.registry_check", soft_time_limit=60)
def registry_check_task(registrant_id: int) -> None:
    from prakerja.registration.registry import registrant_registry_check

    registrant_registry_check(registrant_id=registrant_id)


@shared_task(name="prakerja.registration.registry_retry_due")
def registry_retry_due_task() -> int:
    from prakerja.registration.registry import registry_retry_due

    return registry_retry_due()


@shared_task(bind=True, name="prakerja.registration.sms_send", max_retries=5, soft_time_limit=30)
def sms_send_task(self: Any, phone: str, text: str, reference: str) -> str | None:
    try:
        return sms_gateway().send(to=phone, text=text, reference=reference)
    except SmsUnavailable:
        if self.request.is_eager:
            # Inline mode has no one to retry later: the person sees "resend" on the status page.
            log.warning(
                "SMS gateway unavailable; code not sent (reference %s)", reference.split(":")[0]
            )
            return None
        raise self.retry(countdown=min(300, 10 * 2**self.request.retries)) from None


@shared_task(name="prakerja.registration.email_send", max_retries=5, soft_time_limit=60)
def email_send_task(to: str, subject: str, body: str) -> None:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
