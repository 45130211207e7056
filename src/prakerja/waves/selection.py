"""`wave_select`: the draw of a closed wave and the crediting of its participants.

Two durable steps. The draw is one transaction: re-check the candidates, draw by the published rule,
record outcomes and participants (with card numbers and deadlines), mark the wave selected. Crediting
then runs in chunks (several Celery workers may take them), each one transaction that credits its
participants in the ledger and queues their messages. Calling `wave_select` again on a drawn wave
only finishes the crediting: ledger keys per participant and scheme make a repeated chunk a no-op.
"""

import datetime
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import Conflict, ValidationFailed
from prakerja.common.sqlsets import pair_rows, value_rows
from prakerja.common.timeutil import WIB
from prakerja.registration.models import ExclusionEntry, Registrant
from prakerja.waves import crediting
from prakerja.waves.cards import card_number_new
from prakerja.waves.draw import (
    GLOBAL,
    Buckets,
    Candidate,
    Fact,
    FactCache,
    Facts,
    PrefixTooShort,
    draw,
    initial_buckets,
)
from prakerja.waves.lottery import commitment, rank60, rank60_sql, ranker
from prakerja.waves.models import (
    ApplicationOutcome,
    LifetimeBlock,
    Participant,
    ParticipantStatus,
    ProgramScheme,
    Verification,
    Wave,
    WaveApplication,
    WaveStatus,
)
from prakerja.waves.priorities import priorities_refresh_lists
from prakerja.waves.services import WaveTransitionRefused, _move

APPS = WaveApplication._meta.db_table
REG = Registrant._meta.db_table
PART = Participant._meta.db_table
BLOCK = LifetimeBlock._meta.db_table
EXCL = ExclusionEntry._meta.db_table
CHUNK = 20_000  # ids per statement

log = logging.getLogger(__name__)


class SeedMismatch(Conflict):
    code = "SEED_MISMATCH"
    message_id = (
        "Seed yang dibuka tidak cocok dengan komitmen yang diumumkan saat gelombang dibuka."
    )
    message_en = "The revealed seed does not match the commitment published when the wave opened."


@dataclass(frozen=True)
class SelectionResult:
    wave: Wave
    selected: int
    ineligible: int
    quota: int


@dataclass
class _Laps:
    """Seconds per phase of a draw, logged when it is recorded: where a national draw's time goes."""

    seconds: dict[str, float] = field(default_factory=dict)
    last: float = field(default_factory=time.perf_counter)

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self.last
        self.last = now


def wave_select(*, wave: Wave, seed: str, actor: Actor) -> SelectionResult:
    """Reveal the seed, draw the wave's participants and credit them. On a wave already drawn
    (a re-run after a crash, or a second click) it credits whoever is not credited yet."""
    if not seed:
        raise ValidationFailed(details={"seed": "REQUIRED"})
    wave = Wave.objects.select_related("scheme").get(pk=wave.pk)
    if commitment(seed) != wave.seed_commitment:
        raise SeedMismatch(details={"wave": wave.number})
    if wave.status == WaveStatus.CLOSED:
        _draw_and_record(wave_id=wave.pk, seed=seed, actor=actor)
    elif wave.status not in (WaveStatus.SELECTED, WaveStatus.ANNOUNCED):
        raise WaveTransitionRefused(
            details={"wave": wave.number, "from": wave.status, "to": WaveStatus.SELECTED},
            current=wave.status,
            target=WaveStatus.SELECTED,
        )
    crediting.wave_credit(wave_id=wave.pk, actor=actor)
    wave.refresh_from_db()
    # Named outcomes, not "all but pending": the (wave, outcome) index then finds the few hundred
    # thousand rows instead of a scan of the wave's millions.
    counts = dict(
        WaveApplication.objects.filter(
            wave=wave, outcome__in=[ApplicationOutcome.SELECTED, ApplicationOutcome.INELIGIBLE]
        )
        .values_list("outcome")
        .annotate(n=Count("id"))
    )
    return SelectionResult(
        wave=wave,
        selected=counts.get(ApplicationOutcome.SELECTED, 0),
        ineligible=counts.get(ApplicationOutcome.INELIGIBLE, 0),
        quota=wave.quota + wave.quota_freed,
    )


def _draw_and_record(*, wave_id: int, seed: str, actor: Actor) -> None:
    with transaction.atomic():
        wave = Wave.objects.select_for_update().select_related("scheme").get(pk=wave_id)
        # Draws run one at a time: each counts the families of the participants drawn before it.
        ProgramScheme.objects.select_for_update().filter(pk=wave.scheme_id).first()
        if wave.status != WaveStatus.CLOSED:
            return  # another process drew it between our read and our lock
        scheme = wave.scheme
        laps = _Laps()
        freed = Participant.objects.filter(
            status=ParticipantStatus.REVOKED, quota_returned_to__isnull=True
        ).update(quota_returned_to=wave)
        quota = wave.quota + freed
        priorities_refresh_lists(wave)
        sizes = _bucket_sizes(wave.pk)
        laps.lap("sizes")
        buckets = initial_buckets(
            sizes=sizes,
            quota=quota,
            priority_order=list(wave.priority_order),
            province_quotas=dict(wave.province_quotas),
        )
        facts = FactCache(_facts_reader(wave))
        while True:
            candidates = _fetch(wave, seed, buckets) if sizes else []
            laps.lap("fetch")
            try:
                chosen, met = draw(
                    candidates,
                    buckets=buckets,
                    quota=quota,
                    max_per_family=scheme.max_participants_per_family,
                    facts=facts,
                    priority_order=list(wave.priority_order),
                    province_quotas=dict(wave.province_quotas),
                )
                laps.lap("rule and re-check")
                break
            except PrefixTooShort as short:
                laps.lap("rule and re-check")
                buckets.lengthen(short.bucket)
        ineligible: dict[str, list[int]] = {}
        for application_id, reason in met.items():
            ineligible.setdefault(reason, []).append(application_id)
        _record_outcomes(chosen, ineligible)
        laps.lap("outcomes")
        now = clock.now()
        _insert_participants(wave, chosen, selected_at=now, deadline=_deadline(now, scheme))
        laps.lap("participants")
        wave.seed = seed
        wave.quota_freed = freed
        wave.selected_at = now
        _move(
            wave,
            WaveStatus.SELECTED,
            actor=actor,
            details={
                "seed": seed,
                "quota": wave.quota,
                "quota_freed": freed,
                "selected": len(chosen),
                "ineligible": {reason: len(ids) for reason, ids in ineligible.items()},
            },
        )
        laps.lap("record")
    # Deferred foreign-key checks of the participants run at commit: part of the draw's cost.
    laps.lap("commit")
    log.info(
        "wave %s drawn: %s of %s candidates selected; seconds %s",
        wave.number,
        len(chosen),
        len(candidates),
        {phase: round(seconds, 2) for phase, seconds in laps.seconds.items()},
        extra={"timings": laps.seconds},
    )


def _deadline(selected_at: datetime.datetime, scheme: ProgramScheme) -> datetime.datetime:
    """The end (23:59:59 WIB) of the window's last day, counted from the day of selection."""
    last_day = selected_at.astimezone(WIB).date() + datetime.timedelta(
        days=scheme.first_purchase_window_days
    )
    return datetime.datetime.combine(last_day, datetime.time(23, 59, 59), tzinfo=WIB)


def _bucket_sizes(wave_id: int) -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT priority, province_code, count(*) FROM {APPS} "  # noqa: S608 - model constants
            "WHERE wave_id = %s AND outcome = %s GROUP BY priority, province_code",
            [wave_id, ApplicationOutcome.PENDING],
        )
        return {(priority, province): n for priority, province, n in cursor.fetchall()}


def _fetch(wave: Wave, seed: str, buckets: Buckets) -> list[Candidate]:
    """Every pending application whose rank60 is below its row's threshold: one scan of the wave's
    applications, the HMAC computed once per row inside the database."""
    threshold_sql, threshold_params = _threshold_sql(buckets)
    rank_sql, rank_params = rank60_sql(connection.vendor, seed, "a.id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.province_code, a.priority FROM {APPS} a "  # noqa: S608
            f"WHERE a.wave_id = %s AND a.outcome = %s AND {rank_sql} < {threshold_sql}",
            [wave.pk, ApplicationOutcome.PENDING, *rank_params, *threshold_params],
        )
        rows = cursor.fetchall()
    rank_of = ranker(seed)
    candidates = []
    for application_id, province, priority in rows:
        full = rank_of(application_id)
        candidates.append(Candidate(application_id, province, priority, full, rank60(full)))
    return candidates


def _threshold_sql(buckets: Buckets) -> tuple[str, list[Any]]:
    """`row_threshold` of the row `a` as an SQL expression, and its parameters: the largest of the
    thresholds of the buckets the row is in. An expression rather than a join with a table of
    thresholds per (priority, province): SQLite would compute the rank once per row of that table."""
    parts = ["CAST(%s AS bigint)"]
    params: list[Any] = [buckets.threshold[GLOBAL]]
    for kind, column in (("priority", "a.priority"), ("province", "a.province_code")):
        whens = sorted((name, t) for (k, name), t in buckets.threshold.items() if k == kind)
        if whens:
            branches = " ".join(["WHEN %s THEN CAST(%s AS bigint)"] * len(whens))
            parts.append(f"CASE {column} {branches} ELSE 0 END")
            params += [value for when in whens for value in when]
    if len(parts) == 1:
        return parts[0], params
    # SQLite's max() of several arguments is PostgreSQL's GREATEST (of one, an aggregate).
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return f"{greatest}({', '.join(parts)})", params


def _facts_reader(wave: Wave) -> Facts:
    """Reads, for a batch of applications, the family and whether the applicant still qualifies:
    exclusion lists, lifetime blocks, earlier participation, account, age, schooling and the
    verification layers the wave requires are read again now, whatever they were at joining; and
    how many of the family were drawn before."""
    scheme = wave.scheme
    today = clock.today()
    try:
        born_by = today.replace(year=today.year - scheme.min_age_years)
    except ValueError:  # 29 February
        born_by = today.replace(year=today.year - scheme.min_age_years, day=28)
    layers = ["email", "nik", "phone", "eligibility"] + (
        ["face"] if wave.verification == Verification.FACE else []
    )
    unverified = " OR ".join(f"r.{layer}_status <> 'passed'" for layer in layers)

    def read(application_ids: list[int]) -> dict[int, Fact]:
        in_batch, batch_param = _ids_in("a.id", sorted(application_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.id, r.id, r.kk_index, CASE "  # noqa: S608 - model constants
                "WHEN p.id IS NOT NULL THEN 'ALREADY_PARTICIPANT' "
                "WHEN b.id IS NOT NULL THEN 'LIFETIME_BLOCK' "
                f"WHEN EXISTS (SELECT 1 FROM {EXCL} e WHERE e.nik_index = r.nik_index) "
                "THEN 'EXCLUDED' "
                "WHEN NOT r.is_active THEN 'ACCOUNT_CLOSED' "
                "WHEN r.in_school THEN 'IN_SCHOOL' "
                "WHEN r.birth_date > %s THEN 'UNDER_AGE' "
                f"WHEN {unverified} THEN 'NOT_VERIFIED' "
                "ELSE '' END, "
                f"CASE WHEN r.kk_index = '' THEN 0 ELSE (SELECT count(*) FROM {PART} fp "
                f"JOIN {REG} fr ON fr.id = fp.registrant_id WHERE fr.kk_index = r.kk_index) END "
                f"FROM {APPS} a JOIN {REG} r ON r.id = a.registrant_id "
                f"LEFT JOIN {PART} p ON p.registrant_id = r.id "
                f"LEFT JOIN {BLOCK} b ON b.nik_index = r.nik_index "
                f"WHERE {in_batch}",
                [born_by, batch_param],
            )
            return {
                application_id: Fact(family_of(kk_index, registrant_id), reason, used)
                for application_id, registrant_id, kk_index, reason, used in cursor.fetchall()
            }

    return read


def family_of(kk_index: str, registrant_id: int) -> str:
    """The family a registrant counts in: the family card's blind index, or the person alone when
    the registry gave no family card."""
    return kk_index or f"r:{registrant_id}"


def _ids_in(column: str, ids: list[int]) -> tuple[str, Any]:
    """SQL for "`column` is one of `ids`" and its one parameter. Given sorted ids, PostgreSQL walks
    the index in id order for `= ANY(array)`, so a chunk touches the table and its indexes in order
    rather than at random: on a table of 10 M rows most pages are not in memory."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", _int_array(ids)
    rows_sql, rows_param = value_rows(ids, "bigint")
    return f"{column} IN {rows_sql}", rows_param


def _int_array(values: list[int]) -> str:
    """A PostgreSQL array literal: psycopg adapts a list element by element in Python, which for
    the hundreds of thousands of ids of a national draw takes longer than the statements."""
    return "{" + ",".join(map(str, values)) + "}"


def _record_outcomes(chosen: list[int], ineligible: dict[str, list[int]]) -> None:
    updates = [(ApplicationOutcome.SELECTED, "", chosen)] + [
        (ApplicationOutcome.INELIGIBLE, reason, ids) for reason, ids in sorted(ineligible.items())
    ]
    for outcome, reason, unordered in updates:
        ids = sorted(unordered)
        for start in range(0, len(ids), CHUNK):
            in_chunk, chunk_param = _ids_in("id", ids[start : start + CHUNK])
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {APPS} SET outcome = %s, outcome_reason = %s "  # noqa: S608
                    f"WHERE {in_chunk}",
                    [outcome, reason, chunk_param],
                )


def _id_card_rows(pairs: list[tuple[int, str]]) -> tuple[str, list[Any]]:
    """Rows (a = application id, b = card number), cheap to send for the reason of `_int_array`."""
    if connection.vendor != "postgresql":
        return pair_rows(pairs, ("bigint", "varchar"))
    return (
        "(SELECT unnest(%s::bigint[]) AS a, json_array_elements_text(%s::json) AS b)",
        [_int_array([a for a, _ in pairs]), json.dumps([b for _, b in pairs])],
    )


def _insert_participants(
    wave: Wave, chosen: list[int], *, selected_at: datetime.datetime, deadline: datetime.datetime
) -> None:
    """One row per selected application, set-based; a card number that happens to exist already
    (about one draw in a thousand at national scale) makes that chunk draw new numbers. Rows go in
    in application order, so the inserts, their foreign-key checks and later the crediting (by
    participant id) read the applications and registrants in order."""
    adapt = connection.ops.adapt_datetimefield_value
    ordered = sorted(chosen)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        for attempt in range(5):
            pairs = [(application_id, card_number_new()) for application_id in chunk]
            rows_sql, rows_params = _id_card_rows(pairs)
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT INTO {PART} (registrant_id, wave_id, application_id, "  # noqa: S608
                        "scheme_id, card_number, selected_at, purchase_deadline, status, "
                        "first_purchase_at, revoked_at, quota_returned_to_id, credited_at) "
                        "SELECT a.registrant_id, a.wave_id, a.id, %s, v.b, %s, %s, %s, "
                        f"NULL, NULL, NULL, NULL FROM {rows_sql} v JOIN {APPS} a ON a.id = v.a",
                        [
                            wave.scheme_id,
                            adapt(selected_at),
                            adapt(deadline),
                            ParticipantStatus.ACTIVE,
                            *rows_params,
                        ],
                    )
                break
            except IntegrityError:
                if attempt == 4:
                    raise
