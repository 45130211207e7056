"""Which priority group an application is in: the first of the wave's `priority_order` that the
registrant belongs to, by declared work status ("laid_off", "unemployed") or by an imported list."""

from typing import TYPE_CHECKING, Any

from django.db import connection

from prakerja.registration.models import Employment, Registrant
from prakerja.waves.models import ApplicationOutcome, PriorityEntry, WaveApplication

if TYPE_CHECKING:
    from prakerja.waves.models import Wave

WORK_STATUS_GROUPS = {Employment.LAID_OFF.value, Employment.UNEMPLOYED.value}
APPS = WaveApplication._meta.db_table
REG = Registrant._meta.db_table
PRIO = PriorityEntry._meta.db_table


def priority_groups_known() -> set[str]:
    """The group names a wave may list: the work statuses and every imported list."""
    lists = set(PriorityEntry.objects.values_list("group", flat=True).distinct())
    return WORK_STATUS_GROUPS | lists


def priority_case_sql(wave: "Wave", registrant_alias: str = "r") -> tuple[str, list[Any]]:
    """The wave's priority group of a registrant row, as one SQL CASE (joining, the lists' refresh)."""
    if not wave.priority_order:
        return "''", []
    whens: list[str] = []
    params: list[Any] = []
    for group in wave.priority_order:
        if group in WORK_STATUS_GROUPS:
            whens.append(f"WHEN {registrant_alias}.employment = %s THEN %s")
            params += [group, group]
        else:
            group_column = connection.ops.quote_name("group")
            whens.append(
                f"WHEN EXISTS (SELECT 1 FROM {PRIO} pe WHERE pe.{group_column} = %s "  # noqa: S608
                f"AND pe.nik_index = {registrant_alias}.nik_index) THEN %s"
            )
            params += [group, group]
    return "CASE " + " ".join(whens) + " ELSE '' END", params


def priorities_refresh_lists(wave: "Wave") -> int:
    """Before the draw: give the right group to applicants on a priority list imported after they
    joined. Touches only the listed people's applications."""
    lists = [g for g in wave.priority_order if g not in WORK_STATUS_GROUPS]
    if not lists:
        return 0
    case_sql, case_params = priority_case_sql(wave)
    marks = ", ".join(["%s"] * len(lists))
    group_column = connection.ops.quote_name("group")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {APPS} SET priority = (SELECT {case_sql} FROM {REG} r "  # noqa: S608
            f"WHERE r.id = {APPS}.registrant_id) "
            f"WHERE wave_id = %s AND outcome = %s AND registrant_id IN ("
            f"SELECT r.id FROM {REG} r JOIN {PRIO} pe ON pe.nik_index = r.nik_index "
            f"WHERE pe.{group_column} IN ({marks}))",
            [*case_params, wave.pk, ApplicationOutcome.PENDING, *lists],
        )
        return cursor.rowcount
