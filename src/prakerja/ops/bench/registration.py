"""n complete registrations through the service layer — sign-up, email code, NIK check against the
registry, SMS OTP, eligibility, selfie and face check — with the registry and the SMS gateway as
in-process sandbox adapters, against the limit of hashing n passwords with the same hasher alone
(argon2 is deliberately the dominant cost of a sign-up)."""

import io
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.core import mail
from django.db import connection
from django.test.utils import override_settings
from PIL import Image

from prakerja.integrations.population import use_population_registry
from prakerja.integrations.population.inprocess import InProcessPopulationRegistry
from prakerja.integrations.population.sandbox import ensure_store, today
from prakerja.integrations.sms import use_sms_gateway
from prakerja.ops.bench import BenchResult
from prakerja.ops.bench.timing import stopwatch
from prakerja.registration import services
from prakerja.registration.models import Registrant
from prakerja.registration.selectors import funnel_totals

PASSWORD = "Rahasia-Bench-2020"  # noqa: S105 - a benchmark's throw-away accounts


@dataclass
class _Sms:
    last: dict[str, str] = field(default_factory=dict)

    def send(self, *, to: str, text: str, reference: str) -> str:
        self.last[to] = re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]
        return reference


def run(n: int, log: Callable[[str], None]) -> BenchResult:
    day = today()
    with tempfile.TemporaryDirectory() as folder:
        # One eligible person per family card is taken, and families average about three people.
        size = max(n * 4, 1000)
        log(f"setup: synthetic population of {size} people")
        store = ensure_store(Path(folder) / "population.sqlite3", size, 2020, day)
        people = store.demo_people(n)
        if len(people) < n:
            raise RuntimeError(f"only {len(people)} eligible people for n={n}")
        selfie = _selfie()
        sms = _Sms()
        log("system: complete registrations through the services")
        with (
            use_population_registry(InProcessPopulationRegistry(store)),
            use_sms_gateway(sms),
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            stopwatch() as system,
        ):
            mail.outbox = []
            for i, person in enumerate(people):
                _register(i, person, sms, selfie)
        totals = funnel_totals()
        if totals["face"] != n or Registrant.objects.count() != n:
            raise RuntimeError(f"registrations did not all complete: {totals}")

    log("limit: the same number of password hashes alone")
    with stopwatch() as limit:
        for i in range(n):
            make_password(f"{PASSWORD}-{i}")
    return BenchResult(
        seconds=system.seconds,
        limit_seconds=limit.seconds,
        extra={"database": connection.vendor, "completed": totals["face"]},
    )


def _register(i: int, person: object, sms: _Sms, selfie: bytes) -> None:
    ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    receipt = services.registrant_sign_up(
        data=services.SignUp(
            email=f"bench{i}@example.id",
            password=PASSWORD,
            nik=person.nik,  # type: ignore[attr-defined]
            full_name=person.full_name,  # type: ignore[attr-defined]
            birth_date=person.birth_date,  # type: ignore[attr-defined]
            phone=f"+62812{i:08d}",
            regency_code=person.regency_code,  # type: ignore[attr-defined]
            education="sma",
            employment="unemployed",
            in_school=False,
        ),
        client_ip=ip,
    )
    code = re.search(r"\b(\d{6})\b", str(mail.outbox[-1].body)).group(1)  # type: ignore[union-attr]
    mail.outbox.clear()
    # Outside a transaction, on-commit work (the registry check, the SMS) runs at once, as the
    # inline task mode does in the embedded default.
    registrant = services.sign_up_email_verify(token=receipt.token, code=code, client_ip=ip)
    registrant = Registrant.objects.get(pk=registrant.pk)  # each step is a new request
    services.phone_verify_code(
        registrant=registrant, code=sms.last[registrant.phone or ""], client_ip=ip
    )
    registrant = Registrant.objects.get(pk=registrant.pk)
    services.face_submit(registrant=registrant, image=selfie)


def _selfie() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), (180, 140, 120)).save(out, format="JPEG")
    return out.getvalue()
