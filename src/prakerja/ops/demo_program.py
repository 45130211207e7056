"""A small program of today for the demo, after the simulated 2020 (waves 1–7): one wave drawn
(participants with cards and credited balances, so the ledger carries real movements), the next
open for people who register during the demo, and one participant login to see the card. The
registrants are written as registration leaves them once every layer passed; joining, the draw and
crediting go through the real services.

Skipped when the demo participant exists: the demo can restart on the same database.
"""

import datetime
import hashlib

from django.contrib.auth.hashers import make_password
from django.db import transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import blind_index, encrypt
from prakerja.registration.models import Registrant
from prakerja.registration.nik import make_nik
from prakerja.waves import services as waves
from prakerja.waves.models import ProgramScheme, Wave
from prakerja.waves.selection import wave_select
from prakerja.waves.selectors import scheme_active

DEMO_PARTICIPANT_EMAIL = "peserta@demo.prakerja.test"
DEMO_PARTICIPANT_PASSWORD = "prakerja-demo-2020"  # noqa: S105 - printed on purpose: demo only
WAVE_2_SEED = "demo-gelombang-2-rahasia"
APPLICANTS = 60
DEMO_BALANCE_DAYS = 365  # the demo's balances lapse a year after the demo starts
DEMO_BALANCE_DAYS_LEFT = 30  # moved again when fewer days than this are left
QUOTA = 40
# (province, regency) pairs for a spread of home regions
REGIONS = [("32", "32.73"), ("35", "35.78"), ("31", "31.71"), ("73", "73.71"), ("94", "94.71")]


def demo_program_seed() -> list[str]:
    """Lines for the demo's printout."""
    actor = Actor.system("demo-seed")
    _scheme_spendable(actor)
    if not Registrant.objects.filter(email=DEMO_PARTICIPANT_EMAIL).exists():
        _seed(actor)
    open_wave = Wave.objects.filter(status="open").order_by("-number").first()
    number = open_wave.number if open_wave else "?"
    return [
        f"  participant (portal): {DEMO_PARTICIPANT_EMAIL} / {DEMO_PARTICIPANT_PASSWORD}",
        f"  wave {number} lottery seed (to select it in the admin once closed): {WAVE_2_SEED}",
    ]


def _seed(actor: Actor) -> None:
    now = clock.now()
    seed_1 = "demo-gelombang-1-rahasia"
    # The simulated 2020's unselected applicants are carried into this wave when it opens: its
    # quota takes them all, so the laid-off demo login is still drawn first.
    waiting = (
        Registrant.objects.filter(**{f"{layer}_status": "passed" for layer in LAYERS})
        .filter(participant__isnull=True)
        .count()
    )
    wave_1 = waves.wave_create(
        quota=QUOTA + waiting,
        opens_at=now - datetime.timedelta(days=8),
        closes_at=now - datetime.timedelta(days=1),
        priority_order=["laid_off"],
        actor=actor,
    )
    wave_1 = waves.wave_open(wave=wave_1, seed_commitment=_commitment(seed_1), actor=actor)
    people = _verified_registrants()
    for registrant in people:
        waves.wave_join(wave=wave_1, registrant=registrant, actor=actor)
    wave_1 = waves.wave_close(wave=wave_1, actor=actor)
    # The demo's participant login is drawn like everyone else: it is laid off, the wave's
    # priority group, which is smaller than the quota.
    wave_select(wave=wave_1, seed=seed_1, actor=actor)
    wave_2 = waves.wave_create(
        quota=QUOTA,
        opens_at=now,
        closes_at=now + datetime.timedelta(days=7),
        priority_order=["laid_off"],
        actor=actor,
    )
    waves.wave_open(wave=wave_2, seed_commitment=_commitment(WAVE_2_SEED), actor=actor)


def _scheme_spendable(actor: Actor) -> None:
    """The 2020 scheme's balances lapsed on 15 December 2020: in a demo run today nothing could be
    bought. The demo's scheme keeps its balances spendable for a year from the demo's start
    (changed through the scheme's audited service, as an operator would in the admin)."""
    scheme = scheme_active()
    today = clock.today()
    changed = False
    if scheme.balance_expiry_date < today + datetime.timedelta(days=DEMO_BALANCE_DAYS_LEFT):
        scheme.balance_expiry_date = today + datetime.timedelta(days=DEMO_BALANCE_DAYS)
        changed = True
    # The simulated 2020 ran at its scaled capacity; today's office sends at the scheme's own.
    capacity = ProgramScheme._meta.get_field("daily_disbursement_capacity").get_default()
    if scheme.daily_disbursement_capacity != capacity:
        scheme.daily_disbursement_capacity = capacity
        changed = True
    if changed:
        waves.scheme_save(scheme=scheme, actor=actor)


def _commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _verified_registrants() -> list[Registrant]:
    now = clock.now()
    rows = []
    demo_password = make_password(DEMO_PARTICIPANT_PASSWORD)
    for i in range(APPLICANTS):
        province, regency = REGIONS[i % len(REGIONS)]
        born = datetime.date(1985, 1, 1) + datetime.timedelta(days=97 * i)
        nik = make_nik(f"{regency}.01", born, "F" if i % 2 else "M", 9000 + i)
        first = i == 0
        rows.append(
            Registrant(
                email=DEMO_PARTICIPANT_EMAIL if first else f"peserta{i}@demo.prakerja.test",
                password=demo_password if first else "!",  # the others cannot sign in
                full_name="Siti Rahmawati" if first else f"Peserta Demo {i}",
                birth_date=born,
                sex="F" if i % 2 else "M",
                nik_encrypted=encrypt(nik),
                nik_index=blind_index(nik, purpose="nik"),
                nik_last4=nik[-4:],
                # Three families of three: the limit of two per family card shows in the draw
                kk_index=blind_index(f"demo-kk-{i // 3 if i < 9 else i}", purpose="kk"),
                phone=f"+628129900{i:04d}",
                regency_code=regency,
                province_code=province,
                education="sma",
                employment="laid_off" if first or i % 6 == 0 else "unemployed",
                in_school=False,
                **{f"{layer}_status": "passed" for layer in LAYERS},
                **{f"{layer}_at": now for layer in LAYERS},
            )
        )
    with transaction.atomic():
        Registrant.objects.bulk_create(rows)
    return list(Registrant.objects.filter(email__endswith="@demo.prakerja.test").order_by("pk"))


LAYERS = ("email", "nik", "phone", "eligibility", "face")
