"""Setup for the money path of orders (purchase, vouchers, redemption, completion, expiry, lapse):
participants selected and credited by the real draw, trainings published and approved through the
catalog services, and a snapshot of everything a refused call must leave as it was."""

import datetime
from typing import Any

from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.catalog.services import training_review, training_upsert
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import AccountKind, Balance, Leg, Transaction
from prakerja.ledger.selectors import account_balance
from prakerja.orders.models import Order
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.waves.models import Participant, ProgramScheme
from prakerja.waves.selection import wave_select
from tests.catalog.kit import make_partner, training_body
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

PMO = Actor("user", 1, "user:pmo")
BALANCE = 1_000_000  # the 2020 scheme's training balance (the scheme is read in the services)
_seeds = iter(range(1, 10**6))


def scheme_valid_for_a_year() -> ProgramScheme:
    """Test setup: the seeded 2020 scheme's balance expiry date (15 Dec 2020) is long past on the
    machine's clock; a year from today it is still spendable."""
    today = timezone.localdate(timezone=WIB)
    ProgramScheme.objects.filter(code="2020").update(
        balance_expiry_date=today + datetime.timedelta(days=365)
    )
    return ProgramScheme.objects.get(code="2020")


def credited(n: int) -> list[Participant]:
    """`n` participants drawn in a wave of their own and credited (the real selection path)."""
    seed = f"orders-seed-{next(_seeds)}"
    wave = open_wave(quota=n, seed=seed)
    join(wave, verified(n))
    wave_select(wave=closed(wave), seed=seed, actor=OPERATOR)
    return list(Participant.objects.filter(wave=wave).select_related("scheme").order_by("pk"))


def platform(code: str) -> tuple[Partner, str]:
    partner, secret = make_partner(code)
    # The tests call faster than any platform; the rate limit is tested elsewhere.
    Partner.objects.filter(pk=partner.pk).update(rate_limit_per_minute=10**6)
    partner.refresh_from_db()
    return partner, secret


def active_training(
    on: Partner, external_id: str, *, price: int = 300_000, hours: int = 12, **fields: Any
) -> Training:
    """A training published by the platform and approved by the PMO (catalog services)."""
    body = training_body(
        title=fields.pop("title", f"Pelatihan {external_id}"),
        price_idr=price,
        price_outside_program_idr=max(price, 900_000),
        duration_hours=hours,
        **fields,
    )
    actor = Actor.partner(on.pk, on.code)
    training, _ = training_upsert(platform=on, external_id=external_id, data=body, actor=actor)
    return training_review(training=training, decision="approve", reason="", actor=PMO)


def balance(participant: Participant) -> int:
    return account_balance(kind=AccountKind.TRAINING_BALANCE, owner_id=participant.pk)


def pending(on: Partner) -> int:
    return account_balance(kind=AccountKind.PLATFORM_PENDING, owner_id=on.pk)


def payable(on: Partner) -> int:
    return account_balance(kind=AccountKind.PLATFORM_PAYABLE, owner_id=on.pk)


def treasury() -> int:
    return account_balance(kind=AccountKind.TREASURY_RETURN)


def snapshot() -> dict[str, Any]:
    """Everything an order call could change: orders, ledger, events, audit, participants' first
    purchase, trainings' buyers."""
    return {
        "orders": list(
            Order.objects.order_by("pk").values_list(
                "pk",
                "status",
                "voucher_code",
                "redeemed_at",
                "platform_user_ref",
                "percent",
                "sessions_attended",
                "progress_reported_at",
                "completed_at",
                "final_score",
                "certificate_number",
                "certificate_url",
                "flag_fast_completion",
                "ended_at",
                "updated_at",
            )
        ),
        "transactions": Transaction.objects.count(),
        "legs": Leg.objects.count(),
        "balances": list(
            Balance.objects.order_by("account_id").values_list("account_id", "amount")
        ),
        "events": list(OutboundEvent.objects.order_by("pk").values_list("pk", "event_type")),
        "audit": AuditEvent.objects.count(),
        "first_purchases": list(
            Participant.objects.order_by("pk").values_list("pk", "first_purchase_at")
        ),
        "buyers": list(Training.objects.order_by("pk").values_list("pk", "buyers")),
    }


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=WIB)
