"""The bulk entry points (orders/bulk.py) against the per-item services (orders/services.py).

The comparison tests run one chunk of inputs twice from the same database state and the same
clock: once item by item through the per-item services (then rolled back), once through the bulk
entry point. Both runs must answer every item alike (the same code and details, or success) and
leave the same database: orders, ledger transactions, legs and balances, accounts, events, audit
events, participants' first purchases and trainings' buyers (which neither path touches). Ids that a
sequence hands out (orders, ledger transactions, accounts, events) are compared through what they
stand for, since a rolled-back run still advances PostgreSQL's sequences."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.catalog.services import training_upsert
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.ledger.models import Account, Transaction
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders import bulk, chunks, purchase
from prakerja.orders.bulk import (
    CHUNK_MAX,
    orders_complete_bulk,
    orders_purchase_bulk,
    vouchers_redeem_bulk,
)
from prakerja.orders.daily import vouchers_expire_due
from prakerja.orders.models import Order
from prakerja.orders.rules import OnSale
from prakerja.orders.services import order_complete, order_purchase, voucher_redeem
from prakerja.orders.vouchers import voucher_code_format, voucher_code_new
from prakerja.partners.errors import PartnerKindNotAllowed
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.partners.services import partner_status_set
from prakerja.waves.models import Participant, ProgramScheme
from tests.catalog.kit import make_partner, training_body
from tests.ledger.test_concurrency import run_at_once
from tests.orders.compare import (
    clock,
    complete_both_ways,
    order_names,
    purchase_both_ways,
    redeem_both_ways,
)
from tests.orders.kit import (
    BALANCE,
    PMO,
    active_training,
    balance,
    credited,
    payable,
    pending,
    platform,
    scheme_valid_for_a_year,
    snapshot,
)

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("simulation")
NOW = datetime.datetime(2026, 11, 21, 3, 15, 7, 250_000, tzinfo=datetime.UTC)  # 10:15 WIB


@pytest.fixture(autouse=True)
def scheme() -> ProgramScheme:
    # Transactional tests (at the end) empty the tables between tests, the data migration's
    # schemes included.
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    return scheme_valid_for_a_year()


@pytest.fixture
def toko() -> Partner:
    return platform("toko")[0]


@pytest.fixture
def kelas() -> Partner:
    return platform("kelas")[0]


# --- the comparison (tests/orders/compare.py) --------------------------------------------------------


# --- purchases ------------------------------------------------------------------------------------


def old_scheme() -> ProgramScheme:
    """A second scheme whose balances lapsed yesterday."""
    scheme = ProgramScheme.objects.get(code="2020")
    scheme.pk = None
    scheme.code = "lama"
    scheme.is_active = False
    scheme.balance_expiry_date = NOW.astimezone(WIB).date() - datetime.timedelta(days=1)
    scheme.save()
    return scheme


def test_a_purchase_chunk_gives_what_the_per_item_service_gives_for_every_rule(
    toko: Partner, kelas: Partner
):
    a, b, c, d, revoked, late, lapsed, late_but_bought = credited(8)
    t1 = active_training(toko, "t1", price=400_000)
    t2 = active_training(toko, "t2", price=400_000)
    t3 = active_training(toko, "t3", price=300_000)
    k1 = active_training(kelas, "k1", price=200_000)
    pending_review, _ = training_upsert(
        platform=toko,
        external_id="baru",
        data=training_body(title="Pelatihan baru menunggu kurasi", price_idr=100_000),
        actor=Actor.partner(toko.pk, toko.code),
    )
    on_suspended = active_training(platform("tutup")[0], "s1", price=100_000)
    partner_status_set(partner=on_suspended.platform, status="suspended", reason="Audit", actor=PMO)
    with clock(NOW - datetime.timedelta(days=2)):
        order_purchase(participant=c, training=t3, actor=ACTOR)
        order_purchase(participant=late_but_bought, training=t3, actor=ACTOR)
    Participant.objects.filter(pk=revoked.pk).update(status="revoked")
    Participant.objects.filter(pk__in=[late.pk, late_but_bought.pk]).update(
        purchase_deadline=NOW - datetime.timedelta(minutes=1)
    )
    Participant.objects.filter(pk=lapsed.pk).update(scheme=old_scheme())
    people = {p.pk: p for p in Participant.objects.select_related("scheme")}
    pairs = [
        (a.pk, t1.pk),  # bought: 600.000 left
        (a.pk, t2.pk),  # bought: 200.000 left
        (a.pk, t3.pk),  # 300.000 > 200.000
        (a.pk, k1.pk),  # bought on the other platform: 0 left
        (b.pk, t1.pk),  # bought
        (b.pk, t1.pk),  # the same pair again in the chunk
        (c.pk, t3.pk),  # open since two days
        (revoked.pk, t1.pk),
        (late.pk, t1.pk),  # no first purchase by the deadline
        (late_but_bought.pk, t1.pk),  # later purchases do not depend on the deadline
        (lapsed.pk, t1.pk),
        (b.pk, pending_review.pk),
        (b.pk, on_suspended.pk),
        (b.pk, 10**9),  # no such training
        (d.pk, t1.pk),  # a first purchase
        (c.pk, t2.pk),  # bought
    ]

    got = purchase_both_ways(NOW, people, pairs)

    assert [code for code, _ in got] == [
        "OK",
        "OK",
        "INSUFFICIENT_BALANCE",
        "OK",
        "OK",
        "ORDER_ALREADY_OPEN",
        "ORDER_ALREADY_OPEN",
        "PARTICIPANT_NOT_ACTIVE",
        "PURCHASE_WINDOW_OVER",
        "OK",
        "BALANCE_EXPIRED",
        "TRAINING_NOT_AVAILABLE",
        "TRAINING_NOT_AVAILABLE",
        "TRAINING_NOT_AVAILABLE",
        "OK",
        "OK",
    ]
    assert got[2][1]["balance_idr"] == 200_000 and got[2][1]["change_idr"] == -300_000
    assert got[13][1] == {"training_id": 10**9}
    assert (balance(a), balance(b), balance(c), balance(d)) == (0, 600_000, 300_000, 600_000)
    assert pending(toko) == 6 * 400_000 + 2 * 300_000
    assert pending(kelas) == 200_000
    assert Order.objects.filter(training=t1).count() == 4
    assert OutboundEvent.objects.filter(event_type="voucher.issued").count() == 2 + 7
    assert AuditEvent.objects.filter(event_type="order.purchased").count() == 2 + 7


def test_a_chunk_of_purchases_run_again_changes_nothing(toko: Partner):
    people = credited(3)
    trainings = [active_training(toko, f"t{i}", price=250_000) for i in range(4)]
    pairs = [(p.pk, t.pk) for p in people for t in trainings]
    first = orders_purchase_bulk(purchases=pairs, actor=ACTOR)
    assert (len(first.orders), first.refused) == (12, [])
    assert [balance(p) for p in people] == [0, 0, 0]
    before = snapshot()

    again = orders_purchase_bulk(purchases=pairs, actor=ACTOR)

    assert again.orders == {}
    assert [(r.index, r.code) for r in again.refused] == [
        (i, "ORDER_ALREADY_OPEN") for i in range(12)
    ]
    assert snapshot() == before
    assert ledger_integrity_report().ok


def test_a_chunk_refused_whole_changes_nothing(toko: Partner):
    (person,) = credited(1)
    expensive = active_training(toko, "mahal", price=BALANCE)
    order_purchase(participant=person, training=active_training(toko, "murah"), actor=ACTOR)
    before = snapshot()

    result = orders_purchase_bulk(
        purchases=[(person.pk, expensive.pk), (10**9, expensive.pk)], actor=ACTOR
    )

    assert result.orders == {}
    assert [(r.index, r.code, r.error.details) for r in result.refused] == [
        (
            0,
            "INSUFFICIENT_BALANCE",
            {
                "account_id": Account.objects.get(kind="training_balance", owner_id=person.pk).pk,
                "balance_idr": BALANCE - 300_000,
                "change_idr": -BALANCE,
                "refused_accounts": 1,
            },
        ),
        (1, "NOT_FOUND", {"participant_id": 10**9}),
    ]
    assert snapshot() == before


def test_a_participant_without_a_balance_account_is_refused_as_insufficient(toko: Partner):
    (person,) = credited(1)
    training = active_training(toko, "barista")
    # Test setup: the participant's account handed to an owner id nobody has.
    Account.objects.filter(kind="training_balance", owner_id=person.pk).update(owner_id=10**9)
    before = snapshot()

    result = orders_purchase_bulk(purchases=[(person.pk, training.pk)], actor=ACTOR)

    assert [(r.code, r.error.details) for r in result.refused] == [
        (
            "INSUFFICIENT_BALANCE",
            {"account_id": None, "balance_idr": 0, "change_idr": -300_000, "refused_accounts": 1},
        )
    ]
    assert snapshot() == before


def test_a_training_suspended_while_the_chunk_runs_is_not_sold(toko: Partner, monkeypatch):
    one, two = credited(2)
    stays, goes = active_training(toko, "tetap"), active_training(toko, "pergi")
    Training.objects.filter(pk=goes.pk).update(status="suspended")
    real_read, real_hold = purchase._trainings_read, purchase._trainings_hold
    calls: list[set[int]] = []

    def read_before_the_suspension(ids: list[int]) -> dict[int, OnSale]:
        rows = real_read(ids)
        if not calls:  # the first pass read the training before its suspension committed
            rows[goes.pk] = rows[goes.pk]._replace(status="active")
        return rows

    def hold(training_ids: set[int]) -> None:
        calls.append(set(training_ids))
        real_hold(training_ids)

    monkeypatch.setattr(purchase, "_trainings_read", read_before_the_suspension)
    monkeypatch.setattr(purchase, "_trainings_hold", hold)

    result = orders_purchase_bulk(
        purchases=[(one.pk, stays.pk), (one.pk, goes.pk), (two.pk, goes.pk)], actor=ACTOR
    )

    assert calls == [{stays.pk, goes.pk}, {stays.pk}]
    assert list(result.orders) == [0]
    assert [(r.index, r.code) for r in result.refused] == [
        (1, "TRAINING_NOT_AVAILABLE"),
        (2, "TRAINING_NOT_AVAILABLE"),
    ]
    assert Order.objects.count() == 1
    assert (balance(one), balance(two)) == (BALANCE - 300_000, BALANCE)
    assert Training.objects.get(pk=goes.pk).buyers == 0
    assert ledger_integrity_report().ok


def test_colliding_voucher_codes_are_drawn_again(toko: Partner, monkeypatch):
    one, two = credited(2)
    training = active_training(toko, "barista")
    taken = orders_purchase_bulk(purchases=[(one.pk, training.pk)], actor=ACTOR).orders[0]
    fresh = iter([taken.voucher_code, "0000000000011"])
    monkeypatch.setattr(purchase, "voucher_code_new", lambda: next(fresh))

    result = orders_purchase_bulk(purchases=[(two.pk, training.pk)], actor=ACTOR)

    assert result.orders[0].voucher_code == "0000000000011"
    assert Order.objects.count() == 2
    assert ledger_integrity_report().ok


def test_a_chunk_takes_the_same_statements_however_many_items(toko: Partner):
    people = credited(22)
    trainings = [active_training(toko, f"t{i}", price=100_000) for i in range(5)]

    def statements(chunk: list[Participant]) -> int:
        with CaptureQueriesContext(connection) as queries:
            result = orders_purchase_bulk(
                purchases=[(p.pk, t.pk) for p in chunk for t in trainings], actor=ACTOR
            )
        assert len(result.orders) == 5 * len(chunk)
        return len(queries)

    # 10 and 100 items (on SQLite bulk_create splits inserts of more than 999 values)
    assert statements(people[:2]) == statements(people[2:22])


def test_a_chunk_is_at_most_the_limit():
    with pytest.raises(ValidationFailed) as refused:
        orders_purchase_bulk(purchases=[(1, 1)] * (CHUNK_MAX + 1), actor=ACTOR)
    assert refused.value.details == {"items": f"at most {CHUNK_MAX} per chunk, not 1001"}
    assert orders_purchase_bulk(purchases=[], actor=ACTOR) == bulk.BulkPurchase()


# --- redemptions ----------------------------------------------------------------------------------


def issued_orders(on: dict[Partner, int], moment: datetime.datetime) -> dict[Partner, list[Order]]:
    """`on[platform]` orders of distinct participants for a training of each platform, bought at
    `moment` through the per-item service."""
    people = iter(credited(sum(on.values())))
    made: dict[Partner, list[Order]] = {}
    with clock(moment):
        for partner, count in on.items():
            training = active_training(partner, f"kelas-{partner.code}", price=350_000, hours=10)
            made[partner] = [
                order_purchase(participant=next(people), training=training, actor=ACTOR)
                for _ in range(count)
            ]
    return made


def test_a_redemption_chunk_gives_what_the_per_item_service_gives_for_every_rule(
    toko: Partner, kelas: Partner
):
    bought = NOW - datetime.timedelta(days=3)
    orders = issued_orders({toko: 11, kelas: 1}, bought)
    o = orders[toko]
    with clock(bought + datetime.timedelta(hours=1)):
        voucher_redeem(
            platform=toko, voucher_code=o[3].voucher_code, platform_user_ref="u3", actor=ACTOR
        )
        voucher_redeem(
            platform=toko, voucher_code=o[4].voucher_code, platform_user_ref="u4", actor=ACTOR
        )
        order_complete(
            platform=toko,
            order_id=o[4].pk,
            completed_at=bought + datetime.timedelta(hours=1),
            final_score=80,
            certificate_number="C-4",
            certificate_url="https://toko.example/c/4",
            actor=ACTOR,
        )
    Order.objects.filter(pk=o[5].pk).update(expires_at=bought + datetime.timedelta(days=1))
    vouchers_expire_due(now=bought + datetime.timedelta(days=2))  # o[5] expired and refunded
    Order.objects.filter(pk=o[6].pk).update(expires_at=NOW - datetime.timedelta(seconds=1))
    Order.objects.filter(pk=o[7].pk).update(status="cancelled")
    unknown = voucher_code_new()
    items = [
        (o[0].voucher_code, "u0"),
        (voucher_code_format(o[1].voucher_code).lower(), "  u1  "),  # read leniently, ref trimmed
        (o[1].voucher_code, "u1-again"),  # redeemed just before in the chunk
        (orders[kelas][0].voucher_code, "k0"),
        (o[3].voucher_code, "u3"),
        (o[4].voucher_code, "u4"),
        (o[5].voucher_code, "u5"),
        (o[6].voucher_code, "u6"),
        (o[7].voucher_code, "u7"),
        (unknown, "u?"),
        ("ABCD-1234", "u?"),
        (o[8].voucher_code, "   "),
        (o[9].voucher_code, "x" * 101),
        (o[10].voucher_code, "u10"),
    ]

    got = redeem_both_ways(NOW, toko, items)

    assert got == [
        ("OK", order_names()[str(o[0].pk)]),
        ("OK", order_names()[str(o[1].pk)]),
        ("VOUCHER_ALREADY_REDEEMED", {"order_id": order_names()[str(o[1].pk)]}),
        ("VOUCHER_OTHER_PLATFORM", {}),
        ("VOUCHER_ALREADY_REDEEMED", {"order_id": order_names()[str(o[3].pk)]}),
        ("VOUCHER_ALREADY_REDEEMED", {"order_id": order_names()[str(o[4].pk)]}),
        ("VOUCHER_EXPIRED", {"expires_at": "2026-11-19T10:15:07+07:00"}),
        ("VOUCHER_EXPIRED", {"expires_at": "2026-11-21T10:15:06+07:00"}),
        ("VOUCHER_CANCELLED", {"status": "cancelled"}),
        ("VOUCHER_NOT_FOUND", {}),
        ("VOUCHER_NOT_FOUND", {"voucher_code": "MALFORMED"}),
        ("VALIDATION_FAILED", {"platform_user_ref": "REQUIRED"}),
        ("VALIDATION_FAILED", {"platform_user_ref": "TOO_LONG"}),
        ("OK", order_names()[str(o[10].pk)]),
    ]
    assert Order.objects.get(pk=o[1].pk).platform_user_ref == "u1"
    # three redeemed now, two before; o[4] completed; o[5] refunded by the expiry job
    assert payable(toko) == 5 * 350_000
    assert pending(toko) == (11 - 5 - 1) * 350_000
    assert Transaction.objects.filter(kind="order_redeem").count() == 5


def test_a_chunk_of_redemptions_run_again_changes_nothing(toko: Partner):
    orders = issued_orders({toko: 4}, NOW - datetime.timedelta(hours=2))[toko]
    items = [(order.voucher_code, f"user-{order.pk}") for order in orders]
    first = vouchers_redeem_bulk(platform=toko, items=items, actor=ACTOR)
    assert first.done == {i: order.pk for i, order in enumerate(orders)}
    before = snapshot()

    again = vouchers_redeem_bulk(platform=toko, items=items, actor=ACTOR)

    assert again.done == {}
    assert [(r.index, r.code, r.error.details) for r in again.refused] == [
        (i, "VOUCHER_ALREADY_REDEEMED", {"order_id": order.pk}) for i, order in enumerate(orders)
    ]
    assert snapshot() == before
    assert (pending(toko), payable(toko)) == (0, 4 * 350_000)
    assert ledger_integrity_report().ok


def test_only_a_platform_redeems_or_completes_in_bulk(toko: Partner):
    bank, _ = make_partner("bank-x", kind="institution")
    before = snapshot()
    with pytest.raises(PartnerKindNotAllowed):
        vouchers_redeem_bulk(platform=bank, items=[("x", "y")], actor=ACTOR)
    with pytest.raises(PartnerKindNotAllowed):
        orders_complete_bulk(platform=bank, items=[], actor=ACTOR)
    assert snapshot() == before


# --- completions ----------------------------------------------------------------------------------


def test_a_completion_chunk_gives_what_the_per_item_service_gives_for_every_rule(
    toko: Partner, kelas: Partner
):
    bought = NOW - datetime.timedelta(days=3)
    redeemed = bought + datetime.timedelta(hours=1)
    orders = issued_orders({toko: 11, kelas: 1}, bought)
    o = orders[toko]
    with clock(redeemed):
        for order in [*o[:7], o[9], o[10], orders[kelas][0]]:
            voucher_redeem(
                platform=order.platform,
                voucher_code=order.voucher_code,
                platform_user_ref=f"u{order.pk}",
                actor=ACTOR,
            )
    with clock(NOW - datetime.timedelta(hours=1)):
        order_complete(
            platform=toko,
            order_id=o[2].pk,
            completed_at=redeemed + datetime.timedelta(hours=20),
            final_score=70,
            certificate_number="C-2",
            certificate_url="https://toko.example/c/2",
            actor=ACTOR,
        )
    wib = datetime.timedelta(hours=7)
    items: list[bulk.Completion] = [
        # 20 hours after redemption, the training takes 10: not flagged; given in WIB
        (
            o[0].pk,
            (redeemed + datetime.timedelta(hours=20)).astimezone(WIB),
            88,
            " C-0 ",
            "https://toko.example/c/0",
        ),
        # 2 hours after redemption: accepted and flagged
        (o[1].pk, redeemed + datetime.timedelta(hours=2), 100, "C-1", "http://toko.example/c/1"),
        (o[1].pk, redeemed + datetime.timedelta(hours=3), 90, "C-1b", "https://toko.example/c/1b"),
        (o[2].pk, NOW, 70, "C-2", "https://toko.example/c/2"),
        (o[7].pk, NOW, 70, "C-7", "https://toko.example/c/7"),  # issued, never redeemed
        (orders[kelas][0].pk, NOW, 70, "K", "https://kelas.example/c"),  # another platform's
        (10**9, NOW, 70, "X", "https://toko.example/x"),
        (o[3].pk, NOW + datetime.timedelta(minutes=6), 70, "C-3", "https://toko.example/c/3"),
        (o[4].pk, redeemed - datetime.timedelta(seconds=1), 101, "", "ftp://toko.example/c/4"),
        (o[5].pk, (NOW + wib).replace(tzinfo=None), True, "C-5", "x" * 501),
        (o[6].pk, NOW + datetime.timedelta(minutes=4), 0, "C-6", "https://toko.example/c/6"),
        # In whole seconds, in the second of the redemption (which has a fraction): accepted
        (o[9].pk, redeemed.replace(microsecond=0), 80, "C-9", "https://toko.example/c/9"),
        (
            o[10].pk,
            redeemed.replace(microsecond=0) - datetime.timedelta(seconds=1),
            80,
            "C-10",
            "https://toko.example/c/10",
        ),
    ]

    got = complete_both_ways(NOW, toko, items)

    names = order_names()
    assert got == [
        ("OK", names[str(o[0].pk)]),
        ("OK", names[str(o[1].pk)]),
        ("ORDER_ALREADY_COMPLETED", {"order_id": names[str(o[1].pk)]}),
        ("ORDER_ALREADY_COMPLETED", {"order_id": names[str(o[2].pk)]}),
        ("ORDER_NOT_REDEEMED", {"order_id": names[str(o[7].pk)], "status": "issued"}),
        ("ORDER_NOT_FOUND", {"order_id": names[str(orders[kelas][0].pk)]}),
        ("ORDER_NOT_FOUND", {"order_id": 10**9}),
        # More than five minutes ahead, to the second: 409 (no schema can say it), not 422
        (
            "TIME_OUT_OF_RANGE",
            {"completed_at": "IN_THE_FUTURE", "server_time": "2026-11-21T10:15:07+07:00"},
        ),
        # The fields first; the time (also before the redemption here) only once they are valid
        (
            "VALIDATION_FAILED",
            {
                "final_score": "OUT_OF_RANGE",
                "certificate_number": "REQUIRED",
                "certificate_url": "URL_INVALID",
            },
        ),
        (
            "VALIDATION_FAILED",
            {
                "completed_at": "OFFSET_REQUIRED",
                "final_score": "INTEGER_REQUIRED",
                "certificate_url": "TOO_LONG",
            },
        ),
        ("OK", names[str(o[6].pk)]),  # within the five minutes of clock skew
        ("OK", names[str(o[9].pk)]),
        (
            "TIME_OUT_OF_RANGE",
            {"completed_at": "BEFORE_REDEMPTION", "redeemed_at": "2026-11-18T11:15:07+07:00"},
        ),
    ]
    flags = dict(Order.objects.filter(status="completed").values_list("pk", "flag_fast_completion"))
    assert flags == {
        o[0].pk: False,
        o[1].pk: True,
        o[2].pk: False,
        o[6].pk: False,
        o[9].pk: True,
    }
    zero = Order.objects.get(pk=o[0].pk)
    assert (zero.certificate_number, zero.percent, zero.final_score) == ("C-0", 100, 88)
    assert zero.completed_at == redeemed + datetime.timedelta(hours=20)


def test_a_chunk_of_completions_run_again_changes_nothing(toko: Partner):
    bought = NOW - datetime.timedelta(days=1)
    orders = issued_orders({toko: 3}, bought)[toko]
    with clock(bought):
        vouchers_redeem_bulk(
            platform=toko, items=[(order.voucher_code, "u") for order in orders], actor=ACTOR
        )
    items: list[bulk.Completion] = [
        (order.pk, NOW, 75, f"C-{order.pk}", f"https://toko.example/c/{order.pk}")
        for order in orders
    ]
    with clock(NOW):
        first = orders_complete_bulk(platform=toko, items=items, actor=ACTOR)
        assert first.done == {i: order.pk for i, order in enumerate(orders)}
        before = snapshot()

        again = orders_complete_bulk(platform=toko, items=items, actor=ACTOR)

    assert again.done == {}
    assert [(r.index, r.code) for r in again.refused] == [
        (i, "ORDER_ALREADY_COMPLETED") for i in range(3)
    ]
    assert snapshot() == before
    assert AuditEvent.objects.filter(event_type="order.completed").count() == 3
    assert ledger_integrity_report().ok


# --- the whole path in bulk, several chunks -------------------------------------------------------


def test_purchase_redeem_complete_in_chunks_moves_every_rupiah_once(
    toko: Partner, kelas: Partner, monkeypatch
):
    monkeypatch.setattr(chunks, "CHUNK_MAX", 5)
    people = credited(4)
    trainings = [
        active_training(toko, "a", price=200_000),
        active_training(kelas, "b", price=300_000),
    ]
    pairs = [(p.pk, t.pk) for p in people for t in trainings]
    bought: dict[int, list[bulk.Purchased]] = {toko.pk: [], kelas.pk: []}
    for start in range(0, len(pairs), 5):
        result = orders_purchase_bulk(purchases=pairs[start : start + 5], actor=ACTOR)
        assert result.refused == []
        for order in result.orders.values():
            bought[order.platform_id].append(order)
    for partner in (toko, kelas):
        items = [(order.voucher_code, f"u{order.participant_id}") for order in bought[partner.pk]]
        assert len(vouchers_redeem_bulk(platform=partner, items=items, actor=ACTOR).done) == 4
        with clock(timezone.now() + datetime.timedelta(days=1)):
            completions: list[bulk.Completion] = [
                (order.order_id, timezone.now(), 90, "C", "https://x.example/c")
                for order in bought[partner.pk]
            ]
            assert (
                len(orders_complete_bulk(platform=partner, items=completions, actor=ACTOR).done)
                == 4
            )

    assert [balance(p) for p in people] == [BALANCE - 500_000] * 4
    assert (pending(toko), payable(toko), pending(kelas), payable(kelas)) == (
        0,
        800_000,
        0,
        1_200_000,
    )
    assert Order.objects.filter(status="completed").count() == 8
    assert Transaction.objects.filter(kind__in=["order_purchase", "order_redeem"]).count() == 16
    assert ledger_integrity_report().ok


# --- at once, on PostgreSQL -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_two_redemption_chunks_at_once_redeem_each_voucher_once():
    toko, _ = platform("toko")
    orders = issued_orders({toko: 6}, timezone.now())[toko]
    chunks = [orders[:4], orders[2:]]

    def redeem(index: int) -> str:
        result = vouchers_redeem_bulk(
            platform=toko,
            items=[(order.voucher_code, f"u{order.pk}") for order in chunks[index]],
            actor=ACTOR,
        )
        return f"{len(result.done)} redeemed, " + ",".join(r.code for r in result.refused)

    outcomes = run_at_once(2, redeem)

    # whichever went second found the two vouchers they share redeemed
    assert sorted(outcomes) == [
        "2 redeemed, VOUCHER_ALREADY_REDEEMED,VOUCHER_ALREADY_REDEEMED",
        "4 redeemed, ",
    ]
    assert Order.objects.filter(status="redeemed").count() == 6
    assert Transaction.objects.filter(kind="order_redeem").count() == 6
    assert (pending(toko), payable(toko)) == (0, 6 * 350_000)
    assert ledger_integrity_report().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_purchase_chunks_and_a_single_purchase_at_once_never_overdraw_a_balance():
    toko, _ = platform("toko")
    (person,) = credited(1)
    trainings = [active_training(toko, f"t{i}", price=300_000) for i in range(7)]

    def buy(index: int) -> str:
        if index == 2:
            order_purchase(
                participant=Participant.objects.get(pk=person.pk),
                training=trainings[6],
                actor=ACTOR,
            )
            return "1 bought"
        chunk = trainings[3 * index : 3 * index + 3]
        result = orders_purchase_bulk(purchases=[(person.pk, t.pk) for t in chunk], actor=ACTOR)
        return f"{len(result.orders)} bought"

    outcomes = run_at_once(3, buy)

    assert Order.objects.count() == 3
    assert balance(person) == BALANCE - 3 * 300_000
    assert Transaction.objects.filter(kind="order_purchase").count() == 3
    # three threads; one way or another exactly three purchases went through (a refused single
    # purchase raises INSUFFICIENT_BALANCE, a chunk refuses its items one by one)
    bought = sum(
        int(outcome.split()[0]) * count
        for outcome, count in outcomes.items()
        if outcome.endswith("bought")
    )
    assert (bought, sum(outcomes.values())) == (3, 3)
    assert ledger_integrity_report().ok
