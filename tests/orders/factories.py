"""Test setup for reviews and the provider evaluation: platforms, institutions, trainings,
participants and orders written as rows, directly in the state a test needs.

This is test setup, not the money path: an order made here moved no money in the ledger (the
purchase, redemption, completion and expiry services and their ledger legs are tested in the other
tests of tests/orders). Reviews are always written through orders.reviews.review_submit.
"""

import datetime
import itertools
from typing import Any

from django.utils import timezone

from prakerja.catalog.models import Delivery, Institution, Training, TrainingStatus
from prakerja.common.actors import Actor
from prakerja.orders.models import Order, OrderStatus
from prakerja.partners.models import Partner, PartnerKind
from prakerja.registration.models import Registrant
from prakerja.waves.models import (
    ApplicationOutcome,
    Participant,
    ProgramScheme,
    Wave,
    WaveApplication,
    WaveStatus,
)
from prakerja.waves.selectors import scheme_active
from tests.waves.factory import verified

_serial = itertools.count(1)
T0 = datetime.datetime(2020, 6, 1, 2, 0, tzinfo=datetime.UTC)  # 09:00 WIB


def actor_of(participant: Participant) -> Actor:
    return Actor.participant(participant.registrant_id)


def platform(code: str = "", name: str = "") -> Partner:
    number = next(_serial)
    code = code or f"platform-{number}"
    return Partner.objects.create(
        code=code, name=name or code.replace("-", " ").title(), kind=PartnerKind.PLATFORM
    )


def institution(on: Partner, name: str = "", *, owned: bool = False) -> Institution:
    number = next(_serial)
    return Institution.objects.create(
        platform=on,
        external_id=f"lpk-{number}",
        name=name or f"LPK {number}",
        owned_by_platform=owned,
    )


def training(
    of: Institution,
    title: str = "",
    *,
    status: str = TrainingStatus.ACTIVE,
    price_idr: int = 500_000,
    price_outside_program_idr: int = 600_000,
    duration_hours: int = 10,
    flag_price_above_outside: bool = False,
    **fields: Any,
) -> Training:
    number = next(_serial)
    return Training.objects.create(
        platform_id=of.platform_id,
        institution=of,
        external_id=f"kelas-{number}",
        title=title or f"Pelatihan {number}",
        category=fields.pop("category", "Kuliner"),
        description=fields.pop("description", f"Deskripsi pelatihan nomor {number}."),
        price_idr=price_idr,
        price_outside_program_idr=price_outside_program_idr,
        duration_hours=duration_hours,
        sessions=fields.pop("sessions", 4),
        delivery=fields.pop("delivery", Delivery.SELF_PACED),
        url=f"https://platform.example/kelas/{number}",
        status=status,
        content_hash=f"{number:064x}",
        flag_price_above_outside=flag_price_above_outside,
        **fields,
    )


def participant(full_name: str = "", *, scheme: ProgramScheme | None = None) -> Participant:
    """A selected participant of its own announced wave (rows only: no draw, no ledger credit)."""
    scheme = scheme or scheme_active()
    registrant = verified(1)[0]
    if full_name:
        Registrant.objects.filter(pk=registrant.pk).update(full_name=full_name)
    number = next(_serial)
    now = timezone.now()
    wave = Wave.objects.create(
        number=100_000 + number,
        scheme=scheme,
        status=WaveStatus.ANNOUNCED,
        quota=1,
        opens_at=now - datetime.timedelta(days=10),
        closes_at=now - datetime.timedelta(days=3),
    )
    application = WaveApplication.objects.create(
        wave=wave,
        registrant=registrant,
        outcome=ApplicationOutcome.SELECTED,
        province_code=registrant.province_code,
    )
    return Participant.objects.create(
        registrant=registrant,
        wave=wave,
        application=application,
        scheme=scheme,
        card_number=f"{number:016d}",
        selected_at=now - datetime.timedelta(days=2),
        purchase_deadline=now + datetime.timedelta(days=28),
    )


def order(
    who: Participant,
    of: Training,
    status: str = OrderStatus.COMPLETED,
    *,
    issued_at: datetime.datetime = T0,
    redeemed_after: datetime.timedelta | None = datetime.timedelta(hours=1),
    completed_after: datetime.timedelta | None = datetime.timedelta(hours=30),
    flag_fast_completion: bool = False,
) -> Order:
    """An order row in `status`. Redeemed `redeemed_after` the issue time (redeemed or completed
    orders), completed `completed_after` the redemption (completed orders)."""
    number = next(_serial)
    redeemed = status in (OrderStatus.REDEEMED, OrderStatus.COMPLETED)
    completed = status == OrderStatus.COMPLETED
    redeemed_at = issued_at + redeemed_after if redeemed and redeemed_after is not None else None
    completed_at = (
        redeemed_at + completed_after
        if completed and redeemed_at is not None and completed_after is not None
        else None
    )
    ended = status in (OrderStatus.EXPIRED, OrderStatus.REFUNDED, OrderStatus.CANCELLED)
    return Order.objects.create(
        participant=who,
        training=of,
        platform_id=of.platform_id,
        price_idr=of.price_idr,
        voucher_code=f"T{number:011d}",
        status=status,
        issued_at=issued_at,
        expires_at=issued_at + datetime.timedelta(days=30),
        redeemed_at=redeemed_at,
        percent=100 if completed else (40 if redeemed else 0),
        completed_at=completed_at,
        final_score=85 if completed else None,
        certificate_number=f"CERT-{number}" if completed else "",
        certificate_url=f"https://platform.example/sertifikat/{number}" if completed else "",
        flag_fast_completion=flag_fast_completion,
        ended_at=issued_at + datetime.timedelta(days=30) if ended else None,
    )


def completed_order(who: Participant | None = None, of: Training | None = None) -> Order:
    """A completed order of a new participant (or `who`) for a new training (or `of`)."""
    if of is None:
        of = training(institution(platform()))
    return order(who or participant(), of)
