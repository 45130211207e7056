"""Participants who have earned their incentives, institutions with sandbox banks over real HTTP,
and the readings the disbursement tests compare."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from django.db.models import Sum
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.incentives.accounts import payment_account_link
from prakerja.incentives.models import Entitlement, TransferInstruction
from prakerja.integrations.bank.sandbox import BankConfig, BankFaults, create_app
from prakerja.integrations.sandbox import start_in_thread
from prakerja.ledger.models import AccountKind, Balance
from prakerja.orders.models import Order
from prakerja.orders.reviews import review_submit
from prakerja.orders.services import order_complete, order_purchase, voucher_redeem
from prakerja.partners.models import Partner, PartnerKind
from prakerja.partners.services import partner_create
from prakerja.waves.models import Participant
from tests.orders.kit import active_training, credited, platform

MAKER = Actor(kind="user", id=901, label="user:maker")
CHECKER = Actor(kind="user", id=902, label="user:checker")
SYSTEM = Actor.system("tests")


def institution(code: str) -> tuple[Partner, str]:
    partner, secret = partner_create(
        code=code, name=code.upper(), kind=PartnerKind.INSTITUTION, actor=SYSTEM
    )
    Partner.objects.filter(pk=partner.pk).update(rate_limit_per_minute=10**6)
    partner.refresh_from_db()
    return partner, secret


@dataclass
class Bank:
    code: str
    url: str
    partner: Partner
    secret: str

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}{path}", json=body, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def faults(self, **values: Any) -> None:
        self.control("POST", "/_bank_faults", values)

    def totals(self) -> dict[str, Any]:
        return self.control("GET", "/_totals")

    def add_accounts(self, accounts: list[dict[str, Any]]) -> None:
        self.control("POST", "/_accounts", {"accounts": accounts})


@contextmanager
def sandbox_bank(
    code: str,
    monkeypatch: Any,
    *,
    system_url: str = "",
    seed: int = 7,
    callback_workers: int = 2,
    **faults: Any,
) -> Iterator[Bank]:
    """An institution partner and its sandbox over HTTP; the adapter pointed at it."""
    partner, secret = institution(code)
    app = create_app(
        BankConfig(
            name=code,
            seed=seed,
            system_url=system_url or "http://127.0.0.1:9",
            partner=code,
            secret=secret if system_url else "",
            callback_workers=callback_workers,
        ),
        BankFaults(**faults),
    )
    url, stop = start_in_thread(app)
    monkeypatch.setenv("PRAKERJA_BANK_URLS", f"{code}={url}")
    monkeypatch.setenv("PRAKERJA_ADAPTER_TIMEOUT_S", "2")
    try:
        yield Bank(code, url, partner, secret)
    finally:
        stop()
        app.close()
        app.sender.join(timeout=5)


def nik_of(participant: Participant) -> str:
    return decrypt(participant.registrant.nik_encrypted)


def wallet(participant: Participant, **overrides: Any) -> dict[str, Any]:
    """The sandbox book's e-wallet of the participant: their phone, their NIK, upgraded."""
    return {
        "account_type": "e_wallet",
        "account_number": participant.registrant.phone,
        "nik": nik_of(participant),
        "holder_name": f"Peserta {participant.pk}",
        "kyc_level": "upgraded",
        "status": "active",
        **overrides,
    }


def completed_and_reviewed(count: int) -> list[Participant]:
    """Participants each with a completed, certified and reviewed training (no account yet): a
    completion that took the training's hour and a review in their own words, so that nothing is
    in doubt (a fast completion or another account's text holds the incentives)."""
    seller, _ = platform(f"plat{Participant.objects.count()}")
    training = active_training(seller, f"t{Participant.objects.count()}", price=300_000, hours=1)
    people = credited(count)
    for person in people:
        actor = Actor.participant(person.registrant_id)
        order = order_purchase(participant=person, training=training, actor=actor)
        platform_actor = Actor.partner(seller.pk, seller.code)
        voucher_redeem(
            platform=seller,
            voucher_code=order.voucher_code,
            platform_user_ref="u",
            actor=platform_actor,
        )
        Order.objects.filter(pk=order.pk).update(
            redeemed_at=timezone.now() - datetime.timedelta(hours=training.duration_hours)
        )
        order_complete(
            platform=seller,
            order_id=order.pk,
            completed_at=timezone.now(),
            final_score=90,
            certificate_number=f"C-{order.pk}",
            certificate_url=f"https://example.org/c/{order.pk}",
            actor=platform_actor,
        )
        review_submit(
            participant=person,
            order=order,
            stars=5,
            text=f"Pelatihannya sangat bermanfaat bagi saya, peserta {person.pk}.",
            actor=actor,
        )
    return [Participant.objects.select_related("registrant", "scheme").get(pk=p.pk) for p in people]


def link(person: Participant, bank: Bank) -> Any:
    return payment_account_link(
        participant=person,
        institution_code=bank.code,
        account_number=person.registrant.phone,
        actor=Actor.participant(person.registrant_id),
    )


def months_ahead(months: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=31 * months)


def balance(kind: str, owner_id: int | None = None) -> int:
    rows = Balance.objects.filter(account__kind=kind)
    if owner_id is not None:
        rows = rows.filter(account__owner_id=owner_id)
    return int(rows.aggregate(total=Sum("amount"))["total"] or 0)


def paid_total(institution_id: int) -> int:
    return int(
        TransferInstruction.objects.filter(
            institution_id=institution_id, status="success"
        ).aggregate(total=Sum("amount_idr"))["total"]
        or 0
    )


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status, reason in Entitlement.objects.values_list("status", "hold_reason"):
        key = f"{status}:{reason}" if reason else status
        counts[key] = counts.get(key, 0) + 1
    return counts


__all__ = ["AccountKind"]
