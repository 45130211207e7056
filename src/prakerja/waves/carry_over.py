"""Carrying the applicants a draw did not select into the next wave (when the scheme says so).

Runs when a wave opens: every earlier drawn wave not carried yet is claimed by the opening wave, then
its still-pending applications are copied in chunks of ids, set-based. Re-running is harmless: an
application already in the wave is left alone (unique per wave and registrant).
"""

from django.db import connection, transaction

from prakerja.audit.services import audit_record
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.registration.models import Registrant
from prakerja.waves.models import ApplicationOutcome, Wave, WaveApplication, WaveStatus
from prakerja.waves.priorities import priority_case_sql

CHUNK = 40_000
APPS = WaveApplication._meta.db_table
REG = Registrant._meta.db_table


def wave_carry_over(*, wave_id: int) -> int:
    """Copy the unselected applicants of earlier drawn waves into the open wave `wave_id`; returns
    how many applications were added now."""
    with transaction.atomic():
        wave = Wave.objects.select_for_update().get(pk=wave_id)
        if wave.status != WaveStatus.OPEN:
            return 0
        Wave.objects.filter(
            status__in=(WaveStatus.SELECTED, WaveStatus.ANNOUNCED),
            number__lt=wave.number,
            carried_into__isnull=True,
            scheme__carry_over_unselected=True,
        ).update(carried_into=wave)
    case_sql, case_params = priority_case_sql(wave)
    added = 0
    for source in Wave.objects.filter(carried_into=wave).order_by("number"):
        first, last = _id_span(source.pk)
        for start in range(first, last + 1, CHUNK):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {APPS} (wave_id, registrant_id, applied_at, carried_from_id, "  # noqa: S608
                    "outcome, outcome_reason, province_code, priority) "
                    f"SELECT %s, a.registrant_id, %s, a.wave_id, %s, '', a.province_code, "
                    f"{case_sql} FROM {APPS} a JOIN {REG} r ON r.id = a.registrant_id "
                    "WHERE a.wave_id = %s AND a.outcome = %s AND a.id >= %s AND a.id < %s "
                    "ON CONFLICT DO NOTHING",
                    [
                        wave.pk,
                        connection.ops.adapt_datetimefield_value(clock.now()),
                        ApplicationOutcome.PENDING,
                        *case_params,
                        source.pk,
                        ApplicationOutcome.PENDING,
                        start,
                        start + CHUNK,
                    ],
                )
                added += cursor.rowcount
    if added:
        audit_record(
            actor=Actor.system("carry-over"),
            event_type="wave.carried_over",
            subject=wave,
            details={"applications": added},
        )
    return added


def _id_span(source_wave_id: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id) FROM {APPS} WHERE wave_id = %s AND outcome = %s",  # noqa: S608
            [source_wave_id, ApplicationOutcome.PENDING],
        )
        first, last = cursor.fetchone()
    return (first, last) if first is not None else (1, 0)
