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
from django.db import connection, transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.common.timeutil import WIB
from prakerja.incentives.institutions import INSTITUTIONS
from prakerja.incentives.models import (
    CURRENT_ACCOUNT,
    DisbursementRun,
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
    PaymentAccount,
    RunStatus,
    SurveyResponse,
    TransferBatch,
)
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.results import runs_finish_if_done
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.incentives.sending import batches_results_query
from prakerja.integrations.bank import bank_client
from prakerja.orders.bulk import (
    orders_complete_bulk,
    orders_purchase_bulk,
    vouchers_redeem_bulk,
)
from prakerja.orders.daily import vouchers_expire_due
from prakerja.orders.models import Order, OrderStatus
from prakerja.partners.models import Partner
from prakerja.registration.exclusions import exclusion_list_import
from prakerja.registration.models import Registrant
from prakerja.simulation import figures as F
from prakerja.simulation.fates import Fate, FateBook
from prakerja.simulation.models import InjectedActor
from prakerja.simulation.plan import NO_EMAIL, VERIFIED, Plan
from prakerja.simulation.texts import ShareDealer, review_stars, review_text, ring_text
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
            _wait(functools.partial(_carried_over, wave), f"carry-over into wave {dates.number}")
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
    _wait(
        lambda: not Participant.objects.filter(wave=wave, credited_at__isnull=True).exists(),
        f"crediting of wave {wave.number}",
    )


def _wait(done: Callable[[], bool], what: str) -> None:
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


# --- the marketplace ------------------------------------------------------------------------------


def marketplace(world: World, day: datetime.date) -> None:
    fates = list(world.book.fates.values())
    buying = sorted((f.participant_id, f.training_id) for f in fates if f.buy_day == day)
    for chunk in chunks(buying):
        orders_purchase_bulk(purchases=list(chunk), actor=SIM)
    redeeming = {f.participant_id: f for f in fates if f.redeems and f.redeem_day == day}
    if redeeming:
        orders = Order.objects.filter(
            participant_id__in=list(redeeming), status=OrderStatus.ISSUED
        ).values_list("participant_id", "training__platform_id", "voucher_code", "training_id")
        by_platform: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for participant_id, platform_id, code, training_id in orders:
            if redeeming[participant_id].training_id == training_id:
                by_platform[platform_id].append((code, f"u{participant_id}"))
        for platform_id, items in sorted(by_platform.items()):
            platform = world.platforms[platform_id]
            for chunk in chunks(items):
                vouchers_redeem_bulk(
                    platform=platform,
                    items=list(chunk),
                    actor=Actor.partner(platform.pk, platform.code),
                )
    completing = {f.participant_id: f for f in fates if f.completes and f.complete_day == day}
    if completing:
        now = clock.now()
        redeemed = Order.objects.filter(
            participant_id__in=list(completing), status=OrderStatus.REDEEMED
        ).values_list("pk", "participant_id", "training__platform_id", "training_id")
        by_platform_c: dict[int, list[Any]] = defaultdict(list)
        for pk, participant_id, platform_id, training_id in redeemed:
            if completing[participant_id].training_id != training_id:  # another order
                continue
            by_platform_c[platform_id].append(
                (
                    pk,
                    now,
                    70 + participant_id % 31,
                    f"SIM-{pk:08d}",
                    f"https://sertifikat.example/{pk}",
                )
            )
        for platform_id, items in sorted(by_platform_c.items()):
            platform = world.platforms[platform_id]
            for chunk in chunks(items):
                orders_complete_bulk(
                    platform=platform,
                    items=list(chunk),
                    actor=Actor.partner(platform.pk, platform.code),
                )
    reviewing = [f for f in completing.values() if f.reviews]
    if reviewing:
        from prakerja.orders.review_bulk import reviews_submit_bulk

        orders_r = dict(
            Order.objects.filter(
                participant_id__in=[f.participant_id for f in reviewing],
                status=OrderStatus.COMPLETED,
            ).values_list("participant_id", "pk")
        )
        reviews = [
            (
                f.participant_id,
                orders_r[f.participant_id],
                review_stars(f.participant_id),
                ring_text(f.ring) if f.bad == "review_ring" else review_text(f.participant_id),
            )
            for f in sorted(reviewing, key=lambda f: f.participant_id)
            if f.participant_id in orders_r
        ]
        for chunk in chunks(reviews):
            reviews_submit_bulk(reviews=list(chunk), actor=SIM)


# --- payment accounts -----------------------------------------------------------------------------


def accounts(world: World, day: datetime.date) -> None:
    from prakerja.incentives.accounts_bulk import (
        payment_accounts_check_bulk,
        payment_accounts_link_bulk,
    )

    fates = world.book.fates.values()
    linking = [f for f in fates if f.account and f.complete_day == day]
    fixing = [f for f in fates if f.account == "fix" and f.relink_day == day]
    if not linking and not fixing:
        return
    people = _people([f.participant_id for f in [*linking, *fixing]])
    books: dict[str, list[dict[str, Any]]] = defaultdict(list)
    links = []
    for f in linking:
        number, entry = _book_entry(world, f, people, fixed=False)
        books[f.institution].append(entry)
        links.append((f.participant_id, f.institution, number))
    for f in fixing:
        number, entry = _book_entry(world, f, people, fixed=True)
        books[f.institution].append(entry)
        links.append((f.participant_id, f.institution, number))
    for code, entries in books.items():
        for chunk in chunks(entries, 5000):
            world.http.post(
                f"{world.bank_urls[code]}/_accounts", json={"accounts": list(chunk)}, timeout=60
            ).raise_for_status()
    # A link already made (an interrupted day) is not made again: it would replace the account.
    current = set(
        PaymentAccount.objects.filter(
            participant_id__in=[p for p, _, _ in links], status__in=CURRENT_ACCOUNT
        ).values_list("participant_id", "account_number", "created_at__date")
    )
    fresh = [
        link
        for link in links
        if not any(c[0] == link[0] and c[1] == link[2] and c[2] == day for c in current)
    ]
    created: list[int] = []
    for chunk in chunks(sorted(fresh)):
        for result in payment_accounts_link_bulk(links=list(chunk), actor=SIM):
            if isinstance(result, int):
                created.append(result)
    checking = list(
        PaymentAccount.objects.filter(
            participant_id__in=[p for p, _, _ in links], status="checking"
        ).values_list("pk", flat=True)
    )
    for chunk in chunks(sorted(checking)):
        payment_accounts_check_bulk(account_ids=list(chunk))


def _people(participant_ids: list[int]) -> dict[int, tuple[str, str, str, str]]:
    """participant id -> (NIK, full name, phone, card number)."""
    rows = Participant.objects.filter(pk__in=participant_ids).values_list(
        "pk",
        "registrant__nik_encrypted",
        "registrant__full_name",
        "registrant__phone",
        "card_number",
    )
    return {pk: (decrypt(nik), name, phone or "", card) for pk, nik, name, phone, card in rows}


def _book_entry(
    world: World, f: Fate, people: dict[int, tuple[str, str, str, str]], *, fixed: bool
) -> tuple[str, dict[str, Any]]:
    nik, name, phone, card = people[f.participant_id]
    wallet = INSTITUTIONS[f.institution][1] == "e_wallet"
    number = phone if wallet else f"988{card[-12:]}"
    entry: dict[str, Any] = {
        "account_type": "e_wallet" if wallet else "virtual_account",
        "account_number": number,
        "nik": nik,
        "holder_name": name,
        "kyc_level": "upgraded",
        "status": "active",
    }
    state = "good" if fixed else f.account
    if state in ("fix", "NOT_UPGRADED"):
        entry["kyc_level"] = "basic"
    elif state == "ACCOUNT_INACTIVE":
        entry["status"] = "inactive"
    elif state == "NIK_MISMATCH":
        # The wallet of this phone number belongs to someone else.
        entry["nik"] = nik[:12] + f"{(int(nik[12:]) + 5000) % 10000:04d}"
    return number, entry


# --- surveys --------------------------------------------------------------------------------------


def surveys(world: World, day: datetime.date) -> None:
    """Everyone paid an incentive answers the survey it opened, the day after it was paid."""
    from prakerja.incentives.surveys_bulk import surveys_submit_bulk
    from prakerja.waves.selectors import scheme_active

    midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=WIB)
    paid = Entitlement.objects.filter(
        kind=EntitlementKind.INCENTIVE,
        status=EntitlementStatus.PAID,
        sequence__lte=scheme_active().survey_count,
        paid_at__gte=midnight - datetime.timedelta(days=1),
        paid_at__lt=midnight,
    ).values_list("participant_id", "sequence")
    candidates = sorted(paid)
    answered = set(
        SurveyResponse.objects.filter(
            participant_id__in=[pid for pid, _ in candidates]
        ).values_list("participant_id", "sequence")
    )
    pending = [pair for pair in candidates if pair not in answered]
    if not pending:
        return
    dealers = world.survey_dealers()
    answers = [
        (pid, seq, {question: dealer.deal() for question, dealer in dealers.items()})
        for pid, seq in pending
    ]
    for chunk in chunks(answers):
        surveys_submit_bulk(answers=list(chunk), actor=SIM)


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


# --- the day's disbursement -----------------------------------------------------------------------


def disbursement(world: World, day: datetime.date) -> None:
    run = DisbursementRun.objects.filter(run_date=day).exclude(status=RunStatus.CANCELLED).first()
    if run is None:
        if not Entitlement.objects.filter(status=EntitlementStatus.DUE, due_on__lte=day).exists():
            return  # no run, so nothing settles today and the statements would be empty
        run = run_prepare(run_date=day, actor=world.maker)
    if run.status == RunStatus.PREPARED:
        if run.instructions_count == 0:
            return
        run = run_approve(run=run, actor=world.checker)
    if run.status == RunStatus.APPROVED:
        _wait(
            lambda: (
                not TransferBatch.objects.filter(run=run, status__in=("ready", "sending")).exists()
            ),
            f"sending of run {day}",
        )
        batches_results_query()
        with transaction.atomic():
            runs_finish_if_done({run.pk})
    for code, partner in _institutions().items():
        lines = bank_client(code).statement(day)
        statement_reconcile(
            institution=partner,
            statement_date=day,
            lines=[
                Line(x.instruction_id, x.amount_idr, x.status, x.partner_reference) for x in lines
            ],
            source="api",
            actor=Actor.partner(partner.pk, code),
        )


def _institutions() -> dict[str, Partner]:
    return {p.code: p for p in Partner.objects.filter(code__in=list(INSTITUTIONS))}


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
