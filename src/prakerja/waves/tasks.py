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
