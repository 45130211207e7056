"""Partners, training bodies and snapshots for the catalog and partner-API tests."""

import copy
import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Institution, Training
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.partners.models import IdempotentCall, OutboundEvent, Partner
from prakerja.partners.services import partner_create
from prakerja.partners.signing import signed_headers

ADMIN = Actor.system("tests")

DESCRIPTION = (
    "Pelatihan ini mengajarkan cara menyeduh kopi espresso dengan mesin semi otomatis, merawat "
    "mesin dan grinder, mengukur rasio kopi dan air, membuat latte art dasar, menghitung harga "
    "pokok per cangkir, melayani pelanggan dengan ramah, dan menyusun menu minuman untuk kedai "
    "kecil. Peserta berlatih langsung dengan resep yang dipakai kedai kopi di Indonesia."
)


def training_body(**overrides: Any) -> dict[str, Any]:
    """A valid `PUT /trainings/{id}` body (self-paced); keyword arguments replace fields."""
    body: dict[str, Any] = {
        "title": "Menjadi Barista Profesional",
        "category": "Kuliner",
        "description": DESCRIPTION,
        "price_idr": 750_000,
        "price_outside_program_idr": 900_000,
        "duration_hours": 12,
        "sessions": 6,
        "delivery": "self_paced",
        "institution": {
            "external_id": "lpk-kopi",
            "name": "LPK Kopi Nusantara",
            "owned_by_platform": False,
        },
        "url": "https://platform.example/kelas/barista",
    }
    body.update(copy.deepcopy(overrides))
    return body


def offline_body(**overrides: Any) -> dict[str, Any]:
    location = {
        "address": "Jl. Braga No. 10, Bandung",
        "regency_code": "32.73",
        "lat": -6.9175,
        "lon": 107.6191,
    }
    return training_body(**{"delivery": "offline", "location": location, **overrides})


def make_partner(code: str, kind: str = "platform") -> tuple[Partner, str]:
    """A partner and its signing secret, made by the service as the CLI does."""
    return partner_create(code=code, name=code.title(), kind=kind, actor=ADMIN)


def now_wib() -> str:
    return timezone.now().astimezone(WIB).isoformat(timespec="seconds")


@dataclass
class Caller:
    """A partner calling the partner API through Django's test client, signing as partner-api.md
    says: over the request target exactly as sent (`path`, percent-encoding and query as given),
    which the test client passes in `RAW_URI` as gunicorn does."""

    client: Client
    code: str
    secret: str
    calls: int = 0

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        external_id: str | None = None,
        timestamp: str | None = None,
        secret: str | None = None,
        raw: bytes | None = None,
        drop: str | None = None,
    ) -> Any:
        self.calls += 1
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        full_path = "/api/partner/v1" + path
        headers = signed_headers(
            partner=self.code,
            secret=self.secret if secret is None else secret,
            method=method,
            path_with_query=full_path,
            body=data,
            timestamp=timestamp or now_wib(),
            external_id=external_id or f"{self.code}-call-{self.calls}",
        )
        if drop:
            headers.pop(drop)
        return self.client.generic(
            method,
            full_path,
            data,
            content_type="application/json",
            headers=headers,
            RAW_URI=full_path,
        )

    def put(self, training: str, body: Any, **kwargs: Any) -> Any:
        return self("PUT", f"/trainings/{training}", body, **kwargs)

    def delete(self, training: str, **kwargs: Any) -> Any:
        return self("DELETE", f"/trainings/{training}", **kwargs)


def snapshot() -> dict[str, Any]:
    """Everything a partner call could change."""
    return {
        "trainings": list(
            Training.objects.order_by("pk").values_list(
                "pk",
                "platform_id",
                "external_id",
                "status",
                "status_reason",
                "content_hash",
                "price_idr",
                "flag_price_above_outside",
                "flag_near_duplicate",
                "near_duplicate_checked",
                "updated_at",
            )
        ),
        "institutions": list(
            Institution.objects.order_by("pk").values_list("pk", "name", "owned_by_platform")
        ),
        "audit": AuditEvent.objects.exclude(event_type="console.action").count(),
        "events": OutboundEvent.objects.count(),
        "idempotent_calls": IdempotentCall.objects.count(),
    }


def minutes_ago(minutes: int) -> str:
    moment = timezone.now() - datetime.timedelta(minutes=minutes)
    return moment.astimezone(WIB).isoformat(timespec="seconds")
