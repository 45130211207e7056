"""One simulated day, step by step, through the services (bulk entry points where one call per
person would be too slow). Each step is safe to repeat: a day interrupted half-way is played again
from its start and what it already did is refused or skipped by the services' own rules.
"""

import contextlib
import csv
import datetime
import functools
import hashlib
import io
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import connection

from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.common.timeutil import WIB
from prakerja.incentives.models import SurveyResponse
from prakerja.orders.daily import vouchers_expire_due
from prakerja.partners.models import Partner
from prakerja.registration.exclusions import exclusion_list_import
from prakerja.registration.models import Registrant
from prakerja.simulation import figures as F
from prakerja.simulation.fates import Fate, FateBook
from prakerja.simulation.models import InjectedActor
from prakerja.simulation.plan import NO_EMAIL, VERIFIED, Plan
from prakerja.simulation.texts import ShareDealer
from prakerja.waves import services as waves
from prakerja.waves.join_bulk import wave_join_bulk
from prakerja.waves.models import Participant, Wave, WaveStatus
from prakerja.waves.revocation import participants_revoke_due
from prakerja.waves.selection import wave_select

CHUNK = 1000
SIM = Actor.system("simulation")
EXCLUSION_CATEGORY = "bansos"  # recipients of other social assistance
WAIT_LIMIT_S = 3600


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        # Statistics kept fresh inside a step too: the first day of each table (a whole day's
        # registrants, then the first wave's orders) grows it from nothing, and planned as empty
        # each chunk's UPDATE … FROM its JSON rows scanned the whole table once per row.
        autovacuum_stand_in(vacuum=False)
        yield items[start : start + size]


def wave_seed(seed: int, number: int) -> str:
    return f"simulasi-{seed}-gelombang-{number}"


@dataclass
class World:
    """What the days share: the plan, the fates, the people the system knows by id, and how to
    reach the sandboxes."""

    plan: Plan
    book: FateBook
    maker: Actor
    checker: Actor
    bank_urls: dict[str, str]
    platforms: dict[int, Partner]
    selfie: bytes
    distributed: bool
    registrant_ids: dict[int, int] = field(default_factory=dict)  # plan k -> registrant id
    participant_k: dict[int, int] = field(default_factory=dict)  # participant id -> plan k
    log: Callable[[str], None] = print
    # One client for the sandboxes' control calls: httpx's module functions build a client (and
    # load the CA bundle) per call, which cost more than the simulated days' work at small scale.
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))
    _dealers: dict[str, ShareDealer] | None = None
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextlib.contextmanager
    def timed(self, step: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.seconds[step] += time.monotonic() - began

    def survey_dealers(self) -> dict[str, ShareDealer]:
        if self._dealers is None:
            self._dealers = survey_dealers_from_db()
        return self._dealers

    def k_of_email(self, email: str) -> int:
        return int(email.split(".", 1)[0][1:])


# --- registration ---------------------------------------------------------------------------------


def register(world: World, day: datetime.date) -> None:
    from prakerja.registration import bulk as reg

    plan = world.plan
    number = (day - F.START).days
    arrivals = plan.arrivals_on(number)
    people = [plan.sign_up(k) for k in arrivals]
    for chunk in chunks(people):
        results = reg.registrants_sign_up_bulk(people=chunk, actor=SIM)
        for p, result in zip(chunk, results, strict=True):
            if isinstance(result, int):
                world.registrant_ids[p.k] = result
    # Re-reading what an interrupted day already wrote: the people of the day by email.
    missing = [p.email for p in people if p.k not in world.registrant_ids]
    for chunk in chunks(missing):
        for pk, email in Registrant.objects.filter(email__in=chunk).values_list("pk", "email"):
            world.registrant_ids[world.k_of_email(email)] = pk
    ids = {p.k: world.registrant_ids[p.k] for p in people if p.k in world.registrant_ids}
    verified_email = [ids[p.k] for p in people if p.fate != NO_EMAIL and p.k in ids]
    # The registry's answer written with the email, the selfie's verdict with the phone: one row
    # version per pair instead of two. What the registry did not answer, its own steps finish.
    for chunk in chunks(verified_email):
        reg.emails_verify_bulk(registrant_ids=chunk, actor=SIM, registry=True)
    for chunk in chunks(verified_email):
        reg.registry_check_bulk(registrant_ids=chunk)
    phoned = [ids[p.k] for p in people if p.fate == VERIFIED and p.k in ids]
    for chunk in chunks(phoned):
        reg.phones_verify_bulk(registrant_ids=chunk, actor=SIM, selfie=world.selfie)
    for chunk in chunks(phoned):
        # Only those still awaiting it: a day played again must not retry a mismatched face.
        awaiting = list(
            Registrant.objects.filter(
                pk__in=chunk, face_status="pending", face_reason="AWAITING_SELFIE"
            ).values_list("pk", flat=True)
        )
        if awaiting:
            reg.faces_check_bulk(registrant_ids=awaiting, image=world.selfie)
    duplicates = [j for j, (_, on) in enumerate(plan.duplicate_of) if on == number]
    if duplicates:
        attempts = [plan.duplicate_sign_up(j) for j in duplicates]
        reg.registrants_sign_up_bulk(people=attempts, actor=SIM)
        InjectedActor.objects.bulk_create(
            [
                InjectedActor(kind="duplicate_nik", person=j, email=a.email)
                for j, a in zip(duplicates, attempts, strict=True)
            ],
            ignore_conflicts=True,
        )


def exclusions_import(niks: list[str], name: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["nik"])
    writer.writerows([nik] for nik in niks)
    out.seek(0)
    exclusion_list_import(
        stream=out, file_name=name, category=EXCLUSION_CATEGORY, source="simulasi", actor=SIM
    )


# --- waves ----------------------------------------------------------------------------------------


def waves_step(world: World, day: datetime.date, at: datetime.datetime) -> list[Fate]:
    """Open, fill, close and draw the waves of figures.WAVES; returns the fates of anyone drawn."""
    drawn: list[Fate] = []
    for dates in F.WAVES:
        wave = Wave.objects.filter(number=dates.number).first()
        if day == dates.opens and wave is None:
            wave = waves.wave_create(
                quota=_quota(world, dates, at),
                opens_at=at,
                closes_at=datetime.datetime.combine(
                    dates.closes, datetime.time(23, 59), tzinfo=WIB
                ),
                priority_order=["laid_off"],
                actor=world.maker,
            )
            commitment = hashlib.sha256(
                wave_seed(world.plan.seed, dates.number).encode()
            ).hexdigest()
            waves.wave_open(wave=wave, seed_commitment=commitment, actor=world.maker)
            # Queued on commit (a worker's task when distributed): joins wait for it, so every
            # application has the same id in an inline and in a distributed run.
            wait_for(functools.partial(_carried_over, wave), f"carry-over into wave {dates.number}")
        if wave is None:
            continue
        if wave.status == WaveStatus.OPEN and dates.opens <= day <= dates.closes:
            joiners = _verified_not_applied(world, wave, day)
            for chunk in chunks(joiners):
                wave_join_bulk(wave=wave, registrant_ids=chunk, actor=SIM)
        if day == dates.closes + datetime.timedelta(days=1):
            wave.refresh_from_db()
            if wave.status == WaveStatus.OPEN:
                wave = waves.wave_close(wave=wave, actor=world.maker)
            if wave.status == WaveStatus.CLOSED:
                wave_select(
                    wave=wave, seed=wave_seed(world.plan.seed, dates.number), actor=world.maker
                )
            _wait_credited(wave)
            drawn += fates_of_wave(world, wave, day)
            _exclude_after(world, drawn)
    return drawn


def _quota(world: World, dates: F.WaveDates, at: datetime.datetime) -> int:
    """The new quota that, with the quota the draw adds back from revoked participants, selects
    the number wave `dates.number` selected in 2020. The revoked by then are those whose window
    closes before the draw and who will never buy (the fates know them)."""
    target = F.scaled(dates.selected, world.plan.scale)
    draw_day = datetime.datetime.combine(
        dates.closes + datetime.timedelta(days=1), datetime.time(8), tzinfo=WIB
    )
    reassigned = Participant.objects.filter(quota_returned_to__isnull=False).count()
    will_be_revoked = sum(
        1
        for pk in Participant.objects.filter(purchase_deadline__lt=draw_day).values_list(
            "pk", flat=True
        )
        if not world.book.fates[pk].buys
    )
    return max(1, target - (will_be_revoked - reassigned))


def _carried_over(wave: Wave) -> bool:
    earlier = Wave.objects.filter(
        status__in=(WaveStatus.SELECTED, WaveStatus.ANNOUNCED), number__lt=wave.number
    )
    if earlier.filter(carried_into__isnull=True).exists():
        return False
    from prakerja.waves.models import ApplicationOutcome, WaveApplication

    waiting = WaveApplication.objects.filter(
        wave__carried_into=wave, outcome=ApplicationOutcome.PENDING
    ).count()
    return waiting == WaveApplication.objects.filter(wave=wave, carried_from__isnull=False).count()


def _verified_not_applied(world: World, wave: Wave, day: datetime.date) -> list[int]:
    """Registrants with every layer passed who are not participants and have not applied to
    `wave`: everyone verified wants to join."""
    verified = (
        Registrant.objects.filter(
            email_status="passed",
            nik_status="passed",
            phone_status="passed",
            eligibility_status="passed",
            face_status="passed",
        )
        .exclude(participant__isnull=False)
        .exclude(applications__wave=wave)
    )
    return list(verified.order_by("pk").values_list("pk", flat=True))


def _wait_credited(wave: Wave) -> None:
    wait_for(
        lambda: not Participant.objects.filter(wave=wave, credited_at__isnull=True).exists(),
        f"crediting of wave {wave.number}",
    )


def wait_for(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"simulation: {what} did not finish within an hour")
        time.sleep(0.2)


def fates_of_wave(world: World, wave: Wave, selected_on: datetime.date) -> list[Fate]:
    rows = list(
        Participant.objects.filter(wave=wave).order_by("pk").values_list("pk", "registrant__email")
    )
    for pk, email in rows:
        world.participant_k[pk] = world.k_of_email(email)
    return world.book.add_wave(wave.number, selected_on, [pk for pk, _ in rows])


def _exclude_after(world: World, drawn: list[Fate]) -> None:
    chosen = [f for f in drawn if f.bad == "excluded_after"]
    if not chosen:
        return
    registrants = dict(
        Participant.objects.filter(pk__in=[f.participant_id for f in chosen]).values_list(
            "pk", "registrant__nik_encrypted"
        )
    )
    exclusions_import(
        [decrypt(registrants[f.participant_id]) for f in chosen], "simulasi-setelah-seleksi.csv"
    )


def survey_dealers_from_db() -> dict[str, ShareDealer]:
    """The dealers of survey answers, primed with the answers already given (a resumed run)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for answers in SurveyResponse.objects.values_list("answers", flat=True).iterator():
        for question, answer in answers.items():
            counts[question][answer] += 1
    yes_no = {
        "training_effective": F.SURVEY_EFFECTIVE,
        "training_helped": F.SURVEY_HELPED,
    }
    dealers = {"employment_status": ShareDealer(F.SURVEY_EMPLOYMENT, counts["employment_status"])}
    for question, share in yes_no.items():
        dealers[question] = ShareDealer({"yes": share, "no": 1 - share}, counts[question])
    return dealers


# --- the database's housekeeping -----------------------------------------------------------------


AUTOVACUUM_NAPTIME_S = 30.0
# When each kind of call (between steps with vacuum, inside them without) last did its work.
_autovacuum_last = {True: -AUTOVACUUM_NAPTIME_S, False: -AUTOVACUUM_NAPTIME_S}


def autovacuum_stand_in(*, vacuum: bool = True) -> None:
    """PostgreSQL's autovacuum, where the database runs without it (this machine's does): at most
    every AUTOVACUUM_NAPTIME_S of wall-clock time, analyze each table once a tenth of it changed
    and (with `vacuum`, between steps) vacuum it once a fifth is dead rows, autovacuum's own
    default thresholds. Without fresh statistics the planner keeps treating tables that grew from
    nothing as empty, and the days slow down as they fill. Never inside a transaction: VACUUM
    cannot run there, and an ANALYZE would keep its lock to the transaction's end."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    if time.monotonic() - _autovacuum_last[vacuum] < AUTOVACUUM_NAPTIME_S:
        return
    _autovacuum_last[vacuum] = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return
        cursor.execute(
            "SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables"
        )
        for name, live, dead, modified in cursor.fetchall():
            if vacuum and dead > 50 + 0.2 * live:
                cursor.execute(f'VACUUM (ANALYZE) "{name}"')
            elif modified > 50 + 0.1 * live:
                cursor.execute(f'ANALYZE "{name}"')


# --- daily jobs -----------------------------------------------------------------------------------


def daily_jobs() -> None:
    participants_revoke_due(actor=Actor.system("revocation"))
    vouchers_expire_due()
