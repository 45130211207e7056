"""Verified registrants in bulk for selection tests: rows as registration leaves them once every
layer passed (registration's own tests walk the layers one by one)."""

import datetime
import hashlib
import itertools

from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.crypto import blind_index, encrypt
from prakerja.registration.models import Registrant
from prakerja.registration.nik import make_nik
from prakerja.waves import services
from prakerja.waves.models import Wave, WaveApplication

PASSED = "passed"
_serial = itertools.count(1)
OPERATOR = Actor("user", 1, "user:operator")


def nik_for(number: int) -> str:
    """A valid NIK (it passes `check_nik`), different for every number."""
    born = datetime.date(1990, 1, 1) + datetime.timedelta(days=number // 9000)
    return make_nik("32.01.01", born, "M", number % 9000 + 1)


def verified(
    n: int,
    *,
    province: str = "32",
    employment: str = "employee",
    kk: str | None = None,
    language: str = "id",
) -> list[Registrant]:
    """`n` registrants who passed every layer; all in family card `kk` when given, else each in
    a family of their own."""
    rows = []
    now = timezone.now()
    for _ in range(n):
        number = next(_serial)
        nik = nik_for(number)
        rows.append(
            Registrant(
                email=f"r{number}@contoh.id",
                password="!",
                full_name=f"Peserta {number}",
                birth_date=datetime.date(1990, 1, 1),
                sex="M",
                nik_encrypted=encrypt(nik),
                nik_index=blind_index(nik, purpose="nik"),
                nik_last4=nik[-4:],
                kk_index=blind_index(kk or f"kk-{number}", purpose="kk"),
                phone=f"+62812{number:08d}",
                regency_code=f"{province}.01",
                province_code=province,
                education="sma",
                employment=employment,
                in_school=False,
                language=language,
                email_status=PASSED,
                nik_status=PASSED,
                phone_status=PASSED,
                eligibility_status=PASSED,
                face_status=PASSED,
                email_at=now,
                nik_at=now,
                phone_at=now,
                eligibility_at=now,
                face_at=now,
            )
        )
    Registrant.objects.bulk_create(rows)
    return list(Registrant.objects.filter(email__in=[r.email for r in rows]).order_by("pk"))


def seed_and_commitment(text: str = "seed-of-the-wave") -> tuple[str, str]:
    return text, hashlib.sha256(text.encode()).hexdigest()


def open_wave(*, seed: str = "seed-of-the-wave", **settings: object) -> Wave:
    now = timezone.now()
    values: dict[str, object] = dict(
        quota=10, opens_at=now, closes_at=now + datetime.timedelta(days=7), actor=OPERATOR
    )
    values.update(settings)
    wave = services.wave_create(**values)  # type: ignore[arg-type]
    return services.wave_open(
        wave=wave, seed_commitment=hashlib.sha256(seed.encode()).hexdigest(), actor=OPERATOR
    )


def join(wave: Wave, registrants: list[Registrant]) -> list[WaveApplication]:
    return [services.wave_join(wave=wave, registrant=r, actor=OPERATOR) for r in registrants]


def closed(wave: Wave) -> Wave:
    return services.wave_close(wave=wave, actor=OPERATOR)
