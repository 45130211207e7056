"""Vouchers for partner engineers to test against (`prakerja sandbox-data vouchers`): n synthetic
participants, each of whom buys one active training of the given platform, so that the platform
receives n `voucher.issued` events and holds n vouchers it can redeem, report and complete.

It works whatever the program's waves are doing (one open for applications, as in the demo; one
closed and waiting for its draw; none), and leaves them as they were. The synthetic people are drawn
in a wave of their own that never opens: only one wave can be open at a time and the program's open
wave must stay the one people join, so the run's wave is written as `wave_close` leaves a wave —
closed, with its lottery commitment and its applications (the rules of `wave_join`: every layer
passed, no earlier participation, one application each) — and never takes part in carry-over (it
opens no wave, so it claims nobody's unselected applicants, and it leaves none of its own). Its
registrants are written the way the demo writes its own (ops/demo_program.py): as registration
leaves a person once every layer passed — there is no service that verifies a made-up person, since
the layers need the population registry and a phone that receives the code.

From the draw on, the participants take the real path, through the services: `wave_select` draws and
credits their training balances from the program budget, and each buys a training with
`order_purchase` (the price moves to the platform's pending payable; `voucher.issued` is queued for
the platform). Every draw takes over the quota that revoked participants of earlier waves freed; the
run's wave selects exactly its own applicants and gives those places back, so the program's next
draw still gets them. The whole run is ONE transaction: a refusal anywhere leaves nothing behind.

Refused, writing nothing: outside a sandbox setting (settings.SANDBOX_DATA_ALLOWED), an unknown
platform code, a partner that is not an active platform, a platform without an active training the
training balance covers, and an active scheme whose balances have lapsed.
"""

import datetime
import itertools
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from prakerja.audit.services import audit_record
from prakerja.catalog.models import Training, TrainingStatus
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import blind_index, encrypt
from prakerja.common.money import format_rupiah
from prakerja.common.refusals import Refused
from prakerja.orders.chunks import raise_refusal
from prakerja.orders.purchase import orders_purchase_bulk
from prakerja.orders.selectors import iso_wib
from prakerja.orders.services import balance_lapsed, participant_ref
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import Partner, PartnerKind, PartnerStatus
from prakerja.registration.models import Registrant
from prakerja.registration.nik import make_nik
from prakerja.waves.crediting import wave_credit_chunk
from prakerja.waves.join_bulk import wave_applications_record
from prakerja.waves.lottery import commitment
from prakerja.waves.models import Participant, Wave, WaveStatus
from prakerja.waves.selection import wave_select
from prakerja.waves.selectors import scheme_active

MAX_N = 500
EMAIL_DOMAIN = "sandbox.prakerja.test"  # .test is reserved: nothing is ever delivered there
# Home regencies of the synthetic participants (real codes, so that regional reports place them)
REGENCIES = ("32.73", "35.78", "31.71", "73.71", "94.71", "12.71", "64.72", "51.71")
LAYERS = ("email", "nik", "phone", "eligibility", "face")


class SandboxDataRefused(Exception):
    """Why nothing was written; the message is for the person at the command line."""


@dataclass(frozen=True)
class SandboxVoucher:
    voucher_code: str
    order_id: int
    training_external_id: str
    price_idr: int
    participant_ref: str
    expires_at: str


@dataclass(frozen=True)
class SandboxVouchers:
    platform: str
    wave: int
    vouchers: list[SandboxVoucher]


def sandbox_vouchers_issue(*, platform_code: str, n: int, actor: Actor) -> SandboxVouchers:
    """n synthetic participants drawn in a wave of their own, each with one voucher of an active
    training of the platform (its active trainings the balance covers, in turn by id). Raises
    SandboxDataRefused, writing nothing, when it cannot be done."""
    if not settings.SANDBOX_DATA_ALLOWED:
        raise SandboxDataRefused(
            "sandbox data is refused here: this system is not in a sandbox setting "
            "(PRAKERJA_SANDBOX_DATA_ALLOWED is false, or `auto` with real email and no "
            "PRAKERJA_DEBUG). Synthetic participants and orders never belong in production."
        )
    if not 1 <= n <= MAX_N:
        raise SandboxDataRefused(f"--n must be between 1 and {MAX_N}, not {n}")
    with transaction.atomic():
        platform = _platform(platform_code)
        scheme = scheme_active()
        trainings = list(
            Training.objects.filter(
                platform=platform,
                status=TrainingStatus.ACTIVE,
                price_idr__lte=scheme.training_balance_idr,
            ).order_by("pk")
        )
        if not trainings:
            raise SandboxDataRefused(
                f"platform {platform.code} has no active training that a training balance of "
                f"{format_rupiah(scheme.training_balance_idr)} covers: publish one and have it "
                "approved first"
            )
        now = clock.now()
        if balance_lapsed(scheme, now):
            raise SandboxDataRefused(
                f"the active scheme {scheme.code}'s training balances lapsed after "
                f"{scheme.balance_expiry_date.isoformat()}: nothing can be bought; set a later "
                "balance expiry date on the scheme (admin) first"
            )
        participants = _drawn(_registrants(n, now), now=now, actor=actor)
        bought = orders_purchase_bulk(
            purchases=[
                (participant.pk, trainings[number % len(trainings)].pk)
                for number, participant in enumerate(participants)
            ],
            actor=actor,
        )
        raise_refusal(bought.refused)
        vouchers = []
        for number, participant in enumerate(participants):
            training = trainings[number % len(trainings)]
            order = bought.orders[number]
            vouchers.append(
                SandboxVoucher(
                    voucher_code=voucher_code_format(order.voucher_code),
                    order_id=order.order_id,
                    training_external_id=training.external_id,
                    price_idr=order.price_idr,
                    participant_ref=participant_ref(platform=platform, participant=participant),
                    expires_at=iso_wib(order.expires_at) or "",
                )
            )
    return SandboxVouchers(platform.code, participants[0].wave.number, vouchers)


def _platform(code: str) -> Partner:
    platform = Partner.objects.filter(code=code).first()
    if platform is None:
        raise SandboxDataRefused(f"no partner with code {code!r}")
    if platform.kind != PartnerKind.PLATFORM:
        raise SandboxDataRefused(f"partner {code} is not a digital platform ({platform.kind})")
    if platform.status != PartnerStatus.ACTIVE:
        raise SandboxDataRefused(
            f"platform {code} is {platform.status}: its trainings are not sold"
        )
    return platform


def _drawn(people: list[Registrant], *, now: datetime.datetime, actor: Actor) -> list[Participant]:
    """The registrants drawn and credited in a wave of their own (the real selection path)."""
    seed = secrets.token_hex(32)
    wave = _wave_of_its_own(quota=len(people), seed=seed, now=now, actor=actor)
    _applied(wave, people, actor=actor)
    wave_select(wave=wave, seed=seed, actor=actor)
    _freed_quota_given_back(wave, actor=actor)
    # With a broker, crediting went to workers that cannot see this transaction's rows yet: credit
    # here (a chunk credits only whoever is not credited, so the workers' chunks then do nothing).
    pending = list(
        Participant.objects.filter(wave=wave, credited_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if pending:
        wave_credit_chunk(wave_id=wave.pk, first_id=pending[0], last_id=pending[-1], actor=actor)
    participants = list(
        Participant.objects.filter(wave=wave).select_related("scheme", "wave").order_by("pk")
    )
    if len(participants) != len(people):
        raise SandboxDataRefused(
            f"the draw selected {len(participants)} of the {len(people)} synthetic applicants; "
            "nothing was kept"
        )
    return participants


def _wave_of_its_own(*, quota: int, seed: str, now: datetime.datetime, actor: Actor) -> Wave:
    """A wave with the next number, closed with the seed's commitment, as `wave_close` leaves one.
    Written so rather than opened and closed through the transition table: opening it would take
    the place of the program's open wave (one open at a time) and start a carry-over into it."""
    last = Wave.objects.select_for_update().order_by("-number").values_list("number", flat=True)
    wave = Wave.objects.create(
        number=(last.first() or 0) + 1,
        scheme=scheme_active(),
        status=WaveStatus.CLOSED,
        quota=quota,
        opens_at=now - datetime.timedelta(minutes=1),
        closes_at=now,
        seed_commitment=commitment(seed),
    )
    audit_record(
        actor=actor,
        event_type="wave.created",
        subject=wave,
        details={
            "quota": quota,
            "province_quotas": {},
            "priority_order": [],
            "verification": wave.verification,
            "status": WaveStatus.CLOSED,
            "commitment": wave.seed_commitment,
            "sandbox_data": True,
        },
    )
    return wave


def _applied(wave: Wave, people: list[Registrant], *, actor: Actor) -> None:
    """One application each, by the join rules (the people are new and verified: none refused)."""
    answers = wave_applications_record(
        wave=wave, registrant_ids=[r.pk for r in people], actor=actor
    )
    refused = [answer for answer in answers if isinstance(answer, Refused)]
    assert not refused, f"synthetic registrants refused: {refused}"


def _freed_quota_given_back(wave: Wave, *, actor: Actor) -> None:
    """The places revoked participants freed that the draw gave this wave, given back for the
    program's next draw: this wave only ever selects its own applicants."""
    freed = Participant.objects.filter(quota_returned_to=wave).update(quota_returned_to=None)
    if freed:
        Wave.objects.filter(pk=wave.pk).update(quota_freed=0)
        audit_record(
            actor=actor,
            event_type="wave.quota_given_back",
            subject=wave,
            details={"quota_freed": freed, "sandbox_data": True},
        )


def _registrants(n: int, now: datetime.datetime) -> list[Registrant]:
    """n synthetic people who passed every layer, each in a family of their own, with a NIK, email
    and phone number no account has."""
    draw = secrets.SystemRandom()
    run = secrets.token_hex(4)
    people: dict[str, Registrant] = {}  # by NIK index
    phones: set[str] = set()
    numbers = itertools.count(1)
    while len(people) < n:
        batch = []
        for _ in range(n - len(people)):
            number = next(numbers)
            regency = REGENCIES[number % len(REGENCIES)]
            sex = "F" if number % 2 else "M"
            born = datetime.date(1975, 1, 1) + datetime.timedelta(days=draw.randrange(25 * 365))
            nik = make_nik(f"{regency}.01", born, sex, draw.randrange(1, 10_000))
            phone = f"+62819{draw.randrange(10**8):08d}"
            batch.append(
                Registrant(
                    email=f"sandbox-{run}-{number}@{EMAIL_DOMAIN}",
                    password="!",  # noqa: S106 - unusable: nobody signs in as a synthetic participant
                    full_name=f"Peserta Sandbox {run.upper()} {number}",
                    birth_date=born,
                    sex=sex,
                    nik_encrypted=encrypt(nik),
                    nik_index=blind_index(nik, purpose="nik"),
                    nik_last4=nik[-4:],
                    kk_index=blind_index(f"sandbox-kk-{run}-{number}", purpose="kk"),
                    phone=phone,
                    regency_code=regency,
                    province_code=regency[:2],
                    education="sma",
                    employment="unemployed",
                    in_school=False,
                    **{f"{layer}_status": "passed" for layer in LAYERS},
                    **{f"{layer}_at": now for layer in LAYERS},
                )
            )
        taken_niks = set(
            Registrant.objects.filter(nik_index__in=[r.nik_index for r in batch]).values_list(
                "nik_index", flat=True
            )
        )
        taken_phones = set(
            Registrant.objects.filter(phone__in=[r.phone for r in batch]).values_list(
                "phone", flat=True
            )
        )
        for registrant in batch:
            nik_index = str(registrant.nik_index)  # always set here; None only for a taken NIK
            if (
                nik_index in taken_niks
                or nik_index in people
                or registrant.phone in taken_phones
                or registrant.phone in phones
            ):
                continue  # drawn again in the next round
            people[nik_index] = registrant
            phones.add(str(registrant.phone))
    Registrant.objects.bulk_create(people.values())
    return list(Registrant.objects.filter(email__startswith=f"sandbox-{run}-").order_by("pk"))
