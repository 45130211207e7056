"""The day's steps of the money path through the services: the marketplace (purchases,
redemptions, completions, reviews), payment accounts, surveys and the day's disbursement run.
days.py holds the world and the other steps."""

import datetime
from collections import defaultdict
from typing import Any

from django.db import transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.common.timeutil import WIB
from prakerja.incentives.institutions import INSTITUTIONS
from prakerja.incentives.models import (
    CURRENT_ACCOUNT,
    DisbursementRun,
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
    PaymentAccount,
    RunStatus,
    SurveyResponse,
    TransferBatch,
)
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.results import runs_finish_if_done
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.incentives.sending import batches_results_query
from prakerja.integrations.bank import bank_client
from prakerja.orders.bulk import (
    orders_complete_bulk,
    orders_purchase_bulk,
    vouchers_redeem_bulk,
)
from prakerja.orders.models import Order, OrderStatus
from prakerja.partners.models import Partner
from prakerja.simulation.days import SIM, World, chunks, wait_for
from prakerja.simulation.fates import Fate
from prakerja.simulation.texts import review_stars, review_text, ring_text
from prakerja.waves.models import Participant

# --- the marketplace ------------------------------------------------------------------------------


def marketplace(world: World, day: datetime.date) -> None:
    fates = list(world.book.fates.values())
    buying = sorted((f.participant_id, f.training_id) for f in fates if f.buy_day == day)
    for chunk in chunks(buying):
        orders_purchase_bulk(purchases=list(chunk), actor=SIM)
    redeeming = {f.participant_id: f for f in fates if f.redeems and f.redeem_day == day}
    if redeeming:
        orders = Order.objects.filter(
            participant_id__in=list(redeeming), status=OrderStatus.ISSUED
        ).values_list("participant_id", "training__platform_id", "voucher_code", "training_id")
        by_platform: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for participant_id, platform_id, code, training_id in orders:
            if redeeming[participant_id].training_id == training_id:
                by_platform[platform_id].append((code, f"u{participant_id}"))
        for platform_id, items in sorted(by_platform.items()):
            platform = world.platforms[platform_id]
            for chunk in chunks(items):
                vouchers_redeem_bulk(
                    platform=platform,
                    items=list(chunk),
                    actor=Actor.partner(platform.pk, platform.code),
                )
    completing = {f.participant_id: f for f in fates if f.completes and f.complete_day == day}
    if completing:
        now = clock.now()
        redeemed = Order.objects.filter(
            participant_id__in=list(completing), status=OrderStatus.REDEEMED
        ).values_list("pk", "participant_id", "training__platform_id", "training_id")
        by_platform_c: dict[int, list[Any]] = defaultdict(list)
        for pk, participant_id, platform_id, training_id in redeemed:
            if completing[participant_id].training_id != training_id:  # another order
                continue
            by_platform_c[platform_id].append(
                (
                    pk,
                    now,
                    70 + participant_id % 31,
                    f"SIM-{pk:08d}",
                    f"https://sertifikat.example/{pk}",
                )
            )
        for platform_id, items in sorted(by_platform_c.items()):
            platform = world.platforms[platform_id]
            for chunk in chunks(items):
                orders_complete_bulk(
                    platform=platform,
                    items=list(chunk),
                    actor=Actor.partner(platform.pk, platform.code),
                )
    reviewing = [f for f in completing.values() if f.reviews]
    if reviewing:
        from prakerja.orders.review_bulk import reviews_submit_bulk

        orders_r = dict(
            Order.objects.filter(
                participant_id__in=[f.participant_id for f in reviewing],
                status=OrderStatus.COMPLETED,
            ).values_list("participant_id", "pk")
        )
        reviews = [
            (
                f.participant_id,
                orders_r[f.participant_id],
                review_stars(f.participant_id),
                ring_text(f.ring) if f.bad == "review_ring" else review_text(f.participant_id),
            )
            for f in sorted(reviewing, key=lambda f: f.participant_id)
            if f.participant_id in orders_r
        ]
        for chunk in chunks(reviews):
            reviews_submit_bulk(reviews=list(chunk), actor=SIM)


# --- payment accounts -----------------------------------------------------------------------------


def accounts(world: World, day: datetime.date) -> None:
    from prakerja.incentives.accounts_bulk import (
        payment_accounts_check_bulk,
        payment_accounts_link_bulk,
    )

    fates = world.book.fates.values()
    linking = [f for f in fates if f.account and f.complete_day == day]
    fixing = [f for f in fates if f.account == "fix" and f.relink_day == day]
    if not linking and not fixing:
        return
    people = _people([f.participant_id for f in [*linking, *fixing]])
    books: dict[str, list[dict[str, Any]]] = defaultdict(list)
    links = []
    for f in linking:
        number, entry = _book_entry(world, f, people, fixed=False)
        books[f.institution].append(entry)
        links.append((f.participant_id, f.institution, number))
    for f in fixing:
        number, entry = _book_entry(world, f, people, fixed=True)
        books[f.institution].append(entry)
        links.append((f.participant_id, f.institution, number))
    for code, entries in books.items():
        for chunk in chunks(entries, 5000):
            world.http.post(
                f"{world.bank_urls[code]}/_accounts", json={"accounts": list(chunk)}, timeout=60
            ).raise_for_status()
    # A link already made (an interrupted day) is not made again: it would replace the account.
    current = set(
        PaymentAccount.objects.filter(
            participant_id__in=[p for p, _, _ in links], status__in=CURRENT_ACCOUNT
        ).values_list("participant_id", "account_number", "created_at__date")
    )
    fresh = [
        link
        for link in links
        if not any(c[0] == link[0] and c[1] == link[2] and c[2] == day for c in current)
    ]
    created: list[int] = []
    for chunk in chunks(sorted(fresh)):
        for result in payment_accounts_link_bulk(links=list(chunk), actor=SIM):
            if isinstance(result, int):
                created.append(result)
    checking = list(
        PaymentAccount.objects.filter(
            participant_id__in=[p for p, _, _ in links], status="checking"
        ).values_list("pk", flat=True)
    )
    for chunk in chunks(sorted(checking)):
        payment_accounts_check_bulk(account_ids=list(chunk))


def _people(participant_ids: list[int]) -> dict[int, tuple[str, str, str, str]]:
    """participant id -> (NIK, full name, phone, card number)."""
    rows = Participant.objects.filter(pk__in=participant_ids).values_list(
        "pk",
        "registrant__nik_encrypted",
        "registrant__full_name",
        "registrant__phone",
        "card_number",
    )
    return {pk: (decrypt(nik), name, phone or "", card) for pk, nik, name, phone, card in rows}


def _book_entry(
    world: World, f: Fate, people: dict[int, tuple[str, str, str, str]], *, fixed: bool
) -> tuple[str, dict[str, Any]]:
    nik, name, phone, card = people[f.participant_id]
    wallet = INSTITUTIONS[f.institution][1] == "e_wallet"
    number = phone if wallet else f"988{card[-12:]}"
    entry: dict[str, Any] = {
        "account_type": "e_wallet" if wallet else "virtual_account",
        "account_number": number,
        "nik": nik,
        "holder_name": name,
        "kyc_level": "upgraded",
        "status": "active",
    }
    state = "good" if fixed else f.account
    if state in ("fix", "NOT_UPGRADED"):
        entry["kyc_level"] = "basic"
    elif state == "ACCOUNT_INACTIVE":
        entry["status"] = "inactive"
    elif state == "NIK_MISMATCH":
        # The wallet of this phone number belongs to someone else.
        entry["nik"] = nik[:12] + f"{(int(nik[12:]) + 5000) % 10000:04d}"
    return number, entry


# --- surveys --------------------------------------------------------------------------------------


def surveys(world: World, day: datetime.date) -> None:
    """Everyone paid an incentive answers the survey it opened, the day after it was paid."""
    from prakerja.incentives.surveys_bulk import surveys_submit_bulk
    from prakerja.waves.selectors import scheme_active

    midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=WIB)
    paid = Entitlement.objects.filter(
        kind=EntitlementKind.INCENTIVE,
        status=EntitlementStatus.PAID,
        sequence__lte=scheme_active().survey_count,
        paid_at__gte=midnight - datetime.timedelta(days=1),
        paid_at__lt=midnight,
    ).values_list("participant_id", "sequence")
    candidates = sorted(paid)
    answered = set(
        SurveyResponse.objects.filter(
            participant_id__in=[pid for pid, _ in candidates]
        ).values_list("participant_id", "sequence")
    )
    pending = [pair for pair in candidates if pair not in answered]
    if not pending:
        return
    dealers = world.survey_dealers()
    answers = [
        (pid, seq, {question: dealer.deal() for question, dealer in dealers.items()})
        for pid, seq in pending
    ]
    for chunk in chunks(answers):
        surveys_submit_bulk(answers=list(chunk), actor=SIM)


# --- the day's disbursement -----------------------------------------------------------------------


def disbursement(world: World, day: datetime.date) -> None:
    run = DisbursementRun.objects.filter(run_date=day).exclude(status=RunStatus.CANCELLED).first()
    if run is None:
        if not Entitlement.objects.filter(status=EntitlementStatus.DUE, due_on__lte=day).exists():
            return  # no run, so nothing settles today and the statements would be empty
        run = run_prepare(run_date=day, actor=world.maker)
    if run.status == RunStatus.PREPARED:
        if run.instructions_count == 0:
            return
        run = run_approve(run=run, actor=world.checker)
    if run.status == RunStatus.APPROVED:
        wait_for(
            lambda: (
                not TransferBatch.objects.filter(run=run, status__in=("ready", "sending")).exists()
            ),
            f"sending of run {day}",
        )
        batches_results_query()
        with transaction.atomic():
            runs_finish_if_done({run.pk})
    for code, partner in _institutions().items():
        lines = bank_client(code).statement(day)
        statement_reconcile(
            institution=partner,
            statement_date=day,
            lines=[
                Line(x.instruction_id, x.amount_idr, x.status, x.partner_reference) for x in lines
            ],
            source="api",
            actor=Actor.partner(partner.pk, code),
        )


def _institutions() -> dict[str, Partner]:
    return {p.code: p for p in Partner.objects.filter(code__in=list(INSTITUTIONS))}
