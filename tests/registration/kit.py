"""Registration test kit: a registry and an SMS gateway behind the real adapter seams, people with
valid NIKs, and helpers that walk a person through the layers. Its fixtures are declared in
tests/conftest.py, so every test package can use them."""

import datetime
import io
import re
from dataclasses import dataclass, field

from django.core import mail
from PIL import Image

from prakerja.integrations.population import (
    FaceResult,
    RegistryRecord,
    RegistryUnavailable,
)
from prakerja.integrations.sms import SmsUnavailable
from prakerja.registration import services
from prakerja.registration.models import Registrant
from prakerja.registration.nik import make_nik


@dataclass
class FakeRegistry:
    records: dict[str, RegistryRecord] = field(default_factory=dict)
    faces_ok: set[str] = field(default_factory=set)
    down: bool = False
    calls: int = 0

    def lookup(self, nik: str) -> RegistryRecord | None:
        self.calls += 1
        if self.down:
            raise RegistryUnavailable("sandbox says no")
        return self.records.get(nik)

    def face_match(self, nik: str, image: bytes) -> FaceResult:
        self.calls += 1
        if self.down:
            raise RegistryUnavailable("sandbox says no")
        return FaceResult(nik in self.faces_ok, 0.93 if nik in self.faces_ok else 0.12)


@dataclass
class FakeSms:
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    down: bool = False

    def send(self, *, to: str, text: str, reference: str) -> str:
        if self.down:
            raise SmsUnavailable("gateway down")
        self.sent.append((to, text, reference))
        return f"sms-{len(self.sent)}"

    def last_code(self, phone: str) -> str:
        texts = [text for to, text, _ in self.sent if to == phone]
        return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


@dataclass(frozen=True)
class Person:
    nik: str
    full_name: str
    birth_date: datetime.date
    phone: str
    email: str


class People:
    """Makes people that exist in the fake registry (or not, on request)."""

    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry
        self.serial = 0

    def make(
        self,
        *,
        birth_date: datetime.date = datetime.date(1990, 8, 15),
        sex: str = "M",
        name: str = "BUDI SANTOSO",
        in_registry: bool = True,
        deceased: bool = False,
        face_ok: bool = True,
        kk: str = "3201011501200001",
    ) -> Person:
        self.serial += 1
        nik = make_nik("32.01.01", birth_date, sex, self.serial)
        if in_registry:
            self.registry.records[nik] = RegistryRecord(
                nik=nik,
                kk_number=kk,
                full_name=name,
                birth_date=birth_date,
                sex=sex,
                regency_code="32.01",
                deceased=deceased,
            )
        if face_ok:
            self.registry.faces_ok.add(nik)
        return Person(
            nik=nik,
            full_name=name.title(),
            birth_date=birth_date,
            phone=f"08123456{self.serial:04d}",
            email=f"person{self.serial}@example.id",
        )


def sign_up_data(person: Person, **overrides: object) -> services.SignUp:
    values: dict[str, object] = dict(
        email=person.email,
        password="Rahasia-Sekali-2020",
        nik=person.nik,
        full_name=person.full_name,
        birth_date=person.birth_date,
        phone=person.phone,
        regency_code="32.01",
        education="sma",
        employment="laid_off",
        in_school=False,
    )
    values.update(overrides)
    return services.SignUp(**values)  # type: ignore[arg-type]


def email_code(to: str) -> str:
    bodies = [m.body for m in mail.outbox if to in m.to]
    return re.search(r"\b(\d{6})\b", bodies[-1]).group(1)


class Journey:
    """Walks one person through the layers with on-commit work (tasks) executed."""

    def __init__(self, capture, sms: FakeSms) -> None:  # type: ignore[no-untyped-def]
        self.capture = capture
        self.sms = sms
        self.receipts: dict[int, services.SignUpReceipt] = {}

    def sign_up(self, person: Person, **overrides: object) -> Registrant:
        data = sign_up_data(person, **overrides)
        with self.capture(execute=True):
            receipt = services.registrant_sign_up(data=data, client_ip="10.0.0.1")
        registrant = Registrant.objects.get(email=receipt.email)
        self.receipts[registrant.pk] = receipt
        return registrant

    def verify_email(self, registrant: Registrant) -> Registrant:
        with self.capture(execute=True):
            services.sign_up_email_verify(
                token=self.receipts[registrant.pk].token,
                code=email_code(registrant.email),
                client_ip="10.0.0.1",
            )
        return Registrant.objects.get(pk=registrant.pk)

    def verify_phone(self, registrant: Registrant) -> Registrant:
        with self.capture(execute=True):
            services.phone_verify_code(
                registrant=registrant,
                code=self.sms.last_code(registrant.phone),
                client_ip="10.0.0.1",
            )
        return Registrant.objects.get(pk=registrant.pk)

    def through_phone(self, person: Person, **overrides: object) -> Registrant:
        return self.verify_phone(self.verify_email(self.sign_up(person, **overrides)))


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 64), (200, 150, 120))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()
