"""`prakerja simulate`: set the stage once, then play every day from 11 April to 15 September 2020.

The stage: the synthetic population (the registry's records, served in-process), the demo catalog
of 2.700 trainings on 8 platforms, the four financial institutions with one sandbox process each, a
maker and a checker, the scheme's daily capacity scaled, and the exclusion list known at the start.
Then each day, at 08:00 WIB on the simulated clock: registrations, waves, the daily jobs, the
marketplace, accounts, surveys and the disbursement run. The day is recorded as done last, so an
interrupted run resumes from the day it was in (`SimulationState`).
"""

import datetime
import io
import os
import socket
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from PIL import Image

from prakerja.catalog.demo import demo_catalog_seed
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.config.celery import app as celery_app
from prakerja.incentives.demo import demo_institutions_seed
from prakerja.incentives.institutions import INSTITUTIONS
from prakerja.integrations.population import use_population_registry
from prakerja.integrations.population.inprocess import InProcessPopulationRegistry
from prakerja.integrations.population.synthetic import PopulationStore
from prakerja.ledger.models import SYSTEM_KINDS, AccountKind
from prakerja.ledger.services import account_get_or_create
from prakerja.ops.bench.processes import child_env, free_port, started
from prakerja.ops.processes import wait_until_up
from prakerja.partners.models import Partner, PartnerKind
from prakerja.simulation import days, days_money, sim_time
from prakerja.simulation import figures as F
from prakerja.simulation.fates import FateBook
from prakerja.simulation.fates import Training as FateTraining
from prakerja.simulation.models import InjectedActor, SimulationState
from prakerja.simulation.plan import Plan, plan_build
from prakerja.simulation.report import Report, report_build
from prakerja.waves import services as waves
from prakerja.waves.models import Participant, Wave
from prakerja.waves.selectors import scheme_active

LOCAL_REDIS = "redis://127.0.0.1:6379/12"
MORNING = datetime.time(8, 0)


class SimulationRefused(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    report: Report
    elapsed_s: float
    days: int


def simulate(
    *,
    scale: float,
    seed: int,
    workers: int = 0,
    log: Callable[[str], None] = print,
    progress: Callable[[int, int, str], None] | None = None,
    stop_after: datetime.date | None = None,
) -> Outcome | None:
    """Play the program; returns the report, or None when `stop_after` ended it early (the next
    call resumes). `workers` > 0 runs that many `prakerja worker` processes on Redis."""
    started_at = time.monotonic()
    state = _state(scale, seed)
    log(f"plan: scale {scale:g}, seed {seed}")
    plan = plan_build(scale, seed)
    log(f"plan: {plan.registrants} registrants from a population of {len(plan.people)}")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prakerja-sim-")))
        store = _store(plan, folder, log)
        stack.enter_context(use_population_registry(InProcessPopulationRegistry(store)))
        stack.callback(store.close)
        _stage(plan, state, log)
        bank_urls = _banks(stack, seed, folder, log)
        urls = ",".join(f"{code}={url}" for code, url in bank_urls.items())
        stack.callback(_environ_restore, "PRAKERJA_BANK_URLS", os.environ.get("PRAKERJA_BANK_URLS"))
        os.environ["PRAKERJA_BANK_URLS"] = urls  # the adapter in this process reaches these
        if workers:
            broker = _broker(log)
            for number in range(workers):
                stack.enter_context(
                    started(
                        f"worker-{number + 1}",
                        ["worker", "--concurrency", "1"],
                        child_env(CELERY_BROKER_URL=broker, PRAKERJA_BANK_URLS=urls),
                        folder,
                        log,
                    )
                )
            time.sleep(3)  # the workers connect to the broker
        world = _world(plan, bank_urls, workers > 0, log)
        stack.callback(world.http.close)
        stack.callback(sim_time.stop)
        day = state.last_day_done + datetime.timedelta(days=1) if state.last_day_done else F.START
        total_days = (F.END - F.START).days + 1
        carried = state.banks_paid_idr
        while day <= F.END:
            _play(world, day, bank_urls)
            SimulationState.objects.filter(pk=state.pk).update(
                last_day_done=day, banks_paid_idr=carried + _banks_paid(world.http, bank_urls)
            )
            if progress:
                progress((day - F.START).days + 1, total_days, _status(day))
            if stop_after is not None and day >= stop_after and day < F.END:
                return None
            day += datetime.timedelta(days=1)
        sim_time.travel_to(datetime.datetime.combine(F.END, datetime.time(21), tzinfo=WIB))
        state.refresh_from_db()
        report = report_build(scale, state.banks_paid_idr)
        log("seconds by step: " + ", ".join(f"{k} {v:.0f}" for k, v in world.seconds.items()))
        sim_time.stop()
        SimulationState.objects.filter(pk=state.pk, finished_at__isnull=True).update(
            finished_at=clock.now()
        )
    return Outcome(report, time.monotonic() - started_at, total_days)


def _play(world: days.World, day: datetime.date, bank_urls: dict[str, str]) -> None:
    at = datetime.datetime.combine(day, MORNING, tzinfo=WIB)
    sim_time.travel_to(at)
    for url in bank_urls.values():
        world.http.post(f"{url}/_clock", json={"now": at.isoformat()}).raise_for_status()
    with world.timed("registration"):
        days.register(world, day)
    with world.timed("housekeeping"):
        days.autovacuum_stand_in()
    with world.timed("waves"):
        drawn = days.waves_step(world, day, at)
        if drawn:
            _record_bad_actors(world, drawn)
    with world.timed("daily jobs"):
        days.daily_jobs()
    with world.timed("marketplace"):
        days_money.marketplace(world, day)
    with world.timed("accounts"):
        days_money.accounts(world, day)
    with world.timed("surveys"):
        days_money.surveys(world, day)
    with world.timed("housekeeping"):
        days.autovacuum_stand_in()
    with world.timed("disbursement"):
        days_money.disbursement(world, day)


def _environ_restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _banks_paid(http: httpx.Client, bank_urls: dict[str, str]) -> int:
    return sum(
        int(http.get(f"{url}/_totals").json()["success_sum_idr"]) for url in bank_urls.values()
    )


def _status(day: datetime.date) -> str:
    return f"{day:%d %b}: {Participant.objects.count()} participants"


# --- the stage ------------------------------------------------------------------------------------


def _state(scale: float, seed: int) -> SimulationState:
    state = SimulationState.objects.first()
    if state is None:
        if Wave.objects.exists():
            raise SimulationRefused(
                "this database already holds waves that no simulation made; simulate on a new one"
            )
        return SimulationState.objects.create(scale=f"{scale:g}", seed=seed, started_at=clock.now())
    if state.finished_at is not None:
        raise SimulationRefused("this database holds a finished simulation; simulate on a new one")
    if (state.scale, state.seed) != (f"{scale:g}", seed):
        raise SimulationRefused(
            f"this database holds the simulation of scale {state.scale} and seed {state.seed}"
        )
    return state


def _store(plan: Plan, folder: Path, log: Callable[[str], None]) -> PopulationStore:
    log(f"registry: writing {len(plan.people)} people")
    store = PopulationStore(folder / "population.sqlite3")
    store.write(plan.people)
    return store


def _stage(plan: Plan, state: SimulationState, log: Callable[[str], None]) -> None:
    """Everything before the first day; each part skipped when done (a resumed run)."""
    if state.last_day_done is not None:
        return
    sim_time.travel_to(
        datetime.datetime.combine(F.START - datetime.timedelta(days=1), MORNING, tzinfo=WIB)
    )
    try:
        for kind in sorted(SYSTEM_KINDS):
            account_get_or_create(kind=AccountKind(kind))
        log("stage: the demo catalog (2.700 trainings on 8 platforms) and 4 institutions")
        demo_catalog_seed()
        demo_institutions_seed()
        Partner.objects.filter(kind=PartnerKind.INSTITUTION).update(rate_limit_per_minute=2**31 - 1)
        scheme = scheme_active()
        capacity = max(1, F.scaled(F.TRANSFERS_PER_DAY[1], plan.scale))
        if scheme.daily_disbursement_capacity != capacity:
            scheme.daily_disbursement_capacity = capacity
            waves.scheme_save(scheme=scheme, actor=days.SIM)
        if not InjectedActor.objects.filter(kind="excluded_before").exists():
            log(f"stage: exclusion list of {len(plan.excluded_before)} people")
            days.exclusions_import(
                [plan.sign_up(k).nik for k in plan.excluded_before], "simulasi-sebelum.csv"
            )
            InjectedActor.objects.bulk_create(
                [
                    InjectedActor(kind="excluded_before", person=k, email=plan.email(k))
                    for k in plan.excluded_before
                ]
                + [
                    InjectedActor(kind="kk_third", person=k, email=plan.email(k))
                    for trio in plan.kk_families
                    for k in trio
                ],
                ignore_conflicts=True,
            )
    finally:
        sim_time.stop()


def _operators() -> tuple[Actor, Actor]:
    users = get_user_model()
    made = []
    for name, codenames in (
        ("simulasi-pembuat", ("prepare_run", "reconcile_statement")),
        ("simulasi-pemeriksa", ("approve_run",)),
    ):
        user, _ = users.objects.get_or_create(username=name, defaults={"is_staff": True})
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="incentives", codename__in=codenames)
        )
        made.append(Actor.for_user(user))
    return made[0], made[1]


def _world(
    plan: Plan, bank_urls: dict[str, str], distributed: bool, log: Callable[[str], None]
) -> days.World:
    maker, checker = _operators()
    trainings = [
        FateTraining(pk, platform, price, hours)
        for pk, platform, price, hours in Training.objects.filter(status=TrainingStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", "institution__platform_id", "price_idr", "duration_hours")
    ]
    book = FateBook(plan.scale, plan.seed, trainings)
    world = days.World(
        plan=plan,
        book=book,
        maker=maker,
        checker=checker,
        bank_urls=bank_urls,
        platforms={p.pk: p for p in Partner.objects.filter(kind=PartnerKind.PLATFORM)},
        selfie=_selfie(),
        distributed=distributed,
        log=log,
    )
    # A resumed run: the fates of the waves drawn so far, recomputed in the same order.
    for wave in Wave.objects.filter(participants__isnull=False).distinct().order_by("number"):
        dates = F.WAVES[wave.number - 1]
        days.fates_of_wave(world, wave, dates.closes + datetime.timedelta(days=1))
    return world


def _record_bad_actors(world: days.World, drawn: list) -> None:
    emails = dict(
        Participant.objects.filter(pk__in=[f.participant_id for f in drawn if f.bad]).values_list(
            "pk", "registrant__email"
        )
    )
    InjectedActor.objects.bulk_create(
        [
            InjectedActor(
                kind=f.bad,
                person=world.participant_k[f.participant_id],
                email=emails[f.participant_id],
            )
            for f in drawn
            if f.bad
        ],
        ignore_conflicts=True,
    )


def _selfie() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), (180, 140, 120)).save(out, format="JPEG")
    return out.getvalue()


def _banks(stack: ExitStack, seed: int, folder: Path, log: Callable[[str], None]) -> dict[str, str]:
    """A sandbox process per institution, started together, without callbacks: the system asks
    for results, as it does when callbacks are lost."""
    urls, processes = {}, {}
    for code in INSTITUTIONS:
        port = free_port()
        argv = ["sandbox", "bank", "--name", code, "--port", str(port), "--mode", "sync"]
        argv += ["--seed", str(seed)]
        urls[code] = f"http://127.0.0.1:{port}"
        processes[code] = stack.enter_context(
            started(f"bank-{code}", argv, child_env(), folder, log)
        )
    for code, url in urls.items():
        wait_until_up(f"{url}/healthz", timeout=60, process=processes[code])
    return urls


def _broker(log: Callable[[str], None]) -> str:
    url = settings.CELERY_BROKER_URL
    if not url:
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        except OSError:
            raise SimulationRefused(
                "--workers needs a broker: set CELERY_BROKER_URL or run Redis"
            ) from None
        url = LOCAL_REDIS
    if connection.vendor == "sqlite":
        raise SimulationRefused("--workers needs PostgreSQL: SQLite has one writer at a time")
    celery_app.conf.update(broker_url=url, task_always_eager=False)
    log(f"broker {url}")
    return url
