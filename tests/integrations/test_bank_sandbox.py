"""The sandbox financial institution (`prakerja sandbox bank`) over real HTTP, driven through the
system's adapter BankClient; callbacks received and verified by a stand-in for the system."""

import argparse
import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import httpx
import pytest

from prakerja.common.timeutil import WIB
from prakerja.integrations.bank import (
    REASON_CODES,
    AccountInquiry,
    BankClient,
    BankOutcomeUnknown,
    BankRefused,
    BankUnavailable,
    BatchAnswer,
    Rejection,
    StatementLine,
    TransferAnswer,
    TransferInstruction,
    bank_client,
)
from prakerja.integrations.bank import sandbox as bank_sandbox
from prakerja.integrations.sandboxes import sandbox_port
from tests.integrations.bank_kit import (
    EMPTY_TOTALS,
    Receiver,
    Running,
    account,
    register,
    reset_bank,
    running_bank,
    running_receiver,
    set_bank_faults,
    set_faults,
    totals,
    wait_callbacks_done,
    wait_for,
)

WALLET = "+6281234567890"
NIK = "3201010101900001"
OTHER_NIK = "3201010101900002"
REFERENCE = re.compile(r"^OVO-[0-9A-F]{12}$")


@pytest.fixture(scope="module")
def system() -> Iterator[tuple[Receiver, str]]:
    """The system's callback endpoints, shared by the module's tests (a server takes half a
    second to stop)."""
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def shared_bank(system: tuple[Receiver, str]) -> Iterator[Running]:
    with running_bank(system_url=system[1]) as running:
        yield running


@pytest.fixture
def bank(shared_bank: Running, system: tuple[Receiver, str]) -> Running:
    """The shared sandbox as good as new: no transfers, accounts, callbacks or faults."""
    reset_bank(shared_bank.url)
    system[0].reset()
    return shared_bank


@pytest.fixture
def receiver(bank: Running, system: tuple[Receiver, str]) -> Receiver:
    return system[0]


@pytest.fixture
def client(bank: Running) -> Iterator[BankClient]:
    with BankClient(bank.url, timeout_s=2.0) as adapter:
        yield adapter


def is_now_in_wib(moment: datetime | None) -> bool:
    assert moment is not None
    return moment.utcoffset() == timedelta(hours=7) and abs(datetime.now(WIB) - moment) < timedelta(
        seconds=5
    )


def instructions(*items: tuple[str, str, int]) -> list[TransferInstruction]:
    return [TransferInstruction(i, number, amount, "Insentif") for i, number, amount in items]


# --- account inquiry ------------------------------------------------------------------------------


def test_inquiry_tells_holder_nik_match_kyc_and_status(bank, client):
    # given an upgraded active wallet, a basic one and an inactive one
    register(
        bank.url,
        account(WALLET),
        account("+6281100000002", holder_name="Budi", kyc_level="basic"),
        account("+6281100000003", holder_name="Ani", status="inactive"),
    )

    # when the system asks about each, and about a number the institution does not hold
    match = client.account_inquiry("e_wallet", WALLET, NIK)
    mismatch = client.account_inquiry("e_wallet", WALLET, OTHER_NIK)
    basic = client.account_inquiry("e_wallet", "+6281100000002", NIK)
    inactive = client.account_inquiry("e_wallet", "+6281100000003", NIK)
    unknown = client.account_inquiry("e_wallet", "+6289999999999", NIK)
    wrong_type = client.account_inquiry("virtual_account", WALLET, NIK)

    # then each answer says exactly what the book holds
    assert match == AccountInquiry(True, "Siti Rahmawati", True, "upgraded", "active")
    assert match.reason_code is None
    assert mismatch == AccountInquiry(True, "Siti Rahmawati", False, "upgraded", "active")
    assert mismatch.reason_code == "NIK_MISMATCH"
    assert basic == AccountInquiry(True, "Budi", True, "basic", "active")
    assert basic.reason_code == "NOT_UPGRADED"
    assert inactive == AccountInquiry(True, "Ani", True, "upgraded", "inactive")
    assert inactive.reason_code == "ACCOUNT_INACTIVE"
    assert unknown == AccountInquiry(found=False)
    assert unknown.reason_code == "ACCOUNT_NOT_FOUND"
    assert wrong_type == AccountInquiry(found=False)


def test_inquiry_wire_shapes(bank):
    register(bank.url, account(WALLET))
    found = httpx.post(
        f"{bank.url}/account-inquiry",
        json={"account_type": "e_wallet", "account_number": WALLET, "nik": NIK},
    )
    missing = httpx.post(
        f"{bank.url}/account-inquiry",
        json={"account_type": "e_wallet", "account_number": "+620000", "nik": NIK},
    )
    malformed = httpx.post(
        f"{bank.url}/account-inquiry",
        json={"account_type": "bank", "account_number": WALLET, "nik": "12"},
    )

    assert (found.status_code, found.json()) == (
        200,
        {
            "holder_name": "Siti Rahmawati",
            "nik_match": True,
            "kyc_level": "upgraded",
            "status": "active",
        },
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ACCOUNT_NOT_FOUND"
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "VALIDATION_FAILED"
    assert set(malformed.json()["error"]["details"]) == {"account_type", "nik"}


# --- single transfers -----------------------------------------------------------------------------


def test_a_sync_transfer_to_a_good_account_succeeds(bank, client):
    # given an upgraded wallet
    register(bank.url, account(WALLET))

    # when Rp600.000 is sent to it
    answer = client.transfer("pay-1", WALLET, 600_000, "Insentif 1/4")

    # then it succeeds at once, with the institution's reference, and is counted once
    assert (answer.instruction_id, answer.status, answer.reason_code) == ("pay-1", "success", None)
    assert is_now_in_wib(answer.settled_at)
    assert answer.partner_reference is not None and REFERENCE.match(answer.partner_reference)
    assert totals(bank.url) == {
        **EMPTY_TOTALS,
        "success_count": 1,
        "success_sum_idr": 600_000,
        "received_count": 1,
    }
    assert client.transfer_status("pay-1") == answer
    assert client.transfer_status("pay-never-sent") is None


@pytest.mark.parametrize("reason", REASON_CODES)
def test_every_reason_code_can_be_injected_by_fail_rates(bank, client, reason):
    # given a good account and transfers failing with `reason` at share 1
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, fail_rates={reason: 1.0})

    answer = client.transfer(f"pay-{reason}", WALLET, 600_000)

    assert (answer.status, answer.reason_code) == ("failed", reason)
    assert answer.partner_reference is not None
    assert totals(bank.url) == {
        **EMPTY_TOTALS,
        "failed_count": 1,
        "by_reason": {reason: 1},
        "received_count": 1,
    }


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status": "inactive"}, "ACCOUNT_INACTIVE"),
        ({"kyc_level": "basic"}, "NOT_UPGRADED"),
        ({"phone_changed": True}, "PHONE_CHANGED"),
        (None, "ACCOUNT_NOT_FOUND"),
    ],
)
def test_the_account_book_decides_failures(bank, client, overrides, reason):
    if overrides is not None:
        register(bank.url, account(WALLET, **overrides))

    answer = client.transfer("pay-1", WALLET, 600_000)

    assert (answer.status, answer.reason_code) == ("failed", reason)
    assert totals(bank.url)["by_reason"] == {reason: 1}


def test_a_virtual_account_has_no_kyc_upgrade_to_fail_on():
    with running_bank("bni") as bni, BankClient(bni.url, timeout_s=2.0) as client:
        register(
            bni.url, account("8808123456789012", account_type="virtual_account", kyc_level="basic")
        )
        answer = client.transfer("va-1", "8808123456789012", 600_000)
        refused = httpx.post(f"{bni.url}/_accounts", json={"accounts": [account(WALLET)]})

    assert (answer.status, answer.reason_code) == ("success", None)
    assert answer.partner_reference is not None and answer.partner_reference.startswith("BNI-")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == {
        "accounts[0].account_type": "this institution holds virtual_account accounts"
    }


def test_a_resent_instruction_answers_its_first_outcome_and_pays_once(bank, client):
    register(bank.url, account(WALLET))
    first = client.transfer("pay-1", WALLET, 600_000)

    # when the same instruction comes again (the description is not part of the payment)
    again = client.transfer("pay-1", WALLET, 600_000, "another description")

    assert again == first
    assert totals(bank.url) == {
        **EMPTY_TOTALS,
        "success_count": 1,
        "success_sum_idr": 600_000,
        "received_count": 1,
    }


def test_a_failed_instruction_stays_failed_when_resent(bank, client):
    # given an instruction that failed because the wallet was not upgraded
    register(bank.url, account(WALLET, kyc_level="basic"))
    failed = client.transfer("pay-1", WALLET, 600_000)

    # when the participant upgrades and the same id is sent again
    register(bank.url, account(WALLET))
    again = client.transfer("pay-1", WALLET, 600_000)
    retried = client.transfer("pay-1-retry", WALLET, 600_000)

    # then the id keeps its outcome; a new id pays
    assert again == failed and failed.reason_code == "NOT_UPGRADED"
    assert (retried.status, retried.reason_code) == ("success", None)


@pytest.mark.parametrize(("number", "amount"), [(WALLET, 500_000), ("+6281100000009", 600_000)])
def test_an_instruction_id_reused_for_another_payment_is_refused(bank, client, number, amount):
    register(bank.url, account(WALLET), account("+6281100000009"))
    client.transfer("pay-1", WALLET, 600_000)
    before = totals(bank.url)

    with pytest.raises(BankRefused) as refused:
        client.transfer("pay-1", number, amount)

    assert (refused.value.status, refused.value.code) == (409, "INSTRUCTION_ID_REUSED")
    assert totals(bank.url) == before


def test_a_malformed_transfer_is_refused_and_nothing_recorded(bank):
    answer = httpx.post(
        f"{bank.url}/transfers",
        json={"instruction_id": "a/b", "account_number": WALLET, "amount_idr": 1.5},
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "VALIDATION_FAILED"
    assert set(answer.json()["error"]["details"]) == {"instruction_id", "amount_idr"}
    assert totals(bank.url) == EMPTY_TOTALS


# --- batches --------------------------------------------------------------------------------------


def test_a_batch_whose_control_totals_do_not_match_is_refused_whole(bank):
    register(bank.url, account(WALLET))
    body = {
        "batch_id": "batch-1",
        "control_count": 2,
        "control_sum_idr": 1_000_000,
        "instructions": [
            {"instruction_id": "b1-1", "account_number": WALLET, "amount_idr": 600_000},
            {"instruction_id": "b1-2", "account_number": WALLET, "amount_idr": 600_000},
        ],
    }

    answer = httpx.post(f"{bank.url}/transfer-batches", json=body)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "CONTROL_TOTALS_MISMATCH"
    assert answer.json()["error"]["details"] == {
        "control_count": 2,
        "control_sum_idr": 1_000_000,
        "counted": 2,
        "summed_idr": 1_200_000,
    }
    # nothing recorded: no transfer, no batch
    assert totals(bank.url) == EMPTY_TOTALS
    assert httpx.get(f"{bank.url}/transfer-batches/batch-1").status_code == 404
    assert httpx.get(f"{bank.url}/transfers/b1-1").status_code == 404


def test_a_batch_of_more_than_1000_is_refused_whole(bank):
    items = [
        {"instruction_id": f"big-{n}", "account_number": WALLET, "amount_idr": 1}
        for n in range(1001)
    ]
    body = {
        "batch_id": "big",
        "control_count": 1001,
        "control_sum_idr": 1001,
        "instructions": items,
    }

    answer = httpx.post(f"{bank.url}/transfer-batches", json=body)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "CONTROL_TOTALS_MISMATCH"
    assert totals(bank.url) == EMPTY_TOTALS


def test_a_batch_is_accepted_and_its_results_can_be_read(bank, client):
    # given a good wallet, a paid instruction, and a batch holding it again, a reused id, an unknown
    # account and a new payment
    register(bank.url, account(WALLET))
    client.transfer("pay-0", WALLET, 600_000)
    batch = instructions(
        ("pay-0", WALLET, 600_000),
        ("pay-1", WALLET, 600_000),
        ("pay-0", WALLET, 50_000),
        ("pay-2", "+6289999999999", 600_000),
    )

    answer = client.transfer_batch("run-1", batch)
    results = client.batch_results("run-1")

    assert answer == BatchAnswer("run-1", 3, (Rejection("pay-0", "INSTRUCTION_ID_REUSED"),))
    assert results is not None
    assert [(r.instruction_id, r.status, r.reason_code) for r in results] == [
        ("pay-0", "success", None),
        ("pay-1", "success", None),
        ("pay-2", "failed", "ACCOUNT_NOT_FOUND"),
    ]
    assert all(is_now_in_wib(r.settled_at) for r in results)
    assert totals(bank.url) == {
        **EMPTY_TOTALS,
        "success_count": 2,
        "success_sum_idr": 1_200_000,
        "failed_count": 1,
        "by_reason": {"ACCOUNT_NOT_FOUND": 1},
        "received_count": 3,
    }
    assert client.batch_results("run-never-sent") is None

    # a re-sent batch answers its first answer and moves nothing; its id with other content is refused
    assert client.transfer_batch("run-1", batch) == answer
    with pytest.raises(BankRefused) as refused:
        client.transfer_batch("run-1", batch[:2])
    assert (refused.value.status, refused.value.code) == (409, "BATCH_ID_REUSED")
    assert totals(bank.url)["received_count"] == 3


# --- callbacks ------------------------------------------------------------------------------------


def test_async_transfers_are_accepted_and_settled_by_signed_callbacks(bank, client, receiver):
    # given a good wallet, a basic one, and the institution answering asynchronously
    register(bank.url, account(WALLET), account("+6281100000002", kyc_level="basic"))
    set_bank_faults(bank.url, mode="async", callback_delay_ms=300)

    # when two payments are sent
    ok = client.transfer("pay-1", WALLET, 600_000)
    failing = client.transfer("pay-2", "+6281100000002", 600_000)

    # then both are accepted, and pending until they settle
    assert ok == TransferAnswer("pay-1", "accepted", None, None, ok.partner_reference)
    assert failing == TransferAnswer("pay-2", "accepted", None, None, failing.partner_reference)
    assert client.transfer_status("pay-1") == ok
    assert totals(bank.url)["accepted_count"] == 2
    stats = wait_callbacks_done(bank.url)
    settled = client.transfer_status("pay-1")
    again = client.transfer("pay-1", WALLET, 600_000)
    calls = receiver.snapshot()

    # and the system received one verified callback per payment, signed by the institution
    assert receiver.refused == 0
    assert sorted((c.path, c.body["status"], c.body["reason_code"]) for c in calls) == [
        ("/api/partner/v1/transfers/pay-1/result", "success", None),
        ("/api/partner/v1/transfers/pay-2/result", "failed", "NOT_UPGRADED"),
    ]
    first = next(c for c in calls if c.path.endswith("pay-1/result"))
    assert settled is not None and settled.settled_at is not None
    assert first.body == {
        "status": "success",
        "reason_code": None,
        "settled_at": settled.settled_at.isoformat(),
        "partner_reference": ok.partner_reference,
    }
    assert again == settled and settled.status == "success"
    assert {k: stats[k] for k in ("scheduled", "delivered", "retried", "given_up")} == {
        "scheduled": 2,
        "delivered": 2,
        "retried": 0,
        "given_up": 0,
    }


def test_batch_outcomes_arrive_per_instruction_or_as_one_batch_callback(bank, client, receiver):
    register(bank.url, account(WALLET))

    # sync mode: the batch answer carries no outcomes, so callbacks do, one per instruction
    client.transfer_batch("run-1", instructions(("a-1", WALLET, 1), ("a-2", WALLET, 2)))
    wait_callbacks_done(bank.url)
    per_instruction = receiver.snapshot()
    set_bank_faults(bank.url, callback_batch=True)
    client.transfer_batch("run-2", instructions(("b-1", WALLET, 3), ("b-2", "+620", 4)))
    wait_callbacks_done(bank.url)
    calls = receiver.snapshot()

    assert sorted(c.path for c in per_instruction) == [
        "/api/partner/v1/transfers/a-1/result",
        "/api/partner/v1/transfers/a-2/result",
    ]
    [batch_call] = calls[2:]
    assert batch_call.path == "/api/partner/v1/transfer-batches/run-2/results"
    assert [
        (r["instruction_id"], r["status"], r["reason_code"]) for r in batch_call.body["results"]
    ] == [("b-1", "success", None), ("b-2", "failed", "ACCOUNT_NOT_FOUND")]
    assert receiver.refused == 0


def test_a_callback_answered_5xx_is_retried_under_the_same_external_id(bank, client, receiver):
    receiver.reset(fail_first=2)
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, mode="async", callback_retry_ms=50)

    client.transfer("pay-1", WALLET, 600_000)
    stats = wait_callbacks_done(bank.url)

    [call] = receiver.snapshot()
    assert call.path == "/api/partner/v1/transfers/pay-1/result"
    assert receiver.attempt_ids == [call.external_id] * 3
    assert {k: stats[k] for k in ("scheduled", "delivered", "retried", "given_up")} == {
        "scheduled": 1,
        "delivered": 1,
        "retried": 2,
        "given_up": 0,
    }


def test_a_callback_the_system_keeps_refusing_with_5xx_is_given_up(bank, client, receiver):
    receiver.reset(fail_first=1000)
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, mode="async", callback_retries=2, callback_retry_ms=20)

    client.transfer("pay-1", WALLET, 600_000)
    stats = wait_callbacks_done(bank.url)

    assert {k: stats[k] for k in ("scheduled", "delivered", "retried", "given_up")} == {
        "scheduled": 1,
        "delivered": 0,
        "retried": 2,
        "given_up": 1,
    }
    assert stats["last_error"] == "POST /transfers/pay-1/result: HTTP 503"
    assert receiver.snapshot() == []


def test_a_system_that_cannot_be_reached_is_retried_then_given_up():
    poster = bank_sandbox.SignedPoster(f"http://127.0.0.1:{closed_port()}", "ovo", "s", 1.0)
    sender = bank_sandbox.CallbackSender(poster, workers=1)
    sender.retries, sender.retry_ms = 2, 10

    sender.schedule([(time.time(), "/transfers/pay-1/result", b"{}")], Counter())
    wait_for(lambda: sender.snapshot()["pending"] == 0)
    stats = sender.snapshot()
    sender.close()

    assert (stats["scheduled"], stats["retried"], stats["given_up"]) == (1, 2, 1)
    assert stats["last_error"].startswith("POST /transfers/pay-1/result: ConnectionRefusedError")


def test_duplicate_callbacks_carry_the_same_outcome_under_their_own_external_ids(
    bank, client, receiver
):
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, mode="async", duplicate_callback_rate=1.0)

    client.transfer("pay-1", WALLET, 600_000)
    stats = wait_callbacks_done(bank.url)

    calls = receiver.snapshot()
    assert len(calls) == 2
    assert calls[0].path == calls[1].path == "/api/partner/v1/transfers/pay-1/result"
    assert calls[0].body == calls[1].body
    assert calls[0].external_id != calls[1].external_id
    assert (stats["duplicated"], stats["delivered"]) == (1, 2)


def test_a_late_callback_comes_after_the_outcome_is_already_queryable(bank, client, receiver):
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, mode="async", late_callback_rate=1.0, late_callback_ms=400)

    sent = time.time()
    client.transfer("pay-1", WALLET, 600_000)
    settled = client.transfer_status("pay-1")
    early = receiver.snapshot()
    stats = wait_callbacks_done(bank.url)

    [call] = receiver.snapshot()
    assert early == []
    assert settled is not None and settled.status == "success"
    assert call.received_at - sent >= 0.4
    assert call.body["status"] == "success"
    assert (stats["late"], stats["delivered"]) == (1, 1)


def test_a_lost_callback_is_never_sent_but_the_outcome_stays_queryable(bank, client, receiver):
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, lost_callback_rate=1.0)

    client.transfer_batch("run-1", instructions(("a-1", WALLET, 1), ("a-2", WALLET, 2)))
    stats = wait_callbacks_done(bank.url)
    results = client.batch_results("run-1")

    assert receiver.snapshot() == []
    assert (stats["lost"], stats["scheduled"], stats["delivered"]) == (2, 0, 0)
    assert results is not None
    assert [(r.instruction_id, r.status) for r in results] == [
        ("a-1", "success"),
        ("a-2", "success"),
    ]


def test_without_a_signing_secret_callbacks_are_given_up_with_the_reason():
    with running_bank(secret="") as bank, BankClient(bank.url, 2.0) as client:
        register(bank.url, account(WALLET))
        set_bank_faults(bank.url, mode="async")
        client.transfer("pay-1", WALLET, 600_000)
        stats = wait_callbacks_done(bank.url)

    assert (stats["given_up"], stats["delivered"]) == (1, 0)
    assert stats["last_error"].startswith("no signing secret")


# --- unknown outcomes and outages -----------------------------------------------------------------


def test_a_lost_answer_is_outcome_unknown_and_the_status_shows_it_happened_once(bank):
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, lost_answer_rate=1.0, hang_s=1.5)
    impatient = BankClient(bank.url, timeout_s=0.3)

    with pytest.raises(BankOutcomeUnknown):
        impatient.transfer("pay-1", WALLET, 600_000)
    status = impatient.transfer_status("pay-1")
    # Only a first receipt loses its answer: a hang here would time out (0,3 s) and raise.
    again = impatient.transfer("pay-1", WALLET, 600_000)
    impatient.close()

    assert status is not None and (status.status, status.reason_code) == ("success", None)
    assert again == status
    assert totals(bank.url) == {
        **EMPTY_TOTALS,
        "success_count": 1,
        "success_sum_idr": 600_000,
        "received_count": 1,
    }


def test_a_lost_batch_answer_is_learnt_from_its_results_or_by_sending_it_again(bank):
    register(bank.url, account(WALLET))
    set_bank_faults(bank.url, lost_answer_rate=1.0, hang_s=1.5)
    batch = instructions(("a-1", WALLET, 1), ("a-2", WALLET, 2))

    with BankClient(bank.url, timeout_s=0.3) as impatient:
        with pytest.raises(BankOutcomeUnknown):
            impatient.transfer_batch("run-1", batch)
        results = impatient.batch_results("run-1")
        again = impatient.transfer_batch("run-1", batch)

    assert results is not None and [r.status for r in results] == ["success", "success"]
    assert again == BatchAnswer("run-1", 2, ())
    assert totals(bank.url)["received_count"] == 2


def test_an_outage_is_unavailable_and_records_nothing(bank, client):
    register(bank.url, account(WALLET))
    set_faults(bank.url, outage=True)

    with pytest.raises(BankUnavailable):
        client.transfer("pay-1", WALLET, 600_000)
    with pytest.raises(BankUnavailable):
        client.transfer_batch("run-1", instructions(("a-1", WALLET, 1)))
    with pytest.raises(BankUnavailable):
        client.transfer_status("pay-1")
    with pytest.raises(BankUnavailable):
        client.account_inquiry("e_wallet", WALLET, NIK)

    # the control plane still answers during the outage: nothing was recorded
    assert totals(bank.url) == EMPTY_TOTALS
    set_faults(bank.url, outage=False)
    assert client.transfer_status("pay-1") is None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_connection_is_unavailable():
    client = BankClient(f"http://127.0.0.1:{closed_port()}", timeout_s=1.0)

    with pytest.raises(BankUnavailable):
        client.transfer("pay-1", WALLET, 600_000)
    client.close()


def test_a_server_error_leaves_a_transfer_unknown_but_a_read_merely_unavailable(bank, client):
    set_faults(bank.url, error_rate=1.0)

    with pytest.raises(BankOutcomeUnknown):
        client.transfer("pay-1", WALLET, 600_000)
    with pytest.raises(BankUnavailable):
        client.transfer_status("pay-1")
    with pytest.raises(BankUnavailable):
        client.statement(datetime.now(WIB).date())


# --- statements -----------------------------------------------------------------------------------


def test_the_statement_lists_the_days_settled_transfers_as_json_and_csv(bank, client):
    register(bank.url, account(WALLET), account("+6281100000002", status="inactive"))
    first = client.transfer("pay-1", WALLET, 600_000)
    second = client.transfer("pay-2", "+6281100000002", 600_000)
    third = client.transfer("pay-3", WALLET, 50_000)
    set_bank_faults(bank.url, mode="async", callback_delay_ms=60_000)
    client.transfer("pay-4", WALLET, 600_000)  # accepted, not settled: not on any statement yet
    today = datetime.now(WIB).date()

    lines = client.statement(today)
    as_csv = httpx.get(f"{bank.url}/statements/{today.isoformat()}.csv")

    assert lines == [
        StatementLine("pay-1", 600_000, "success", str(first.partner_reference)),
        StatementLine("pay-2", 600_000, "failed", str(second.partner_reference)),
        StatementLine("pay-3", 50_000, "success", str(third.partner_reference)),
    ]
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.text == (
        "instruction_id,amount_idr,status,partner_reference\r\n"
        f"pay-1,600000,success,{first.partner_reference}\r\n"
        f"pay-2,600000,failed,{second.partner_reference}\r\n"
        f"pay-3,50000,success,{third.partner_reference}\r\n"
    )
    assert client.statement(today - timedelta(days=1)) == []


def test_the_clock_can_be_set_so_a_simulation_of_2020_gets_2020_statements(bank, client):
    register(bank.url, account(WALLET))
    moved = httpx.post(f"{bank.url}/_clock", json={"now": "2020-05-01T08:00:00+07:00"})
    paid = client.transfer("pay-2020", WALLET, 600_000)

    assert moved.status_code == 200
    assert moved.json()["now"].startswith("2020-05-01T08:00")
    assert paid.settled_at is not None
    assert paid.settled_at.date() == date(2020, 5, 1)
    assert [line.instruction_id for line in client.statement(date(2020, 5, 1))] == ["pay-2020"]
    assert client.statement(datetime.now(WIB).date()) == []


def test_a_clock_without_an_offset_is_refused_and_the_clock_stays(bank):
    before = httpx.get(f"{bank.url}/_clock").json()
    refused = httpx.post(f"{bank.url}/_clock", json={"now": "2020-05-01T08:00:00"})

    assert refused.status_code == 422
    assert abs(httpx.get(f"{bank.url}/_clock").json()["offset_s"] - before["offset_s"]) < 1
    assert before["offset_s"] == 0.0  # the reset of the shared sandbox puts the clock back
    assert httpx.get(f"{bank.url}/statements/2020-13-01").status_code == 422


# --- determinism, control plane, configuration ----------------------------------------------------


FAIL_RATES = {"NIK_MISMATCH": 0.3, "TEMPORARY_FAILURE": 0.2}


def outcomes(url: str, ids: list[str]) -> list[tuple[str, str | None, str | None]]:
    """Send the first 100 ids as a batch and the rest one by one; their outcomes in id order."""
    with BankClient(url, 2.0) as client:
        client.transfer_batch("run-1", instructions(*((i, WALLET, 1000) for i in ids[:100])))
        singles = [client.transfer(i, WALLET, 1000) for i in ids[100:]]
        results = (client.batch_results("run-1") or []) + singles
    return [(r.status, r.reason_code, r.partner_reference) for r in results]


def test_two_sandboxes_with_the_same_seed_give_the_same_outcomes(bank):
    ids = [f"pay-{n}" for n in range(200)]
    faults = bank_sandbox.BankFaults(fail_rates=FAIL_RATES, accept_unknown_accounts=True)
    set_bank_faults(bank.url, fail_rates=FAIL_RATES, accept_unknown_accounts=True)  # seed 0

    with running_bank(seed=7, faults=faults) as one, running_bank(seed=7, faults=faults) as two:
        first, second = outcomes(one.url, ids), outcomes(two.url, ids)
    other_seed = outcomes(bank.url, ids)

    assert first == second
    assert [reason for _, reason, _ in first] != [reason for _, reason, _ in other_seed]
    reasons = [reason for _, reason, _ in first]
    # near the configured shares, each outcome present
    assert 40 <= reasons.count("NIK_MISMATCH") <= 80
    assert 20 <= reasons.count("TEMPORARY_FAILURE") <= 60
    assert 70 <= reasons.count(None) <= 130


def test_bank_faults_are_validated_and_a_bad_set_changes_nothing(bank):
    before = httpx.get(f"{bank.url}/_bank_faults").json()

    unknown = httpx.post(f"{bank.url}/_bank_faults", json={"mode": "async", "bogus": 1})
    too_much = httpx.post(
        f"{bank.url}/_bank_faults", json={"fail_rates": {"NIK_MISMATCH": 0.6, "LIMIT_REACHED": 0.6}}
    )
    bad_code = httpx.post(f"{bank.url}/_bank_faults", json={"fail_rates": {"NO_MONEY": 0.1}})

    assert [unknown.status_code, too_much.status_code, bad_code.status_code] == [400, 400, 400]
    assert httpx.get(f"{bank.url}/_bank_faults").json() == before
    assert before == {
        "mode": "sync",
        "fail_rates": {},
        "callback_delay_ms": 0,
        "callback_batch": False,
        "duplicate_callback_rate": 0.0,
        "late_callback_rate": 0.0,
        "late_callback_ms": 5000,
        "lost_callback_rate": 0.0,
        "lost_answer_rate": 0.0,
        "hang_s": 30.0,
        "callback_retries": 4,
        "callback_retry_ms": 500,
        "accept_unknown_accounts": False,
    }


def test_accounts_are_added_in_bulk_and_reset_keeps_them(bank, client):
    accounts = [account(f"+62811{n:07d}", holder_name=f"Peserta {n}") for n in range(5000)]

    answer = httpx.post(f"{bank.url}/_accounts", json={"accounts": accounts})
    client.transfer("pay-1", "+628110000042", 600_000)
    reset = httpx.post(f"{bank.url}/_reset")

    assert answer.json() == {"received": 5000, "accounts": 5000}
    assert httpx.get(f"{bank.url}/_accounts/+628110000042").json() == {
        **account("+628110000042", holder_name="Peserta 42"),
        "fail_reason": "",
    }
    assert httpx.get(f"{bank.url}/_accounts/+620").status_code == 404
    assert reset.json() == {"reset": True}
    assert totals(bank.url) == EMPTY_TOTALS
    assert client.transfer_status("pay-1") is None
    assert client.transfer("pay-1", "+628110000042", 600_000).status == "success"


def test_the_page_lists_transfers_without_full_account_numbers(bank, client):
    register(bank.url, account(WALLET))
    client.transfer("pay-1", WALLET, 600_000)

    page = httpx.get(f"{bank.url}/")

    assert page.status_code == 200
    assert "Lembaga keuangan OVO (sandbox)" in page.text
    assert "pay-1" in page.text and "Rp600.000" in page.text and "…7890" in page.text
    assert WALLET not in page.text


def test_thousand_instruction_batches_are_handled_quickly_and_called_back_once(
    bank, client, receiver
):
    set_bank_faults(bank.url, accept_unknown_accounts=True, callback_batch=True)

    answers = [
        client.transfer_batch(
            f"run-{run}", instructions(*((f"r{run}-{n}", WALLET, 600_000) for n in range(1000)))
        )
        for run in range(5)
    ]
    wait_for(lambda: len(receiver.snapshot()) == 5)

    assert [a.accepted for a in answers] == [1000] * 5
    assert sorted(len(c.body["results"]) for c in receiver.snapshot()) == [1000] * 5
    assert totals(bank.url)["success_sum_idr"] == 5000 * 600_000


def test_the_command_line_sets_name_port_and_bank_faults(monkeypatch):
    monkeypatch.setenv("PRAKERJA_BANK_URLS", "bni=http://127.0.0.1:8641,ovo=http://127.0.0.1:8643")
    parser = argparse.ArgumentParser()
    bank_sandbox.add_arguments(parser)
    options = vars(
        parser.parse_args(
            [
                "--name",
                "ovo",
                "--secret",
                "s",
                "--mode",
                "async",
                "--fail-rate",
                "NIK_MISMATCH=0.25",
                "--fail-rate",
                "LIMIT_REACHED=0.5",
                "--lost-answer-rate",
                "0.1",
            ]
        )
    )

    app = bank_sandbox.build_app(options, None)  # type: ignore[arg-type]
    app.close()  # type: ignore[attr-defined]

    assert isinstance(app, bank_sandbox.BankSandboxApp)
    assert (app.name, app.bank.account_type) == ("ovo", "e_wallet")
    assert app.bank_faults.mode == "async"
    assert app.bank_faults.fail_rates == {"NIK_MISMATCH": 0.25, "LIMIT_REACHED": 0.5}
    assert app.bank_faults.lost_answer_rate == 0.1
    assert bank_sandbox.default_port(options) == 8643
    assert sandbox_port("bank") == 8641  # the first institution: the one the demo starts
    assert sandbox_port("bank", {"institution": "ovo"}) == 8643
    with pytest.raises(ValueError, match="PRAKERJA_BANK_URLS"):
        bank_sandbox.default_port({"institution": "gopay"})


def test_bank_client_comes_from_the_urls_setting(monkeypatch):
    monkeypatch.setenv(
        "PRAKERJA_BANK_URLS", "bni=http://127.0.0.1:8641, ovo = http://127.0.0.1:8643/"
    )

    ovo = bank_client("ovo")

    assert ovo.base_url == "http://127.0.0.1:8643"
    assert bank_client("ovo") is ovo
    with pytest.raises(KeyError):
        bank_client("gopay")


@pytest.mark.parametrize("reason", ["NIK_MISMATCH", "LIMIT_REACHED", "TEMPORARY_FAILURE"])
def test_a_failure_reason_pinned_on_an_account_fails_every_transfer_into_it(bank, client, reason):
    register(bank.url, account(WALLET, fail_reason=reason))

    first = client.transfer("pay-1", WALLET, 600_000)
    second = client.transfer("pay-2", WALLET, 50_000)

    assert (first.status, first.reason_code) == ("failed", reason)
    assert (second.status, second.reason_code) == ("failed", reason)
    assert totals(bank.url)["by_reason"] == {reason: 2}


def test_an_unknown_pinned_reason_is_refused_and_the_book_unchanged(bank):
    answer = httpx.post(
        f"{bank.url}/_accounts", json={"accounts": [account(WALLET, fail_reason="BROKE")]}
    )

    assert answer.status_code == 422
    assert httpx.get(f"{bank.url}/_accounts/{WALLET}").status_code == 404
