"""The daily jobs of the order path (program.md §4, §7): vouchers still unredeemed after their
date expire and their price goes back, and what is left of a scheme's balances lapses to the
treasury after its balance expiry date.

    expiry      PLATFORM_PENDING(platform)    → TRAINING_BALANCE(participant) order-expire:{order}
                (→ TREASURY_RETURN instead once the participant's balance has lapsed)
    lapse       TRAINING_BALANCE(participant) → TREASURY_RETURN   balance-lapse:{scheme}:{participant}

Both lock participants before their balances (as purchases and the revocation job do), the expiry
job orders before participants, so that they never wait on a purchase or a redemption in a circle.
Chunks of CHUNK rows, each one transaction of a few set-based statements.
"""

import datetime
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import Account, AccountKind, Balance, Transaction
from prakerja.ledger.services import (
    Posting,
    account_get_or_create,
    accounts_ensure,
    transactions_post_bulk,
)
from prakerja.orders.models import Order, OrderStatus
from prakerja.orders.pseudonyms import participant_refs
from prakerja.orders.selectors import iso_wib
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.outbox import events_publish_many
from prakerja.waves.models import Participant, ProgramScheme

logger = logging.getLogger(__name__)

CHUNK = 1_000  # orders or participants per transaction of the daily jobs


def _expire_due(now: datetime.datetime) -> QuerySet[Order]:
    # Only issued orders can expire (rules.TRANSITIONS): the partial index order_issued_expiry.
    return Order.objects.filter(status=OrderStatus.ISSUED, expires_at__lt=now)


def vouchers_expire_due(*, now: datetime.datetime | None = None) -> int:
    """Expire every voucher still unredeemed after its date and return its price: to the
    participant's training balance, or to the treasury once that balance has lapsed (after the
    scheme's balance expiry date nothing can be bought with it, and the lapse job has already
    emptied it). `voucher.expired` goes to each platform. Chunks of CHUNK orders, each one
    transaction of a few set-based statements; a second run finds nothing and refunds nothing
    (ledger keys `order-expire:{order}`). Returns how many vouchers expired."""
    now = now or clock.now()
    actor = Actor.system("vouchers-expire")
    expired = 0
    after = 0
    while True:
        ids = list(
            _expire_due(now)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            return expired
        expired += _expire_chunk(ids, now=now, actor=actor)
        after = ids[-1]


def _expire_chunk(ids: list[int], *, now: datetime.datetime, actor: Actor) -> int:
    """Expire the unredeemed vouchers among `ids`. Unit of work: one transaction per chunk (the
    orders locked and filtered again, the refunds posted, the events written together)."""
    with transaction.atomic():
        # Locked and filtered again: a voucher redeemed meanwhile is not expired.
        rows = list(
            _expire_due(now)
            .select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list(
                "pk",
                "participant_id",
                "platform_id",
                "price_idr",
                "voucher_code",
                "training__external_id",
                "participant__scheme__balance_expiry_date",
            )
        )
        if not rows:
            return 0
        participant_ids = sorted({row[1] for row in rows})
        # The lapse job locks participants before their balances: so does this, so that a refund
        # and a lapse of one balance never cross.
        list(
            Participant.objects.select_for_update()
            .filter(pk__in=participant_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        today = timezone.localdate(now, timezone=WIB)
        balances = accounts_ensure(kind=AccountKind.TRAINING_BALANCE, owner_ids=participant_ids)
        pending = accounts_ensure(
            kind=AccountKind.PLATFORM_PENDING, owner_ids=[row[2] for row in rows]
        )
        treasury = account_get_or_create(kind=AccountKind.TREASURY_RETURN).pk
        postings = []
        returned_to: dict[int, str] = {}
        for pk, participant_id, platform_id, price, _, _, expiry_date in rows:
            lapsed = today > expiry_date
            destination = treasury if lapsed else balances[participant_id]
            returned_to[pk] = "treasury_return" if lapsed else "training_balance"
            postings.append(
                Posting(
                    f"order-expire:{pk}", ((pending[platform_id], -price), (destination, price))
                )
            )
        transactions_post_bulk(
            kind="order_expire",
            postings=postings,
            actor=actor,
            memo="Voucher expired unredeemed: price returned",
        )
        locked = [row[0] for row in rows]
        Order.objects.filter(pk__in=locked).update(
            status=OrderStatus.EXPIRED, ended_at=now, updated_at=now
        )
        ref = participant_refs()
        events_publish_many(
            event_type="voucher.expired",
            events=[
                (
                    platform_id,
                    str(pk),
                    {
                        "order_id": pk,
                        "voucher_code": voucher_code_format(code),
                        "training_external_id": external_id,
                        "price_idr": price,
                        "participant_ref": ref(platform_id, participant_id),
                        "expired_at": iso_wib(now),
                    },
                )
                for pk, participant_id, platform_id, price, code, external_id, _ in rows
            ],
        )
        audit_record_many(
            occurred_at=now,
            events=[
                AuditNew(
                    actor,
                    "order.expired",
                    Order._meta.label_lower,
                    str(pk),
                    {
                        "from": OrderStatus.ISSUED,
                        "price_idr": price,
                        "returned_to": returned_to[pk],
                    },
                )
                for pk, _, _, price, _, _, _ in rows
            ],
        )
    return len(rows)


def lapse_key(scheme_code: str, participant_id: int) -> str:
    return f"balance-lapse:{scheme_code}:{participant_id}"


def balances_lapse_due(*, today: datetime.date | None = None) -> int:
    """After a scheme's balance expiry date, move what is left of each of its participants' training
    balances to the treasury. Vouchers still open keep their price (it left the balance at
    purchase; if one expires later, its price goes to the treasury). Chunks of CHUNK participants;
    a second run finds no balance left and lapses nothing (ledger keys `balance-lapse:{scheme}:
    {participant}`). Returns how many balances lapsed."""
    today = today or clock.today()
    actor = Actor.system("balances-lapse")
    lapsed = 0
    for scheme in ProgramScheme.objects.filter(balance_expiry_date__lt=today).order_by("pk"):
        after = 0
        while True:
            owners = list(
                Balance.objects.filter(
                    account__kind=AccountKind.TRAINING_BALANCE,
                    amount__gt=0,
                    account__owner_id__gt=after,
                    account__owner_id__in=Participant.objects.filter(scheme=scheme).values("pk"),
                )
                .order_by("account__owner_id")
                .values_list("account__owner_id", flat=True)[:CHUNK]
            )
            ids = [owner for owner in owners if owner is not None]  # owned accounts: never None
            if not ids:
                break
            lapsed += _lapse_chunk(scheme, ids, actor=actor)
            after = ids[-1]
    return lapsed


def _lapse_chunk(scheme: ProgramScheme, participant_ids: list[int], *, actor: Actor) -> int:
    """Return the unspent balances of `participant_ids` to the treasury. Unit of work: one
    transaction per chunk, the participants locked first."""
    now = clock.now()
    with transaction.atomic():
        # Participants first (as purchases, the expiry job and revocation lock them), then their
        # balances are read again: a purchase or a refund committed meanwhile is counted.
        locked = list(
            Participant.objects.select_for_update()
            .filter(pk__in=participant_ids, scheme=scheme)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        accounts = dict(
            Account.objects.filter(
                kind=AccountKind.TRAINING_BALANCE, owner_id__in=locked
            ).values_list("owner_id", "pk")
        )
        amounts = dict(
            Balance.objects.filter(account_id__in=accounts.values(), amount__gt=0).values_list(
                "account_id", "amount"
            )
        )
        keys = {pk: lapse_key(scheme.code, pk) for pk in locked if accounts.get(pk) in amounts}
        done = set(
            Transaction.objects.filter(idempotency_key__in=keys.values()).values_list(
                "idempotency_key", flat=True
            )
        )
        for pk in sorted(pk for pk, key in keys.items() if key in done):
            # Money reached a balance after it lapsed: not by this app's services (an expiry
            # after the date returns the price to the treasury). Left for an operator to see.
            logger.warning(
                "training balance of participant %s holds Rp%s after its lapse",
                pk,
                amounts[accounts[pk]],
            )
        due = {pk: amounts[accounts[pk]] for pk, key in keys.items() if key not in done}
        treasury = account_get_or_create(kind=AccountKind.TREASURY_RETURN).pk
        if due:
            transactions_post_bulk(
                kind="balance_lapse",
                postings=[
                    Posting(keys[pk], ((accounts[pk], -amount), (treasury, amount)))
                    for pk, amount in sorted(due.items())
                ],
                actor=actor,
                memo=f"Scheme {scheme.code}: balance lapsed on its expiry date",
            )
        audit_record_many(
            occurred_at=now,
            events=[
                AuditNew(
                    actor,
                    "participant.balance_lapsed",
                    Participant._meta.label_lower,
                    str(pk),
                    {
                        "scheme": scheme.code,
                        "balance_expiry_date": scheme.balance_expiry_date.isoformat(),
                        "lapsed_idr": amount,
                    },
                )
                for pk, amount in sorted(due.items())
            ],
        )
    return len(due)
