"""payment_accounts_link_bulk and payment_accounts_check_bulk against payment_account_link, with
sandbox institutions over real HTTP.

The comparisons run the same links both ways from the same database state and the same clock:
first one by one through `payment_account_link` (then rolled back), then in bulk. Both must answer
every item alike and leave the same accounts, entitlements, ledger, partner events and audit
events; accounts are named by what they are (participant, institution, number, and which of the
participant's accounts), since a rolled-back run still advances PostgreSQL's sequences."""

import datetime
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.errors import ApplicationError
from prakerja.common.refusals import Refused
from prakerja.incentives import accounts as accounts_module
from prakerja.incentives.accounts import payment_account_link, payment_accounts_phone_changed
from prakerja.incentives.accounts_bulk import (
    payment_accounts_check_bulk,
    payment_accounts_link_bulk,
)
from prakerja.incentives.entitlements import entitlements_grant
from prakerja.incentives.models import PaymentAccount
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.models import Order
from prakerja.partners.models import OutboundEvent
from prakerja.waves.models import Participant
from tests.incentives.kit import (
    SYSTEM,
    Bank,
    balance,
    completed_and_reviewed,
    institution,
    sandbox_bank,
    wallet,
)
from tests.incentives.test_entitlements_bulk import ledger_state, undoubted, verified_account
from tests.isolation import rolled_back
from tests.orders.kit import scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 21, 4, 0, 0, 500_000, tzinfo=datetime.UTC)  # 11:00 WIB
MONTHLY = 600_000


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


@contextmanager
def two_banks(monkeypatch: Any) -> Iterator[tuple[Bank, Bank]]:
    """OVO answers; GoPay's sandbox is down (every call 503): its inquiries are not answered."""
    with sandbox_bank("ovo", monkeypatch) as ovo, sandbox_bank("gopay", monkeypatch) as gopay:
        monkeypatch.setenv("PRAKERJA_BANK_URLS", f"ovo={ovo.url},gopay={gopay.url}")
        gopay.control("POST", "/_faults", {"outage": True})
        yield ovo, gopay


# --- the comparison -------------------------------------------------------------------------------


def account_names() -> dict[str, str]:
    names: dict[str, str] = {}
    rank: dict[int, int] = {}
    for pk, participant, partner, number in PaymentAccount.objects.order_by("pk").values_list(
        "pk", "participant_id", "institution_id", "account_number"
    ):
        rank[participant] = rank.get(participant, 0) + 1
        names[str(pk)] = f"account<{participant}/{partner}/{number}/{rank[participant]}>"
        names[f"account-{pk}"] = f"event-{names[str(pk)]}"
    return names


def state() -> dict[str, Any]:
    names = account_names()
    accounts = sorted(
        (names[str(pk)], status, reason, holder, kyc, checked is not None, ended is not None)
        for pk, status, reason, holder, kyc, checked, ended in PaymentAccount.objects.values_list(
            "pk", "status", "reason_code", "holder_name", "kyc_level", "checked_at", "ended_at"
        )
    )
    ledger = ledger_state()
    ledger["audit"] = sorted(
        (
            actor,
            event_type,
            subject_type,
            names[subject_id] if subject_type == "incentives.paymentaccount" else subject_id,
            json.dumps(details, sort_keys=True),
        )
        for actor, event_type, subject_type, subject_id, details in AuditEvent.objects.values_list(
            "actor_label", "event_type", "subject_type", "subject_id", "details"
        )
    )
    events = sorted(
        (
            partner,
            event_type,
            names[subject] if subject.startswith("account-") else subject,
            json.dumps(payload, sort_keys=True),
        )
        for partner, event_type, subject, payload in OutboundEvent.objects.values_list(
            "partner_id", "event_type", "subject", "payload"
        )
    )
    return {"accounts": accounts, "events": events, **ledger}


Link = tuple[int, str, str]
Outcome = tuple[str, Any]


def per_item(links: list[Link]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for participant_id, code, number in links:
        try:
            account = payment_account_link(
                participant=Participant.objects.select_related("registrant").get(pk=participant_id),
                institution_code=code,
                account_number=number,
                actor=SYSTEM,
            )
        except ApplicationError as error:
            outcomes.append((error.code, error.details))
        else:
            outcomes.append(("OK", str(account.pk)))
    return outcomes


def in_bulk(links: list[Link], *, check: bool) -> list[Outcome]:
    answers = payment_accounts_link_bulk(links=links, actor=SYSTEM)
    if check:
        payment_accounts_check_bulk(
            account_ids=[a for a in answers if isinstance(a, int)], workers=3
        )
    outcomes: list[Outcome] = []
    for index, answer in enumerate(answers):
        if isinstance(answer, Refused):
            assert answer.index == index
            outcomes.append((answer.code, answer.error.details))
        else:
            outcomes.append(("OK", str(answer)))
    return outcomes


def compare(one_by_one: Callable[[], list[Outcome]], bulk: Callable[[], list[Outcome]]) -> None:
    with clock(NOW):
        with rolled_back():
            expected = named(one_by_one())
            expected_state = state()
        got = named(bulk())
        got_state = state()
    assert got == expected
    for part in expected_state:
        assert got_state[part] == expected_state[part], part
    assert ledger_integrity_report().ok


def named(outcomes: list[Outcome]) -> list[Outcome]:
    names = account_names()
    return [(code, names[detail] if code == "OK" else detail) for code, detail in outcomes]


# --- tests ----------------------------------------------------------------------------------------


def test_linking_and_checking_in_bulk_ends_as_linking_one_by_one(monkeypatch):
    people = undoubted(completed_and_reviewed(11))
    ok, nik, basic, inactive, missing, silent, replacing, relinking, doubt, revoked, typo = people
    Order.objects.filter(participant=doubt).update(flag_fast_completion=True)
    Participant.objects.filter(pk=revoked.pk).update(status="revoked")
    institution("bni")
    with two_banks(monkeypatch) as (ovo, gopay):
        ovo.add_accounts(
            [
                wallet(ok),
                wallet(nik, nik="3201010101010001"),
                wallet(basic, kyc_level="basic"),
                wallet(inactive, status="inactive"),
                wallet(replacing),
                wallet(relinking),
                wallet(doubt),
                wallet(revoked),
            ]
        )
        # One links over a verified GoPay wallet; one relinks after a phone change held its
        # incentives (PHONE_CHANGED).
        verified_account(replacing, gopay.partner)
        verified_account(relinking, ovo.partner)
        entitlements_grant(participant_id=relinking.pk, actor=SYSTEM)
        payment_accounts_phone_changed(registrant_id=relinking.registrant_id, actor=SYSTEM)
        links = [
            (ok.pk, "ovo", ok.registrant.phone),
            (nik.pk, "ovo", nik.registrant.phone),
            (basic.pk, "ovo", basic.registrant.phone),
            (inactive.pk, "ovo", inactive.registrant.phone),
            (missing.pk, "ovo", missing.registrant.phone),
            (silent.pk, "gopay", silent.registrant.phone),
            (replacing.pk, "ovo", replacing.registrant.phone),
            (relinking.pk, "ovo", relinking.registrant.phone),
            (doubt.pk, "ovo", doubt.registrant.phone),
            (revoked.pk, "ovo", revoked.registrant.phone),
            (typo.pk, "dana", typo.registrant.phone),
            (typo.pk, "ovo", "0812"),
            (typo.pk, "ovo", "081299998888"),
            (typo.pk, "bni", "12ab"),
        ]

        compare(lambda: per_item(links), lambda: in_bulk(links, check=True))

    outcomes = {
        participant: (status, reason)
        for participant, status, reason in PaymentAccount.objects.filter(
            status__in=["checking", "verified", "rejected"]
        ).values_list("participant_id", "status", "reason_code")
    }
    assert outcomes == {
        ok.pk: ("verified", ""),
        nik.pk: ("rejected", "NIK_MISMATCH"),
        basic.pk: ("rejected", "NOT_UPGRADED"),
        inactive.pk: ("rejected", "ACCOUNT_INACTIVE"),
        missing.pk: ("rejected", "ACCOUNT_NOT_FOUND"),
        silent.pk: ("checking", ""),
        replacing.pk: ("verified", ""),
        relinking.pk: ("verified", ""),
        doubt.pk: ("verified", ""),
    }
    entitlements = {
        p.pk: sorted(p.entitlements.values_list("status", "hold_reason")) for p in people
    }
    assert {pk: rows for pk, rows in entitlements.items() if rows} == {
        ok.pk: [("due", "")] * 4,
        replacing.pk: [("due", "")] * 4,
        relinking.pk: [("due", "")] * 4,  # released
        doubt.pk: [("held", "FAST_COMPLETION")] * 4,
    }
    replaced = PaymentAccount.objects.get(participant=replacing, institution=gopay.partner)
    assert (replaced.status, replaced.reason_code) == ("unlinked", "REPLACED")
    event = OutboundEvent.objects.get(
        event_type="account.unlinked", subject=f"account-{replaced.pk}"
    )
    assert (event.partner_id, event.payload["data"]["reason"]) == (gopay.partner.pk, "REPLACED")
    assert balance(AccountKind.INCENTIVE_PAYABLE) == 4 * 4 * MONTHLY


def test_links_of_one_participant_in_one_chunk_replace_each_other_as_one_by_one(monkeypatch):
    first, second = undoubted(completed_and_reviewed(2))
    ovo, gopay = institution("ovo")[0], institution("gopay")[0]
    verified_account(second, ovo)
    links = [
        (first.pk, "ovo", first.registrant.phone),
        (first.pk, "gopay", first.registrant.phone),
        (second.pk, "gopay", "0812"),
        (second.pk, "gopay", second.registrant.phone),
        (first.pk, "ovo", first.registrant.phone),
        (second.pk, "ovo", second.registrant.phone),
    ]
    # Linking only: the per-item service's inquiry left out.
    monkeypatch.setattr(accounts_module, "payment_account_check", lambda *, account: account)

    compare(lambda: per_item(links), lambda: in_bulk(links, check=False))

    assert sorted(
        PaymentAccount.objects.values_list(
            "participant_id", "institution_id", "status", "reason_code"
        )
    ) == sorted(
        [
            (first.pk, ovo.pk, "unlinked", "REPLACED"),
            (first.pk, gopay.pk, "unlinked", "REPLACED"),
            (first.pk, ovo.pk, "checking", ""),
            (second.pk, ovo.pk, "unlinked", "REPLACED"),
            (second.pk, gopay.pk, "unlinked", "REPLACED"),
            (second.pk, ovo.pk, "checking", ""),
        ]
    )
    assert OutboundEvent.objects.filter(event_type="account.unlinked").count() == 4


def test_refused_links_change_nothing_and_unknown_participants_are_not_found(monkeypatch):
    (person,) = undoubted(completed_and_reviewed(1))
    institution("ovo")
    before = state()

    answers = payment_accounts_link_bulk(
        links=[(10**9, "ovo", "081234567890"), (person.pk, "dana", person.registrant.phone)],
        actor=SYSTEM,
    )

    assert [(a.index, a.code, a.error.details) for a in answers if isinstance(a, Refused)] == [
        (0, "NOT_FOUND", {"participant_id": 10**9}),
        (1, "INSTITUTION_UNKNOWN", {"institution": "dana"}),
    ]
    assert state() == before


def test_chunks_take_a_constant_number_of_statements(monkeypatch):
    people = undoubted(completed_and_reviewed(8))
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        counts = []
        for group in (people[:2], people[2:]):
            links = [(p.pk, "ovo", p.registrant.phone) for p in group]
            with CaptureQueriesContext(connection) as linking:
                ids = payment_accounts_link_bulk(links=links, actor=SYSTEM)
            with CaptureQueriesContext(connection) as checking:
                assert payment_accounts_check_bulk(account_ids=ids) == len(group)  # type: ignore[arg-type]
            counts.append((len(linking.captured_queries), len(checking.captured_queries)))
    assert counts[0] == counts[1] == (7, 24)
    assert PaymentAccount.objects.filter(status="verified").count() == 8
    assert balance(AccountKind.INCENTIVE_PAYABLE) == 8 * 4 * MONTHLY
    assert payment_accounts_check_bulk(account_ids=ids) == 0  # type: ignore[arg-type]
    assert ledger_integrity_report().ok
