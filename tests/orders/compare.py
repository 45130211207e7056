"""The comparison of a set-based call with the same items one by one through the per-request
services: run both from the same database state and the same clock (the per-item run inside a
transaction rolled back), and compare every answer (the same code and details, or success) and the
whole database they leave: orders, ledger transactions, legs and balances, accounts, events, audit
events, participants' first purchases and trainings' buyers. Ids that a sequence hands out (orders,
ledger transactions, accounts, events) are compared through what they stand for, since a
rolled-back run still advances PostgreSQL's sequences."""

import datetime
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.common.refusals import Refused
from prakerja.ledger.models import Account, Balance, Leg, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.bulk import (
    Completion,
    orders_complete_bulk,
    orders_purchase_bulk,
    vouchers_redeem_bulk,
)
from prakerja.orders.models import Order
from prakerja.orders.services import order_complete, order_purchase, voucher_redeem
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.waves.models import Participant
from tests.isolation import rolled_back


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def order_names() -> dict[str, str]:
    """Each order's id and voucher code -> a name that does not depend on the id sequence."""
    names: dict[str, str] = {}
    for pk, code, participant, training, issued in Order.objects.values_list(
        "pk", "voucher_code", "participant_id", "training_id", "issued_at"
    ):
        name = f"order<{participant}/{training}/{issued.isoformat()}>"
        names[str(pk)] = names[code] = names[voucher_code_format(code)] = name
    return names


def named(value: Any, names: dict[str, str]) -> Any:
    """`value` with order ids and voucher codes replaced by the orders' names."""
    if isinstance(value, dict):
        return {
            key: named(item, names)
            if key not in ("order_id", "voucher_code")
            else names.get(str(item), item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [named(item, names) for item in value]
    return value


def state() -> dict[str, Any]:
    """The whole database state an order call can change, independent of sequence values."""
    names = order_names()
    account_of = {
        pk: (kind, owner)
        for pk, kind, owner in Account.objects.values_list("pk", "kind", "owner_id")
    }

    def key(text: str) -> str:
        prefix, _, rest = text.partition(":")
        return f"{prefix}:{names.get(rest, rest)}"

    key_of = {
        pk: key(idempotency_key)
        for pk, idempotency_key in Transaction.objects.values_list("pk", "idempotency_key")
    }
    order_columns = [
        field.attname for field in Order._meta.concrete_fields if field.attname != "id"
    ]
    return {
        "orders": sorted(
            (
                tuple({**row, "voucher_code": names[row["voucher_code"]]}.items())
                for row in Order.objects.values(*order_columns)
            ),
            key=repr,
        ),
        "transactions": sorted(
            (key_of[pk], kind, actor)
            for pk, kind, actor in Transaction.objects.values_list("pk", "kind", "actor")
        ),
        "legs": sorted(
            (
                (key_of[txn], account_of[account], amount)
                for txn, account, amount in Leg.objects.values_list(
                    "transaction_id", "account_id", "amount"
                )
            ),
            key=repr,
        ),
        "accounts": sorted(account_of.values(), key=repr),
        "balances": sorted(
            (
                (account_of[pk], amount)
                for pk, amount in Balance.objects.values_list("pk", "amount")
            ),
            key=repr,
        ),
        "events": sorted(
            (
                partner,
                event_type,
                names.get(subject, subject) if event_type.startswith("voucher.") else subject,
                json.dumps(named(payload, names), sort_keys=True),
                created_at,
            )
            for partner, event_type, subject, payload, created_at in OutboundEvent.objects.values_list(
                "partner_id", "event_type", "subject", "payload", "created_at"
            )
        ),
        "audit": sorted(
            (
                actor_label,
                event_type,
                subject_type,
                names.get(subject_id, subject_id) if subject_type == "orders.order" else subject_id,
                json.dumps(named(details, names), sort_keys=True),
            )
            for actor_label, event_type, subject_type, subject_id, details in AuditEvent.objects.values_list(
                "actor_label", "event_type", "subject_type", "subject_id", "details"
            )
        ),
        "first_purchases": sorted(
            Participant.objects.values_list("pk", "first_purchase_at", "status")
        ),
        "buyers": sorted(Training.objects.values_list("pk", "buyers")),
    }


Outcome = tuple[str, Any]


def outcome_of_error(error: ApplicationError) -> Outcome:
    return error.code, error.details


def per_item(calls: list[Callable[[], Order]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for call in calls:
        try:
            order = call()
        except ApplicationError as error:
            outcomes.append(outcome_of_error(error))
        else:
            outcomes.append(("OK", str(order.pk)))
    return outcomes


def bulk_outcomes(count: int, done: dict[int, str], refused: list[Refused]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * count
    for index, order_id in done.items():
        outcomes[index] = ("OK", order_id)
    for refusal in refused:
        assert outcomes[refusal.index] is None
        outcomes[refusal.index] = outcome_of_error(refusal.error)
    assert None not in outcomes
    return outcomes  # type: ignore[return-value]


def compare(
    moment: datetime.datetime,
    one_by_one: Callable[[], list[Outcome]],
    in_bulk: Callable[[], list[Outcome]],
) -> list[Outcome]:
    """Run both ways from the same state at the same time; assert the same answers and the same
    database. Returns the answers, with orders named."""
    with clock(moment):
        with rolled_back():
            expected = one_by_one()
            expected_state = state()
            expected_named = named_outcomes(expected)
        got = in_bulk()
        got_state = state()
        got_named = named_outcomes(got)
    assert got_named == expected_named
    for part in expected_state:
        assert got_state[part] == expected_state[part], part
    assert ledger_integrity_report().ok
    return got_named


def named_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    names = order_names()
    return [
        (code, names[detail] if code == "OK" else named(detail, names)) for code, detail in outcomes
    ]


# --- both ways, for each entry point ----------------------------------------------------------------

ACTOR = Actor.system("simulation")


def purchase_both_ways(
    moment: datetime.datetime, participants: dict[int, Participant], pairs: list[tuple[int, int]]
) -> list[Outcome]:
    def one_by_one() -> list[Outcome]:
        return per_item(
            [
                lambda p=p, t=t: order_purchase(
                    participant=participants[p],
                    training=Training.objects.get(pk=t)
                    if Training.objects.filter(pk=t).exists()
                    else Training(pk=t),
                    actor=ACTOR,
                )
                for p, t in pairs
            ]
        )

    def in_bulk() -> list[Outcome]:
        result = orders_purchase_bulk(purchases=pairs, actor=ACTOR)
        for index, order in result.orders.items():
            assert pairs[index] == (order.participant_id, order.training_id)
            stored = Order.objects.get(pk=order.order_id)
            assert (stored.voucher_code, stored.price_idr, stored.expires_at) == (
                order.voucher_code,
                order.price_idr,
                order.expires_at,
            )
        done = {index: str(order.order_id) for index, order in result.orders.items()}
        return bulk_outcomes(len(pairs), done, result.refused)

    return compare(moment, one_by_one, in_bulk)


def redeem_both_ways(
    moment: datetime.datetime, on: Partner, items: list[tuple[str, str]]
) -> list[Outcome]:
    def one_by_one() -> list[Outcome]:
        return per_item(
            [
                lambda code=code, ref=ref: voucher_redeem(
                    platform=on, voucher_code=code, platform_user_ref=ref, actor=ACTOR
                )
                for code, ref in items
            ]
        )

    def in_bulk() -> list[Outcome]:
        result = vouchers_redeem_bulk(platform=on, items=items, actor=ACTOR)
        done = {index: str(order_id) for index, order_id in result.done.items()}
        return bulk_outcomes(len(items), done, result.refused)

    return compare(moment, one_by_one, in_bulk)


def complete_both_ways(
    moment: datetime.datetime, on: Partner, items: list[Completion]
) -> list[Outcome]:
    def one_by_one() -> list[Outcome]:
        return per_item(
            [
                lambda item=item: order_complete(
                    platform=on,
                    order_id=item[0],
                    completed_at=item[1],
                    final_score=item[2],
                    certificate_number=item[3],
                    certificate_url=item[4],
                    actor=ACTOR,
                )
                for item in items
            ]
        )

    def in_bulk() -> list[Outcome]:
        result = orders_complete_bulk(platform=on, items=items, actor=ACTOR)
        done = {index: str(order_id) for index, order_id in result.done.items()}
        return bulk_outcomes(len(items), done, result.refused)

    return compare(moment, one_by_one, in_bulk)
