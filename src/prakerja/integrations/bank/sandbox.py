"""`prakerja sandbox bank --name ovo`: one financial institution as a real HTTP service, speaking
the institution's side of partner-api.md ("Financial institutions"). `bni` holds virtual accounts,
every other name (linkaja, ovo, gopay) e-wallets keyed by phone number. State lives in memory only.

The system's calls (bank/client.py is its adapter):

    POST /account-inquiry {account_type, account_number, nik}
        200 {holder_name, nik_match, kyc_level, status}  |  404 ACCOUNT_NOT_FOUND
    POST /transfers {instruction_id, account_number, amount_idr, description}
        200 {instruction_id, status, reason_code, settled_at, partner_reference}
        409 INSTRUCTION_ID_REUSED (the id came before with another account or amount)
    POST /transfer-batches {batch_id, control_count, control_sum_idr, instructions: [≤ 1000]}
        200 {batch_id, accepted, rejected: [{instruction_id, reason_code}]}
        422 CONTROL_TOTALS_MISMATCH, refused whole, nothing recorded
        409 BATCH_ID_REUSED (the batch id came before with other instructions)
    GET  /transfers/{instruction_id}       the answer of POST /transfers  |  404 TRANSFER_NOT_FOUND
    GET  /transfer-batches/{batch_id}      {batch_id, results: [{instruction_id, status,
                                           reason_code, settled_at, partner_reference}]}
                                           |  404 BATCH_NOT_FOUND
    GET  /statements/{yyyy-mm-dd}[.csv]    transfers settled (success or failed) that WIB day

Errors have the partner API's shape {"error": {"code", "message", "details"}}; a malformed body is
422 VALIDATION_FAILED. An instruction id is the idempotency key: a re-sent instruction never pays
twice and answers the instruction's current outcome (a failed one stays failed: a retry after a fix
needs a new id). A re-sent batch id with the same instructions answers the first answer.

Outcome of a transfer: from the account book first (unknown account ACCOUNT_NOT_FOUND, inactive
ACCOUNT_INACTIVE, `phone_changed` PHONE_CHANGED, e-wallet with KYC `basic` NOT_UPGRADED), then from
the bank faults' `fail_rates`, chosen by a hash of (seed, instruction_id), so a run repeats with the
same seed and a re-sent instruction meets the same fate.

Bank faults (GET|POST /_bank_faults, and CLI flags at start), besides the shared ones of /_faults:
    mode                      sync: the answer carries success/failed; async: the answer says
                              accepted and the outcome settles callback_delay_ms later
    fail_rates                {REASON_CODE: share}, shares summing to at most 1
    callback_batch            one callback per batch instead of one per instruction
    duplicate_callback_rate   share of callbacks sent twice (each with its own X-EXTERNAL-ID)
    late_callback_rate, late_callback_ms   share of callbacks sent that much after settlement
    lost_callback_rate        share of callbacks never sent (the outcome stays queryable)
    lost_answer_rate          share of new transfers and batches recorded but answered only by a
                              504 after hang_s: the caller's timeout fires, the outcome is unknown
    callback_retries, callback_retry_ms    retries of a callback answered 5xx or unreachable
    accept_unknown_accounts   pay accounts missing from the book as if active and upgraded

Callbacks go to the system (--system-url) for every outcome the HTTP answer did not carry: async
single transfers and every instruction of a batch. They are signed as a partner's call
(prakerja.partners.signing) by the partner code --partner (default: the name) with --secret, else
PRAKERJA_BANK_SANDBOX_SECRET_<NAME>, else the partner's secret in the system's database:

    POST /api/partner/v1/transfers/{instruction_id}/result
         {status, reason_code, settled_at, partner_reference}
    POST /api/partner/v1/transfer-batches/{batch_id}/results
         {results: [{instruction_id, status, reason_code, settled_at, partner_reference}]}

Control plane, never touched by faults, so tests and operators can look during an outage:

    POST /_accounts {accounts: [{account_type, account_number, nik, holder_name, kyc_level,
                    status, phone_changed}]}   adds or replaces accounts in bulk
    GET  /_accounts/{account_number}
    GET  /_totals    {success_count, success_sum_idr, failed_count, by_reason, accepted_count,
                     received_count}
    GET  /_callbacks {pending, scheduled, delivered, refused, retried, given_up, lost, late,
                     duplicated, last_error}
    GET  /_clock     {now, offset_s}: the sandbox's clock (real time unless set)
    POST /_clock     {now: ISO 8601 with offset}: date transfers and statements from then on (a
                     simulation of 2020 keeps the institution on its calendar)
    POST /_reset     forgets transfers, batches and pending callbacks and puts the clock back;
                     the accounts too with {"accounts": true}
    GET  /           a page of the latest transfers
"""

import argparse
import csv
import hashlib
import heapq
import html
import http.client
import io
import itertools
import json
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import WIB
from prakerja.config import env
from prakerja.integrations.bank.client import ACCOUNT_TYPES, MAX_BATCH, REASON_CODES, bank_urls
from prakerja.integrations.sandbox import Request, Response, SandboxApp
from prakerja.partners.signing import signed_headers

API_PATH = "/api/partner/v1"
VIRTUAL_ACCOUNT_INSTITUTIONS = frozenset({"bni"})
MODES = ("sync", "async")
KYC_LEVELS = ("basic", "upgraded")
ACCOUNT_STATUSES = ("active", "inactive")
# Ids travel in callback paths: a safe alphabet keeps the signed path identical on both sides.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
ID_RULE = "1 to 64 characters: letters, digits, '.', '_', ':', '-'"
ACCOUNT_PATTERN = re.compile(r"^[^\s/]{1,64}$")
NIK_PATTERN = re.compile(r"^[0-9]{16}$")
MAX_DESCRIPTION = 255
STATEMENT_HEADER = ("instruction_id", "amount_idr", "status", "partner_reference")


# --- bank faults ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BankFaults:
    mode: str = "sync"
    fail_rates: dict[str, float] = field(default_factory=dict)
    callback_delay_ms: int = 0
    callback_batch: bool = False
    duplicate_callback_rate: float = 0.0
    late_callback_rate: float = 0.0
    late_callback_ms: int = 5000
    lost_callback_rate: float = 0.0
    lost_answer_rate: float = 0.0
    hang_s: float = 30.0
    callback_retries: int = 4
    callback_retry_ms: int = 500
    accept_unknown_accounts: bool = False

    def updated(self, values: Mapping[str, Any]) -> "BankFaults":
        """A copy with `values` applied (fail_rates is replaced whole); ValueError naming the
        first bad value, and then nothing changes."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown bank fault {name!r}")
            changes[name] = _checked(name, getattr(self, name), value)
        return replace(self, **changes)


def _checked(name: str, current: Any, value: Any) -> Any:
    if name == "mode":
        if value not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        return value
    if name == "fail_rates":
        return _fail_rates(value)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number ≥ 0")
    if name.endswith("_rate") and value > 1:
        raise ValueError(f"{name} must be a share between 0 and 1")
    return float(value)


def _fail_rates(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("fail_rates must be an object {REASON_CODE: share}")
    rates: dict[str, float] = {}
    for code, share in value.items():
        if code not in REASON_CODES:
            raise ValueError(f"fail_rates: {code!r} is not one of {', '.join(REASON_CODES)}")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError(f"fail_rates: the share of {code} must be between 0 and 1")
        rates[code] = float(share)
    if sum(rates.values()) > 1 + 1e-9:
        raise ValueError("fail_rates: the shares add up to more than 1")
    return rates


def _share(seed: int, purpose: str, key: str) -> float:
    """A number in [0, 1) fixed by (seed, purpose, key): the sandbox's dice, repeatable."""
    digest = hashlib.blake2b(f"{seed}:{purpose}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _injected_reason(share: float, fail_rates: Mapping[str, float]) -> str | None:
    """The shares cut [0, 1) into consecutive slices in REASON_CODES order, so one hash picks at
    most one reason and each reason gets exactly its share."""
    edge = 0.0
    for code in REASON_CODES:
        edge += fail_rates.get(code, 0.0)
        if share < edge:
            return code
    return None


# --- records --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Account:
    account_type: str
    account_number: str
    nik: str
    holder_name: str
    kyc_level: str = "upgraded"
    status: str = "active"
    phone_changed: bool = False
    # A fault pinned on one account: every transfer into it fails with this reason code (a name
    # changed at the institution: NIK_MISMATCH; a full wallet: LIMIT_REACHED; TEMPORARY_FAILURE).
    fail_reason: str = ""

    def refusal(self) -> str | None:
        """Why the book refuses a payment into this account, or None."""
        if self.fail_reason:
            return self.fail_reason
        if self.status != "active":
            return "ACCOUNT_INACTIVE"
        if self.phone_changed:
            return "PHONE_CHANGED"
        if self.account_type == "e_wallet" and self.kyc_level != "upgraded":
            return "NOT_UPGRADED"
        return None


@dataclass(frozen=True, slots=True)
class Instruction:
    instruction_id: str
    account_number: str
    amount_idr: int
    description: str


@dataclass(slots=True)
class Transfer:
    instruction_id: str
    account_number: str
    amount_idr: int
    description: str
    received_at: str
    reason_code: str | None  # None: success
    partner_reference: str
    settle_ts: float  # epoch seconds; until then the transfer is "accepted"
    settled_at: str  # ISO 8601 in WIB
    accepted_first: bool  # the first answer said "accepted" (async mode at receipt)

    @property
    def outcome(self) -> str:
        return "success" if self.reason_code is None else "failed"

    def result(self) -> dict[str, Any]:
        """The settled outcome, as batch results and callbacks carry it."""
        return {
            "instruction_id": self.instruction_id,
            "status": self.outcome,
            "reason_code": self.reason_code,
            "settled_at": self.settled_at,
            "partner_reference": self.partner_reference,
        }

    def answer(self, now: float) -> dict[str, Any]:
        """The outcome as known at `now`: "accepted" until it settles."""
        if now >= self.settle_ts:
            return self.result()
        return self.accepted()

    def accepted(self) -> dict[str, Any]:
        return {
            "instruction_id": self.instruction_id,
            "status": "accepted",
            "reason_code": None,
            "settled_at": None,
            "partner_reference": self.partner_reference,
        }


@dataclass(slots=True)
class BatchRecord:
    content: tuple[tuple[str, str, int], ...]
    answer: dict[str, Any]
    instruction_ids: list[str]


def _wib_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, WIB).isoformat(timespec="seconds")


# --- the institution's books ----------------------------------------------------------------------


class Bank:
    """Accounts, transfers and batches of one institution; every method is thread-safe."""

    def __init__(self, name: str, account_type: str, seed: int) -> None:
        self.name = name
        self.account_type = account_type
        self.seed = seed
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._transfers: dict[str, Transfer] = {}
        self._batches: dict[str, BatchRecord] = {}

    def add_accounts(self, accounts: list[Account]) -> int:
        with self._lock:
            self._accounts.update((a.account_number, a) for a in accounts)
            return len(self._accounts)

    def account(self, account_number: str) -> Account | None:
        with self._lock:
            return self._accounts.get(account_number)

    def inquire(self, account_type: str, account_number: str, nik: str) -> dict[str, Any] | None:
        with self._lock:
            account = self._accounts.get(account_number)
        if account is None or account.account_type != account_type:
            return None
        return {
            "holder_name": account.holder_name,
            "nik_match": account.nik == nik,
            "kyc_level": account.kyc_level,
            "status": account.status,
        }

    def transfer(
        self, item: Instruction, faults: BankFaults, now: float
    ) -> tuple[Transfer | None, bool]:
        """(the transfer, whether it is new); (None, False) when the id was used for another
        payment."""
        with self._lock:
            return self._receive(item, faults, now)

    def batch(
        self, batch_id: str, items: list[Instruction], faults: BankFaults, now: float
    ) -> tuple[BatchRecord | None, list[Transfer], bool]:
        """(the batch, its new transfers, whether the batch is new); None as the batch when its
        id came before with other instructions."""
        content = tuple((i.instruction_id, i.account_number, i.amount_idr) for i in items)
        with self._lock:
            known = self._batches.get(batch_id)
            if known is not None:
                return (known if known.content == content else None), [], False
            new: list[Transfer] = []
            rejected: list[dict[str, str]] = []
            ids: dict[str, None] = {}  # an ordered set
            for item in items:
                transfer, created = self._receive(item, faults, now)
                if transfer is None:
                    rejected.append(
                        {
                            "instruction_id": item.instruction_id,
                            "reason_code": "INSTRUCTION_ID_REUSED",
                        }
                    )
                    continue
                if created:
                    new.append(transfer)
                ids[item.instruction_id] = None
            answer = {
                "batch_id": batch_id,
                "accepted": len(items) - len(rejected),
                "rejected": rejected,
            }
            record = BatchRecord(content, answer, list(ids))
            self._batches[batch_id] = record
            return record, new, True

    def _receive(
        self, item: Instruction, faults: BankFaults, now: float
    ) -> tuple[Transfer | None, bool]:
        known = self._transfers.get(item.instruction_id)
        if known is not None:
            same = (known.account_number, known.amount_idr) == (
                item.account_number,
                item.amount_idr,
            )
            return (known if same else None), False
        settle_ts = now + faults.callback_delay_ms / 1000 if faults.mode == "async" else now
        transfer = Transfer(
            instruction_id=item.instruction_id,
            account_number=item.account_number,
            amount_idr=item.amount_idr,
            description=item.description,
            received_at=_wib_iso(now),
            reason_code=self._decide(item, faults),
            partner_reference=self._reference(item.instruction_id),
            settle_ts=settle_ts,
            settled_at=_wib_iso(settle_ts),
            accepted_first=faults.mode == "async",
        )
        self._transfers[item.instruction_id] = transfer
        return transfer, True

    def _decide(self, item: Instruction, faults: BankFaults) -> str | None:
        account = self._accounts.get(item.account_number)
        if account is None:
            if not faults.accept_unknown_accounts:
                return "ACCOUNT_NOT_FOUND"
        else:
            refusal = account.refusal()
            if refusal is not None:
                return refusal
        if not faults.fail_rates:
            return None
        return _injected_reason(_share(self.seed, "fail", item.instruction_id), faults.fail_rates)

    def _reference(self, instruction_id: str) -> str:
        digest = hashlib.blake2b(
            f"{self.seed}:reference:{instruction_id}".encode(), digest_size=6
        ).hexdigest()
        return f"{self.name.upper()}-{digest.upper()}"

    def status(self, instruction_id: str) -> Transfer | None:
        with self._lock:
            return self._transfers.get(instruction_id)

    def batch_results(self, batch_id: str, now: float) -> list[dict[str, Any]] | None:
        with self._lock:
            record = self._batches.get(batch_id)
            if record is None:
                return None
            transfers = [self._transfers[i] for i in record.instruction_ids]
        return [t.answer(now) for t in transfers]

    def statement(self, day: str, now: float) -> list[Transfer]:
        with self._lock:
            lines = [
                t
                for t in self._transfers.values()
                if t.settle_ts <= now and t.settled_at.startswith(day)
            ]
        lines.sort(key=lambda t: (t.settle_ts, t.instruction_id))
        return lines

    def totals(self, now: float) -> dict[str, Any]:
        success_count = success_sum = failed_count = accepted = 0
        by_reason: Counter[str] = Counter()
        with self._lock:
            for t in self._transfers.values():
                if t.settle_ts > now:
                    accepted += 1
                elif t.reason_code is None:
                    success_count += 1
                    success_sum += t.amount_idr
                else:
                    failed_count += 1
                    by_reason[t.reason_code] += 1
            received = len(self._transfers)
        return {
            "success_count": success_count,
            "success_sum_idr": success_sum,
            "failed_count": failed_count,
            "by_reason": dict(sorted(by_reason.items())),
            "accepted_count": accepted,
            "received_count": received,
        }

    def recent(self, limit: int) -> list[Transfer]:
        with self._lock:
            return list(itertools.islice(reversed(self._transfers.values()), limit))

    def reset(self, *, accounts: bool = False) -> None:
        with self._lock:
            self._transfers.clear()
            self._batches.clear()
            if accounts:
                self._accounts.clear()


# --- callbacks ------------------------------------------------------------------------------------


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    path: str = field(compare=False)
    body: bytes = field(compare=False)
    external_id: str = field(compare=False)
    generation: int = field(compare=False)
    attempt: int = field(default=0, compare=False)


class SignedPoster:
    """POSTs partner calls signed per partner-api.md, over the standard library's http.client with
    one kept-alive connection per sender thread: a quarter of httpx's CPU per call, which decides
    how fast tens of thousands of callbacks go out."""

    def __init__(self, system_url: str, partner: str, secret: str, timeout_s: float) -> None:
        parts = urlsplit(system_url.rstrip("/"))
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._prefix = parts.path + API_PATH
        self._partner = partner
        self._secret = secret
        self._timeout_s = timeout_s
        self._local = threading.local()

    def post(self, path: str, body: bytes, external_id: str) -> tuple[int, str]:
        """(status, start of the answer's body); OSError or HTTPException when no answer came."""
        full_path = self._prefix + path
        headers = signed_headers(
            partner=self._partner,
            secret=self._secret,
            method="POST",
            path_with_query=full_path,
            body=body,
            timestamp=datetime.now(WIB).isoformat(timespec="seconds"),
            external_id=external_id,
        )
        headers["Content-Type"] = "application/json"
        reused = getattr(self._local, "connection", None) is not None
        try:
            return self._exchange(full_path, body, headers)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise
            # The server closed the idle kept-alive connection; the same call on a new one is the
            # same call (same X-EXTERNAL-ID), so sending it again is safe.
            return self._exchange(full_path, body, headers)

    def _exchange(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        connection = self._connection()
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            text = response.read(2000).decode("utf-8", "replace")
            response.read()
        except (OSError, http.client.HTTPException):
            self._drop(connection)
            raise
        if response.will_close:
            self._drop(connection)
        return response.status, text

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self._timeout_s)
            self._local.connection = connection
        return connection

    def disconnect(self) -> None:
        """Close this thread's keep-alive connection, if any."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._drop(connection)

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self._local.connection = None


class CallbackSender:
    """Sends callbacks into the system from a few background threads, each at its due time. A 5xx
    or no connection is retried with doubling backoff under the same X-EXTERNAL-ID (the system
    then answers a retry of a call it did act on without acting twice); a 2xx or 4xx is final."""

    def __init__(self, poster: SignedPoster | None, workers: int) -> None:
        self._poster = poster
        self._workers = max(1, workers)
        self._threads: list[threading.Thread] = []
        self._heap: list[Delivery] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._generation = 0
        self._in_flight = 0
        self._stopped = False
        self._stats: Counter[str] = Counter()
        self._last_error = ""
        self.retries = BankFaults.callback_retries
        self.retry_ms = BankFaults.callback_retry_ms

    def schedule(self, items: list[tuple[float, str, bytes]], counts: Counter[str]) -> None:
        """Queue (due time, path below the API, JSON body) deliveries; `counts` adds to the stats."""
        with self._cond:
            self._stats.update(counts)
            if not items:
                return
            for due, path, body in items:
                delivery = Delivery(
                    due, next(self._seq), path, body, uuid.uuid4().hex, self._generation
                )
                heapq.heappush(self._heap, delivery)
            self._stats["scheduled"] += len(items)
            self._start_workers()
            self._cond.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            keys = ("scheduled", "delivered", "refused", "retried", "given_up")
            stats = {key: self._stats[key] for key in keys}
            stats.update({key: self._stats[key] for key in ("lost", "late", "duplicated")})
            return {
                "pending": len(self._heap) + self._in_flight,
                **stats,
                "last_error": self._last_error,
            }

    def reset(self) -> None:
        with self._cond:
            self._heap.clear()
            self._generation += 1
            self._stats.clear()
            self._last_error = ""

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        """Wait for the threads to finish what they are sending (tests)."""
        for thread in self._threads:
            thread.join(timeout)

    def _start_workers(self) -> None:
        while len(self._threads) < self._workers:
            worker = threading.Thread(
                target=self._work, name=f"bank-callbacks-{len(self._threads)}", daemon=True
            )
            self._threads.append(worker)
            worker.start()

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            outcome, detail = self._send(delivery)
            self._settle(delivery, outcome, detail)
        if self._poster is not None:
            # A keep-alive connection left open holds a server thread (and its database
            # connection) on the system's side.
            self._poster.disconnect()

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopped:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0].due - time.time()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._in_flight += 1
                return heapq.heappop(self._heap)
            return None

    def _send(self, delivery: Delivery) -> tuple[str, str]:
        if self._poster is None:
            return "given_up", "no signing secret: set --secret or PRAKERJA_BANK_SANDBOX_SECRET_*"
        try:
            status, text = self._poster.post(delivery.path, delivery.body, delivery.external_id)
        except (OSError, http.client.HTTPException) as error:
            return "retry", f"POST {delivery.path}: {error!r}"
        if status >= 500:
            return "retry", f"POST {delivery.path}: HTTP {status}"
        if status >= 400:
            return "refused", f"POST {delivery.path}: HTTP {status} {text[:300]}"
        return "delivered", ""

    def _settle(self, delivery: Delivery, outcome: str, detail: str) -> None:
        with self._cond:
            self._in_flight -= 1
            if delivery.generation != self._generation:
                return  # sent before a reset: it belongs to forgotten transfers
            if detail:
                self._last_error = detail
            if outcome == "retry" and delivery.attempt < self.retries and not self._stopped:
                delivery.due = time.time() + self.retry_ms / 1000 * 2**delivery.attempt
                delivery.attempt += 1
                delivery.seq = next(self._seq)
                heapq.heappush(self._heap, delivery)
                self._stats["retried"] += 1
                self._cond.notify()
                return
            self._stats["given_up" if outcome == "retry" else outcome] += 1


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class Notifier:
    """Turns new outcomes into callback deliveries, applying the callback faults by hash."""

    def __init__(self, seed: int, sender: CallbackSender) -> None:
        self._seed = seed
        self._sender = sender

    def transfers(self, transfers: list[Transfer], faults: BankFaults) -> None:
        items: list[tuple[float, str, bytes]] = []
        counts: Counter[str] = Counter()
        for t in transfers:
            times = self._times(t.instruction_id, t.settle_ts, faults, counts)
            if not times:
                continue
            body = _encode(
                {
                    "status": t.outcome,
                    "reason_code": t.reason_code,
                    "settled_at": t.settled_at,
                    "partner_reference": t.partner_reference,
                }
            )
            path = f"/transfers/{t.instruction_id}/result"
            items += [(due, path, body) for due in times]
        self._sender.schedule(items, counts)

    def batch(self, batch_id: str, transfers: list[Transfer], faults: BankFaults) -> None:
        if not transfers:
            return
        counts: Counter[str] = Counter()
        times = self._times(batch_id, max(t.settle_ts for t in transfers), faults, counts)
        body = _encode({"results": [t.result() for t in transfers]}) if times else b""
        path = f"/transfer-batches/{batch_id}/results"
        self._sender.schedule([(due, path, body) for due in times], counts)

    def _times(self, key: str, due: float, faults: BankFaults, counts: Counter[str]) -> list[float]:
        """When to send the callback of `key`: never (lost), once, or twice (duplicated)."""
        if (
            faults.lost_callback_rate
            and _share(self._seed, "lost", key) < faults.lost_callback_rate
        ):
            counts["lost"] += 1
            return []
        if (
            faults.late_callback_rate
            and _share(self._seed, "late", key) < faults.late_callback_rate
        ):
            counts["late"] += 1
            due += faults.late_callback_ms / 1000
        rate = faults.duplicate_callback_rate
        if rate and _share(self._seed, "duplicate", key) < rate:
            counts["duplicated"] += 1
            return [due, due]
        return [due]


# --- request parsing ------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return Response.json(
        {"error": {"code": code, "message": message, "details": details or {}}}, status
    )


def _invalid(details: dict[str, Any]) -> Response:
    return _error(422, "VALIDATION_FAILED", "the body is not valid; see details", details)


def _object(request: Request) -> dict[str, Any] | None:
    try:
        data = request.json()
    except ValueError:  # not JSON, or not UTF-8
        return None
    return data if isinstance(data, dict) else None


def _instruction(data: Any, where: str, errors: dict[str, str]) -> Instruction | None:
    """The instruction in `data`, or None after adding what is wrong to `errors` (keys prefixed
    with `where`)."""
    if not isinstance(data, dict):
        errors[where.rstrip(".") or "body"] = "must be an object"
        return None
    instruction_id: Any = data.get("instruction_id")
    account: Any = data.get("account_number")
    amount: Any = data.get("amount_idr")
    description: Any = data.get("description", "")
    before = len(errors)
    if not isinstance(instruction_id, str) or not ID_PATTERN.match(instruction_id):
        errors[f"{where}instruction_id"] = ID_RULE
    if not isinstance(account, str) or not ACCOUNT_PATTERN.match(account):
        errors[f"{where}account_number"] = "1 to 64 characters without spaces or '/'"
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors[f"{where}amount_idr"] = "a whole number of rupiah above 0"
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        errors[f"{where}description"] = f"text of at most {MAX_DESCRIPTION} characters"
    if len(errors) > before:
        return None
    return Instruction(instruction_id, account, amount, description)


def _account(data: Any, where: str, account_type: str, errors: dict[str, str]) -> Account | None:
    if not isinstance(data, dict):
        errors[where.rstrip(".")] = "must be an object"
        return None
    before = len(errors)
    values = {
        "account_type": data.get("account_type", account_type),
        "account_number": data.get("account_number"),
        "nik": data.get("nik"),
        "holder_name": data.get("holder_name"),
        "kyc_level": data.get("kyc_level", "upgraded"),
        "status": data.get("status", "active"),
        "phone_changed": data.get("phone_changed", False),
        "fail_reason": data.get("fail_reason", ""),
    }
    if values["account_type"] != account_type:
        errors[f"{where}account_type"] = f"this institution holds {account_type} accounts"
    number = values["account_number"]
    if not isinstance(number, str) or not ACCOUNT_PATTERN.match(number):
        errors[f"{where}account_number"] = "1 to 64 characters without spaces or '/'"
    if not isinstance(values["nik"], str) or not NIK_PATTERN.match(values["nik"]):
        errors[f"{where}nik"] = "16 digits"
    name = values["holder_name"]
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors[f"{where}holder_name"] = "1 to 100 characters"
    if values["kyc_level"] not in KYC_LEVELS:
        errors[f"{where}kyc_level"] = f"one of {', '.join(KYC_LEVELS)}"
    if values["status"] not in ACCOUNT_STATUSES:
        errors[f"{where}status"] = f"one of {', '.join(ACCOUNT_STATUSES)}"
    if not isinstance(values["phone_changed"], bool):
        errors[f"{where}phone_changed"] = "true or false"
    if values["fail_reason"] not in ("", *REASON_CODES):
        errors[f"{where}fail_reason"] = f"empty or one of {', '.join(REASON_CODES)}"
    if len(errors) > before:
        return None
    return Account(**values)


def _batch_totals_problem(data: dict[str, Any], items: list[Instruction]) -> dict[str, Any] | None:
    count, total = data.get("control_count"), data.get("control_sum_idr")
    counted, summed = len(items), sum(item.amount_idr for item in items)
    if type(count) is int and type(total) is int and (count, total) == (counted, summed):
        return None
    return {
        "control_count": count,
        "control_sum_idr": total,
        "counted": counted,
        "summed_idr": summed,
    }


# --- the HTTP service -----------------------------------------------------------------------------


class BankSandboxApp(SandboxApp):
    """A sandbox whose control routes (paths starting "/_" other than /_faults, and the page at
    "/") answer through a second, fault-free router, so an outage or an error rate set for the
    system's calls never hides the sandbox's own books from a test or an operator."""

    def __init__(self, name: str, bank: Bank, sender: CallbackSender) -> None:
        super().__init__(name)
        self.bank = bank
        self.sender = sender
        self.bank_faults = BankFaults()
        self.control = SandboxApp(f"{name}-control")
        # Seconds added to the real clock: `POST /_clock` lets a simulation of 2020 date the
        # transfers and statements in 2020, as the system it talks to does.
        self.clock_offset_s = 0.0

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/" or (path.startswith("/_") and path != "/_faults"):
            return self.control.handle(request)
        return super().handle(request)

    def set_bank_faults(self, faults: BankFaults) -> None:
        # One reference swap: a request in flight keeps the consistent set it read.
        self.bank_faults = faults
        self.sender.retries = faults.callback_retries
        self.sender.retry_ms = faults.callback_retry_ms

    def close(self) -> None:
        """Stop the callback threads (for tests; a sandbox process just exits)."""
        self.sender.close()


@dataclass(frozen=True)
class BankConfig:
    name: str
    account_type: str = ""  # default: virtual_account for bni, e_wallet otherwise
    seed: int = 0
    system_url: str = "http://127.0.0.1:8000"  # the system's base; callbacks go below API_PATH
    partner: str = ""  # default: the name
    secret: str = ""
    callback_workers: int = 4
    callback_timeout_s: float = 10.0


def institution_account_type(name: str) -> str:
    return "virtual_account" if name in VIRTUAL_ACCOUNT_INSTITUTIONS else "e_wallet"


def create_app(config: BankConfig, faults: BankFaults | None = None) -> BankSandboxApp:
    bank = Bank(
        config.name, config.account_type or institution_account_type(config.name), config.seed
    )
    poster = None
    if config.secret:
        poster = SignedPoster(
            config.system_url,
            config.partner or config.name,
            config.secret,
            config.callback_timeout_s,
        )
    app = BankSandboxApp(config.name, bank, CallbackSender(poster, config.callback_workers))
    app.set_bank_faults(faults or BankFaults())
    _system_routes(app, Notifier(config.seed, app.sender))
    _control_routes(app)
    return app


def _system_routes(app: BankSandboxApp, notifier: Notifier) -> None:
    bank = app.bank

    @app.route("POST", "/account-inquiry")
    def inquiry(request: Request) -> Response:
        data = _object(request)
        if data is None:
            return _invalid({"body": "must be a JSON object"})
        errors = {}
        if data.get("account_type") not in ACCOUNT_TYPES:
            errors["account_type"] = f"one of {', '.join(ACCOUNT_TYPES)}"
        number, nik = data.get("account_number"), data.get("nik")
        if not isinstance(number, str) or not ACCOUNT_PATTERN.match(number):
            errors["account_number"] = "1 to 64 characters without spaces or '/'"
        if not isinstance(nik, str) or not NIK_PATTERN.match(nik):
            errors["nik"] = "16 digits"
        if errors:
            return _invalid(errors)
        answer = bank.inquire(str(data["account_type"]), str(number), str(nik))
        if answer is None:
            return _error(404, "ACCOUNT_NOT_FOUND", "no such account at this institution")
        return Response.json(answer)

    @app.route("POST", "/transfers")
    def transfer(request: Request) -> Response:
        errors: dict[str, str] = {}
        item = _instruction(_object(request), "", errors)
        if item is None:
            return _invalid(errors)
        faults, now = app.bank_faults, app.now()
        transfer, created = bank.transfer(item, faults, now)
        if transfer is None:
            return _reused(item.instruction_id)
        first_async = created and transfer.accepted_first
        if first_async:
            notifier.transfers([transfer], faults)
        if created and _loses_answer(bank.seed, item.instruction_id, faults):
            return _lost_answer(faults)
        return Response.json(transfer.accepted() if first_async else transfer.answer(now))

    @app.route("POST", "/transfer-batches")
    def transfer_batch(request: Request) -> Response:
        data = _object(request)
        if data is None:
            return _invalid({"body": "must be a JSON object"})
        parsed = _batch(data)
        if isinstance(parsed, Response):
            return parsed
        batch_id, items = parsed
        faults = app.bank_faults
        record, new, created = bank.batch(batch_id, items, faults, app.now())
        if record is None:
            return _error(
                409, "BATCH_ID_REUSED", "this batch id came before with other instructions"
            )
        if faults.callback_batch:
            notifier.batch(batch_id, new, faults)
        else:
            notifier.transfers(new, faults)
        if created and _loses_answer(bank.seed, batch_id, faults):
            return _lost_answer(faults)
        return Response.json(record.answer)

    @app.route("GET", "/transfers/{instruction_id}")
    def transfer_status(request: Request) -> Response:
        found = bank.status(request.params["instruction_id"])
        if found is None:
            return _error(404, "TRANSFER_NOT_FOUND", "this institution never received it")
        return Response.json(found.answer(app.now()))

    @app.route("GET", "/transfer-batches/{batch_id}")
    def batch_results(request: Request) -> Response:
        batch_id = request.params["batch_id"]
        results = bank.batch_results(batch_id, app.now())
        if results is None:
            return _error(404, "BATCH_NOT_FOUND", "this institution never received it")
        return Response.json({"batch_id": batch_id, "results": results})

    @app.route("GET", "/statements/{day}")
    def statement(request: Request) -> Response:
        day, as_csv = request.params["day"], False
        if day.endswith(".csv"):
            day, as_csv = day[:-4], True
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError:
            return _invalid({"date": "yyyy-mm-dd"})
        lines = [
            (t.instruction_id, t.amount_idr, t.outcome, t.partner_reference)
            for t in bank.statement(day, app.now())
        ]
        if as_csv:
            return Response(200, _csv(lines).encode(), "text/csv; charset=utf-8")
        rows = [dict(zip(STATEMENT_HEADER, line, strict=True)) for line in lines]
        return Response.json({"statement_date": day, "lines": rows})


def _batch(data: dict[str, Any]) -> tuple[str, list[Instruction]] | Response:
    """The batch id and instructions, or the answer refusing the batch whole."""
    batch_id, raw = data.get("batch_id"), data.get("instructions")
    if not isinstance(batch_id, str) or not ID_PATTERN.match(batch_id):
        return _invalid({"batch_id": ID_RULE})
    if not isinstance(raw, list) or not raw:
        return _invalid({"instructions": "a list of at least one instruction"})
    if len(raw) > MAX_BATCH:
        return _error(
            422,
            "CONTROL_TOTALS_MISMATCH",
            f"a batch holds at most {MAX_BATCH} instructions",
            {"max_instructions": MAX_BATCH, "counted": len(raw)},
        )
    errors: dict[str, str] = {}
    items = [_instruction(one, f"instructions[{n}].", errors) for n, one in enumerate(raw)]
    if errors:
        return _invalid(dict(itertools.islice(errors.items(), 20)))
    instructions = [item for item in items if item is not None]
    problem = _batch_totals_problem(data, instructions)
    if problem is not None:
        return _error(
            422,
            "CONTROL_TOTALS_MISMATCH",
            "control_count and control_sum_idr do not match the instructions",
            problem,
        )
    return batch_id, instructions


def _reused(instruction_id: str) -> Response:
    return _error(
        409,
        "INSTRUCTION_ID_REUSED",
        "this instruction id came before with another account or amount",
        {"instruction_id": instruction_id},
    )


def _loses_answer(seed: int, key: str, faults: BankFaults) -> bool:
    """Only a first receipt loses its answer: a re-send must be able to learn the outcome."""
    return (
        bool(faults.lost_answer_rate) and _share(seed, "lost_answer", key) < faults.lost_answer_rate
    )


def _lost_answer(faults: BankFaults) -> Response:
    """The transfer is recorded, but its answer never comes: the caller's timeout fires first."""
    time.sleep(faults.hang_s)
    return _error(504, "GATEWAY_TIMEOUT", "the answer was lost (sandbox lost_answer fault)")


def _csv(lines: list[tuple[str, int, str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(STATEMENT_HEADER)
    writer.writerows(lines)
    return out.getvalue()


def _control_routes(app: BankSandboxApp) -> None:
    bank, control = app.bank, app.control

    @control.route("GET", "/_bank_faults")
    def show_faults(request: Request) -> Response:
        return Response.json(asdict(app.bank_faults))

    @control.route("POST", "/_bank_faults")
    def set_faults(request: Request) -> Response:
        data = _object(request)
        if data is None:
            return Response.json({"error": "body must be a JSON object"}, 400)
        try:
            app.set_bank_faults(app.bank_faults.updated(data))
        except ValueError as problem:
            return Response.json({"error": str(problem)}, 400)
        return Response.json(asdict(app.bank_faults))

    @control.route("POST", "/_accounts")
    def add_accounts(request: Request) -> Response:
        data = _object(request)
        raw = data.get("accounts") if data else None
        if not isinstance(raw, list):
            return _invalid({"accounts": "a list of accounts"})
        errors: dict[str, str] = {}
        accounts = [
            _account(one, f"accounts[{n}].", bank.account_type, errors) for n, one in enumerate(raw)
        ]
        if errors:
            return _invalid(dict(itertools.islice(errors.items(), 20)))
        total = bank.add_accounts([a for a in accounts if a is not None])
        return Response.json({"received": len(raw), "accounts": total})

    @control.route("GET", "/_accounts/{account_number}")
    def show_account(request: Request) -> Response:
        account = bank.account(request.params["account_number"])
        if account is None:
            return _error(404, "ACCOUNT_NOT_FOUND", "no such account at this institution")
        return Response.json(asdict(account))

    @control.route("GET", "/_totals")
    def totals(request: Request) -> Response:
        return Response.json(bank.totals(app.now()))

    @control.route("GET", "/_clock")
    def show_clock(request: Request) -> Response:
        return Response.json(_clock(app))

    @control.route("POST", "/_clock")
    def set_clock(request: Request) -> Response:
        data = _object(request) or {}
        try:
            moment = datetime.fromisoformat(str(data.get("now")))
        except ValueError:
            return _invalid({"now": "an ISO 8601 time with its offset"})
        if moment.tzinfo is None:
            return _invalid({"now": "an ISO 8601 time with its offset"})
        app.clock_offset_s = moment.timestamp() - time.time()
        return Response.json(_clock(app))

    @control.route("GET", "/_callbacks")
    def callbacks(request: Request) -> Response:
        return Response.json(app.sender.snapshot())

    @control.route("POST", "/_reset")
    def reset(request: Request) -> Response:
        data = _object(request) or {}
        bank.reset(accounts=data.get("accounts") is True)
        app.sender.reset()
        app.clock_offset_s = 0.0
        return Response.json({"reset": True})

    @control.route("GET", "/")
    def page(request: Request) -> Response:
        return Response.html(_page(app))


def _clock(app: BankSandboxApp) -> dict[str, Any]:
    return {
        "now": datetime.fromtimestamp(app.now(), WIB).isoformat(timespec="seconds"),
        "offset_s": round(app.clock_offset_s, 3),
    }


# --- the page -------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>{title}</title>
<style>
body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; }}
header {{ background: #0b5cab; color: #fff; padding: 12px 16px; }}
h1 {{ font-size: 1.25rem; margin: 0; }}
main {{ max-width: 60rem; margin: 0 auto; padding: 16px; }}
.note {{ background: #fff4ce; border-radius: 8px; padding: 8px 12px; }}
.scroll {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ text-align: left; padding: 6px 8px; border-bottom: 1px solid #d5dbe3; }}
td.amount {{ text-align: right; white-space: nowrap; }}
.failed {{ color: #a4262c; }}
</style>
</head>
<body>
<header><h1>{title}</h1></header>
<main>
<p class="note">Ini sandbox: tidak ada uang yang benar-benar dikirim. Halaman diperbarui setiap
5 detik.</p>
<p>{summary}</p>
<p>Mode: <strong>{mode}</strong> · gangguan: {faults}</p>
{items}
</main>
</body>
</html>
"""


def _page(app: BankSandboxApp) -> str:
    totals = app.bank.totals(app.now())
    faults = app.bank_faults
    summary = (
        f"{totals['received_count']} transfer diterima · {totals['success_count']} berhasil "
        f"({format_rupiah(totals['success_sum_idr'])}) · {totals['failed_count']} gagal · "
        f"{totals['accepted_count']} diproses"
    )
    rates = ", ".join(f"{code} {share:.0%}" for code, share in faults.fail_rates.items())
    transfers = app.bank.recent(50)
    if not transfers:
        items = "<p>Belum ada transfer.</p>"
    else:
        now = app.now()
        rows = "".join(_row(t, now) for t in transfers)
        items = (
            '<div class="scroll"><table><thead><tr><th>Diterima (WIB)</th><th>Instruksi</th>'
            "<th>Rekening</th><th>Jumlah</th><th>Status</th><th>Alasan</th><th>Referensi</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div>"
        )
    return _PAGE.format(
        title=html.escape(f"Lembaga keuangan {app.bank.name.upper()} (sandbox)"),
        summary=html.escape(summary),
        mode=html.escape(faults.mode),
        faults=html.escape(rates or "tidak ada"),
        items=items,
    )


def _row(t: Transfer, now: float) -> str:
    answer = t.answer(now)
    masked = "…" + t.account_number[-4:]  # a page others may see: no full account numbers
    css = ' class="failed"' if answer["status"] == "failed" else ""
    cells = (
        t.received_at[:19].replace("T", " "),
        t.instruction_id,
        masked,
        format_rupiah(t.amount_idr),
        answer["status"],
        answer["reason_code"] or "",
        t.partner_reference,
    )
    escaped = [html.escape(str(cell)) for cell in cells]
    return (
        f"<tr{css}><td>{escaped[0]}</td><td>{escaped[1]}</td><td>{escaped[2]}</td>"
        f'<td class="amount">{escaped[3]}</td><td>{escaped[4]}</td><td>{escaped[5]}</td>'
        f"<td>{escaped[6]}</td></tr>"
    )


# --- command line ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    urls = bank_urls()
    parser.add_argument(
        "--name",
        dest="institution",  # "name" is the sandbox command's own choice of sandbox
        default=next(iter(urls), "bni"),
        help="Institution code (bni, linkaja, ovo, gopay); the port is its PRAKERJA_BANK_URLS one.",
    )
    parser.add_argument("--account-type", choices=ACCOUNT_TYPES, default="")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the hashed fault choices.")
    parser.add_argument(
        "--system-url",
        default=env.get("PRAKERJA_PUBLIC_URL"),
        help="Base URL of the system that receives the callbacks.",
    )
    parser.add_argument("--partner", default="", help="Partner code of callbacks (default: name).")
    parser.add_argument(
        "--secret",
        default="",
        help="Signing secret of callbacks. Prefer PRAKERJA_BANK_SANDBOX_SECRET_<NAME>: a command "
        "line is visible to other users of the machine.",
    )
    parser.add_argument("--callback-workers", type=int, default=4)
    _add_fault_arguments(parser)


def _add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default=BankFaults.mode)
    parser.add_argument(
        "--fail-rate",
        action="append",
        default=[],
        metavar="REASON=SHARE",
        help=f"Fail that share of transfers with REASON ({', '.join(REASON_CODES)}); repeatable.",
    )
    parser.add_argument("--callback-delay-ms", type=int, default=BankFaults.callback_delay_ms)
    parser.add_argument("--callback-batch", action="store_true")
    for rate in ("duplicate-callback", "late-callback", "lost-callback", "lost-answer"):
        parser.add_argument(f"--{rate}-rate", type=float, default=0.0)
    parser.add_argument("--late-callback-ms", type=int, default=BankFaults.late_callback_ms)
    parser.add_argument("--hang-s", type=float, default=BankFaults.hang_s)
    parser.add_argument("--accept-unknown-accounts", action="store_true")


def faults_from_options(options: Mapping[str, Any]) -> BankFaults:
    values: dict[str, Any] = {}
    for name in (
        "mode",
        "callback_delay_ms",
        "callback_batch",
        "duplicate_callback_rate",
        "late_callback_rate",
        "late_callback_ms",
        "lost_callback_rate",
        "lost_answer_rate",
        "hang_s",
        "accept_unknown_accounts",
    ):
        if options.get(name) is not None:
            values[name] = options[name]
    rates: dict[str, float] = {}
    for item in options.get("fail_rate") or []:
        code, separator, share = str(item).partition("=")
        if not separator:
            raise ValueError(f"--fail-rate {item!r}: expected REASON=SHARE")
        rates[code.strip().upper()] = float(share)
    values["fail_rates"] = rates
    return BankFaults().updated(values)


def default_port(options: Mapping[str, Any]) -> int:
    """The port of the institution's URL in PRAKERJA_BANK_URLS, so sandbox and adapter agree."""
    urls = bank_urls()
    name = options.get("institution") or next(iter(urls), "bni")
    if name not in urls:
        raise ValueError(f"no URL for {name!r} in PRAKERJA_BANK_URLS: add one or pass --port")
    return urlsplit(urls[name]).port or 80


def _signing_secret(name: str, partner: str, given: str) -> str:
    # Named per institution, so these variables cannot be rows of env.TABLE; they are optional.
    secret = given or os.environ.get(f"PRAKERJA_BANK_SANDBOX_SECRET_{name.upper()}", "")
    if secret:
        return secret
    from django.db import DatabaseError

    from prakerja.common.errors import NotFound
    from prakerja.partners.selectors import partner_credentials

    try:
        return partner_credentials(partner).secret
    except (NotFound, DatabaseError):
        return ""  # callbacks are then given up, and /_callbacks says why


def build_app(options: dict[str, Any], data_dir: Path) -> SandboxApp:
    """Keeps everything in memory (a restart forgets transfers and the book), so `data_dir` is
    unused."""
    name = str(options.get("institution") or "bni")
    partner = str(options.get("partner") or name)
    config = BankConfig(
        name=name,
        account_type=str(options.get("account_type") or ""),
        seed=int(options.get("seed") or 0),
        system_url=str(options.get("system_url") or env.get("PRAKERJA_PUBLIC_URL")),
        partner=partner,
        secret=_signing_secret(name, partner, str(options.get("secret") or "")),
        callback_workers=int(options.get("callback_workers") or 4),
    )
    return create_app(config, faults_from_options(options))
