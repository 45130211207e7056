"""Telling a wave's applicants what happened to it, in chunks, as batch work."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mass_mail

from prakerja.common.timeutil import format_wib
from prakerja.waves.models import Wave, WaveApplication

CHUNK = 1000


@shared_task(name="prakerja.waves.notice", soft_time_limit=3600)
def wave_notice_task(wave_id: int, what: str) -> int:
    """Email every applicant of the wave that it was postponed (with the new dates) or cancelled.
    Reads applicants a chunk at a time; returns how many were told."""
    wave = Wave.objects.get(pk=wave_id)
    subject = f"Kartu Prakerja: gelombang {wave.number} " + (
        "ditunda" if what == "postponed" else "dibatalkan"
    )
    body = (
        f"Gelombang {wave.number} ditunda. Pendaftaran Anda tetap tercatat. Jadwal baru: "
        f"{format_wib(wave.opens_at)} sampai {format_wib(wave.closes_at)}."
        if what == "postponed"
        else f"Gelombang {wave.number} dibatalkan. Anda dapat mendaftar di gelombang berikutnya."
    )
    told = 0
    last_id = 0
    while True:
        chunk = list(
            WaveApplication.objects.filter(wave_id=wave_id, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "registrant__email")[:CHUNK]
        )
        if not chunk:
            return told
        send_mass_mail(
            [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for _, email in chunk],
            fail_silently=False,
        )
        told += len(chunk)
        last_id = chunk[-1][0]


@shared_task(name="prakerja.waves.credit_chunk", soft_time_limit=600)
def wave_credit_chunk_task(
    wave_id: int, first_id: int, last_id: int, kind: str, actor_id: int | None, label: str
) -> int:
    from prakerja.common.actors import Actor
    from prakerja.waves.crediting import wave_credit_chunk

    actor = Actor(kind=kind, id=actor_id, label=label)  # type: ignore[arg-type]
    return wave_credit_chunk(wave_id=wave_id, first_id=first_id, last_id=last_id, actor=actor)


@shared_task(name="prakerja.waves.carry_over", soft_time_limit=1800)
def wave_carry_over_task(wave_id: int) -> int:
    from prakerja.waves.carry_over import wave_carry_over

    return wave_carry_over(wave_id=wave_id)


@shared_task(name="prakerja.waves.revoke_due", soft_time_limit=3600)
def participants_revoke_due_task() -> int:
    from prakerja.common.actors import Actor
    from prakerja.waves.revocation import participants_revoke_due

    return participants_revoke_due(actor=Actor.system("revoke-due"))


@shared_task(name="prakerja.waves.purchase_reminders", soft_time_limit=600)
def purchase_reminders_task() -> int:
    from prakerja.waves.revocation import purchase_reminders_queue

    return purchase_reminders_queue()
