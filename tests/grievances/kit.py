"""Givens for the complaint tests: registrants (verified rows, tests/waves/factory.py), a signed-in
portal client, attachments, operators with exactly the permissions named, and row counts."""

import datetime
import io

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.grievances.models import Complaint, ComplaintEvent
from prakerja.registration.models import Registrant
from tests.operators import operator_login
from tests.operators import staff_user as staff  # noqa: F401 - the kit's name for it
from tests.waves.factory import verified

PASSWORD = "Rahasia-Sekali-2020"
T0 = datetime.datetime(2020, 5, 4, 3, 0, tzinfo=datetime.UTC)  # 10.00 WIB


def registrant() -> Registrant:
    return verified(1)[0]


def as_participant(registrant: Registrant) -> Actor:
    return Actor.participant(registrant.pk)


def portal_client(person: Registrant, *, language: str = "id") -> Client:
    Registrant.objects.filter(pk=person.pk).update(password=make_password(PASSWORD))
    client = Client()
    answer = client.post("/masuk/", {"email": person.email, "password": PASSWORD})
    assert answer.status_code == 302
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def jpeg_with_exif(size: tuple[int, int] = (40, 30)) -> bytes:
    image = Image.new("RGB", size, (200, 150, 120))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 255)).save(out, format="PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def console_client(user: User) -> Client:
    """Signed in with the second factor (a TOTP device remembered in the session, as django_otp's
    login does). The one place tests sign operators in."""
    return operator_login(Client(), user)


def counts() -> tuple[int, int, int]:
    """Complaints, their events, and audit rows — but the console's record of each operator POST
    (console.action), which a refused step writes too, by design."""
    audit = AuditEvent.objects.exclude(event_type="console.action").count()
    return (Complaint.objects.count(), ComplaintEvent.objects.count(), audit)


def snapshot(complaint: Complaint) -> dict:
    return Complaint.objects.filter(pk=complaint.pk).values().get()
