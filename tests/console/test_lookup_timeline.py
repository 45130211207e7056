"""One participant's whole story on the look-up's timeline: registration layers, the wave, the
card and balances, an order with its voucher and review, entitlements, the payment account, a
transfer paid by a sandbox institution over HTTP, and a complaint — each section's exact items, in
time order; and the page costs the same number of queries whatever the number of orders."""

import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.console.timeline import participant_timeline
from prakerja.grievances.models import Complaint
from prakerja.grievances.services import complaint_file
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    PaymentAccount,
    TransferBatch,
    TransferInstruction,
)
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.incentives.sending import batches_results_query
from prakerja.orders.models import Order, Review
from prakerja.orders.services import order_purchase
from prakerja.registration.models import Registrant, VerificationStep
from prakerja.waves.models import Participant, WaveApplication
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    completed_and_reviewed,
    link,
    months_ahead,
    sandbox_bank,
    wallet,
)
from tests.operators import operator_login
from tests.orders.kit import active_training, platform, scheme_valid_for_a_year
from tests.waves.factory import verified

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2020, 4, 11, 10, 0, tzinfo=WIB)


def at(days: int = 0, hours: int = 0, minutes: int = 0) -> datetime.datetime:
    return T0 + datetime.timedelta(days=days, hours=hours, minutes=minutes)


def operator_client() -> Client:
    """A look-up operator signed in with the second factor."""
    user = User.objects.create_user("cs", "cs@prakerja.example", "rahasia-panjang-1")
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="console", codename="lookup_participant")
    )
    return operator_login(Client(), user)


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


def dated_story(person: Participant) -> None:
    """The scenario's rows at fixed, readable times (the services stamped them all 'now')."""
    registrant = person.registrant
    Registrant.objects.filter(pk=registrant.pk).update(created_at=at())
    for minute, layer in enumerate(["email", "nik", "phone", "eligibility", "face"], start=1):
        VerificationStep.objects.create(
            registrant=registrant, layer=layer, outcome="passed", at=at(minutes=minute)
        )
    WaveApplication.objects.filter(registrant=registrant).update(applied_at=at(hours=1))
    Participant.objects.filter(pk=person.pk).update(
        selected_at=at(days=1), credited_at=at(days=1, minutes=1), first_purchase_at=at(days=2)
    )
    Order.objects.filter(participant=person).update(
        issued_at=at(days=2), redeemed_at=at(days=2, hours=1), completed_at=at(days=3)
    )
    Review.objects.filter(participant=person).update(created_at=at(days=3, hours=1))
    Entitlement.objects.filter(participant=person).update(created_at=at(days=3, hours=2))
    Entitlement.objects.filter(participant=person, paid_at__isnull=False).update(
        paid_at=at(days=5, minutes=2)
    )
    PaymentAccount.objects.filter(participant=person).update(
        created_at=at(days=4), checked_at=at(days=4, minutes=1)
    )
    DisbursementRun.objects.update(prepared_at=at(days=5))
    TransferBatch.objects.update(sent_at=at(days=5, minutes=1))
    TransferInstruction.objects.update(result_at=at(days=5, minutes=2))
    Complaint.objects.filter(registrant=registrant).update(filed_at=at(days=6))
    for sequence in range(1, 5):
        Entitlement.objects.filter(participant=person, sequence=sequence).update(
            due_on=datetime.date(2020, 4 + sequence, 14)
        )
    DisbursementRun.objects.update(run_date=datetime.date(2020, 6, 15))


def timeline_url(person: Participant) -> str:
    return reverse("console_lookup:timeline", kwargs={"registrant_id": person.registrant_id})


def test_the_timeline_holds_each_sections_exact_items_in_time_order(
    monkeypatch, django_capture_on_commit_callbacks
):
    (person,) = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person)])
        link(person, bank)
        run = run_prepare(run_date=months_ahead(1), actor=MAKER)
        with django_capture_on_commit_callbacks(execute=True):
            run_approve(run=run, actor=CHECKER)
        assert batches_results_query() == 1
    complaint_file(
        registrant=person.registrant,
        category="payment",
        text="Insentif ketiga belum masuk ke dompet digital saya.",
        actor=Actor.participant(person.registrant_id),
    )
    dated_story(person)
    order = Order.objects.get(participant=person)
    first, second = TransferInstruction.objects.order_by("pk")
    complaint = Complaint.objects.get(registrant=person.registrant)

    with translation.override("en"):
        timeline = participant_timeline(person.registrant_id, language="en")
        assert timeline is not None
        shown = [
            (entry.at.astimezone(WIB), entry.section, entry.title, entry.detail)
            for entry in timeline.entries
        ]
    training, bought = order.training.title, f"Order {order.pk}: bought {order.training.title}"
    assert shown == [
        (at(), "registration", "Registered", ""),
        (at(minutes=1), "registration", "Email verification: passed", ""),
        (at(minutes=2), "registration", "NIK validation (population registry): passed", ""),
        (at(minutes=3), "registration", "Phone verification: passed", ""),
        (at(minutes=4), "registration", "Eligibility: passed", ""),
        (at(minutes=5), "registration", "Face check: passed", ""),
        (at(hours=1), "wave", "Applied to wave 1", ""),
        (at(days=1), "wave", "Wave 1: Selected", ""),
        (at(days=1, minutes=1), "participant", "Training balance credited", "Rp1.000.000"),
        (at(days=2), "order", bought, f"Voucher {order.voucher_code}, Rp300.000"),
        (at(days=2), "participant", "First training bought", ""),
        (
            at(days=2, hours=1),
            "order",
            f"Order {order.pk}: voucher redeemed on {order.platform.name}",
            "",
        ),
        (
            at(days=3),
            "order",
            f"Order {order.pk}: completed",
            f"Score 90, certificate C-{order.pk}",
        ),
        (at(days=3, hours=1), "review", f"Reviewed {training}: 5 of 5 stars", ""),
        (
            at(days=3, hours=2),
            "entitlement",
            "Granted: Monthly incentive 1",
            "Rp600.000, due 2020-05-14",
        ),
        (
            at(days=3, hours=2),
            "entitlement",
            "Granted: Monthly incentive 2",
            "Rp600.000, due 2020-06-14",
        ),
        (
            at(days=3, hours=2),
            "entitlement",
            "Granted: Monthly incentive 3",
            "Rp600.000, due 2020-07-14",
        ),
        (
            at(days=3, hours=2),
            "entitlement",
            "Granted: Monthly incentive 4",
            "Rp600.000, due 2020-08-14",
        ),
        (at(days=4), "account", "Linked E-wallet (keyed by phone number) at OVO", ""),
        (at(days=4, minutes=1), "account", "Checked by OVO: Verified", ""),
        (
            at(days=5),
            "transfer",
            f"Transfer {first.instruction_id} prepared: Monthly incentive 1, Rp600.000",
            "Run of 2020-06-15, OVO",
        ),
        (
            at(days=5),
            "transfer",
            f"Transfer {second.instruction_id} prepared: Monthly incentive 2, Rp600.000",
            "Run of 2020-06-15, OVO",
        ),
        (at(days=5, minutes=1), "transfer", f"Transfer {first.instruction_id} sent", ""),
        (at(days=5, minutes=1), "transfer", f"Transfer {second.instruction_id} sent", ""),
        (at(days=5, minutes=2), "entitlement", "Paid: Monthly incentive 1", "Rp600.000"),
        (at(days=5, minutes=2), "entitlement", "Paid: Monthly incentive 2", "Rp600.000"),
        (at(days=5, minutes=2), "transfer", f"Transfer {first.instruction_id}: Paid", ""),
        (at(days=5, minutes=2), "transfer", f"Transfer {second.instruction_id}: Paid", ""),
        (at(days=6), "complaint", f"Complaint {complaint.pk} filed: Payment", "Now: New"),
    ]
    # The summary blocks: the ledger's balances, and the sections' rows.
    assert (timeline.training_balance_idr, timeline.incentive_payable_idr) == (700_000, 1_200_000)
    assert [o.pk for o in timeline.orders] == [order.pk]
    assert [(e.sequence, e.status) for e in timeline.entitlements] == [
        (1, "paid"),
        (2, "paid"),
        (3, "due"),
        (4, "due"),
    ]
    assert [t.pk for t in timeline.transfers] == [first.pk, second.pk]
    assert [c.pk for c in timeline.complaints] == [complaint.pk]

    html = operator_client().get(timeline_url(person)).content.decode()
    assert '<td id="training-balance">Rp700.000</td>' in html
    assert '<td id="incentive-payable">Rp1.200.000</td>' in html
    assert f'id="order-{order.pk}"' in html and f'id="complaint-{complaint.pk}"' in html
    assert html.count('<tr class="entry entry-') == len(shown)
    # The e-wallet's number is the participant's phone: masked like it.
    assert person.registrant.phone not in html
    assert f"<code>**** {person.registrant.phone[-4:]}</code>" in html


def test_a_registrant_who_never_applied_has_a_short_timeline():
    (registrant,) = verified(1)
    with translation.override("en"):
        timeline = participant_timeline(registrant.pk, language="en")
    assert timeline is not None
    assert [(e.section, e.title) for e in timeline.entries] == [("registration", "Registered")]
    assert (timeline.participant, timeline.orders, timeline.complaints) == (None, [], [])
    assert participant_timeline(registrant.pk + 1000) is None


def test_a_failed_layer_shows_its_reason():
    (registrant,) = verified(1)
    VerificationStep.objects.create(
        registrant=registrant,
        layer="eligibility",
        outcome="failed",
        reason="UNDER_AGE",
        at=registrant.created_at + datetime.timedelta(minutes=1),
        details={"min_age": 18},
    )
    with translation.override("en"):
        timeline = participant_timeline(registrant.pk, language="en")
    assert timeline is not None
    assert [(e.title, e.detail) for e in timeline.entries][1] == (
        "Eligibility: failed",
        "UNDER_AGE: Participants must be at least 18 years old.",
    )


def queries_for_timeline(client: Client, person: Participant) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(timeline_url(person))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_page_costs_the_same_queries_for_one_order_or_many():
    few, many = completed_and_reviewed(2)
    seller, _ = platform("extra")
    for number in range(3):
        training = active_training(seller, f"extra-{number}", price=100_000)
        order_purchase(
            participant=many, training=training, actor=Actor.participant(many.registrant_id)
        )
    assert Order.objects.filter(participant=many).count() == 4
    client = operator_client()
    one = queries_for_timeline(client, few)
    four = queries_for_timeline(client, many)
    assert one == four
    assert four <= 20, four  # about 10 for the timeline, the rest sign-in and audit
