"""Helpers for driving a bank sandbox over HTTP: its control plane, and a small stand-in for the
system's callback endpoints that verifies every call's signature as the partner API does."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from prakerja.common.timeutil import WIB
from prakerja.integrations.bank.sandbox import BankConfig, BankFaults, BankSandboxApp, create_app
from prakerja.integrations.sandbox import Faults, Request, Response, SandboxApp, start_in_thread
from prakerja.partners.signing import signature, string_to_sign

PARTNER = "ovo"
SECRET = "bank-sandbox-test-secret"
API = "/api/partner/v1"


@dataclass(frozen=True)
class Callback:
    path: str
    body: Any
    external_id: str
    received_at: float


@dataclass
class Receiver:
    """The system's side of the callbacks: answers 503 to the first `fail_first` calls, then 200;
    records the verified calls and counts the ones whose signature did not verify."""

    fail_first: int = 0
    calls: list[Callback] = field(default_factory=list)
    attempt_ids: list[str] = field(default_factory=list)  # X-EXTERNAL-ID of every verified call
    refused: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> SandboxApp:
        app = SandboxApp("system")

        @app.route("POST", API + "/transfers/{instruction_id}/result")
        def transfer_result(request: Request) -> Response:
            return self._receive(request)

        @app.route("POST", API + "/transfer-batches/{batch_id}/results")
        def batch_results(request: Request) -> Response:
            return self._receive(request)

        return app

    def _receive(self, request: Request) -> Response:
        if not _verified(request):
            with self.lock:
                self.refused += 1
            return Response.json({"error": {"code": "SIGNATURE_INVALID"}}, 401)
        with self.lock:
            self.attempt_ids.append(request.headers["x-external-id"])
            if self.failed < self.fail_first:
                self.failed += 1
                return Response.json({"error": "try later"}, 503)
            self.calls.append(
                Callback(
                    request.path, request.json(), request.headers["x-external-id"], time.time()
                )
            )
        return Response.json({"ok": True})

    def reset(self, fail_first: int = 0) -> None:
        with self.lock:
            self.calls.clear()
            self.attempt_ids.clear()
            self.fail_first, self.failed, self.refused = fail_first, 0, 0

    def snapshot(self) -> list[Callback]:
        with self.lock:
            return list(self.calls)


def _verified(request: Request) -> bool:
    headers = request.headers
    try:
        sent = datetime.fromisoformat(headers["x-timestamp"])
        text = string_to_sign(
            method=request.method,
            path_with_query=request.path,
            body=request.body,
            timestamp=headers["x-timestamp"],
            external_id=headers["x-external-id"],
        )
    except (KeyError, ValueError):
        return False
    return (
        headers.get("x-partner-id") == PARTNER
        and abs(datetime.now(WIB) - sent) <= timedelta(minutes=5)
        and signature(SECRET, text) == headers.get("x-signature")
    )


@dataclass(frozen=True)
class Running:
    app: BankSandboxApp
    url: str


@contextmanager
def running_bank(
    name: str = PARTNER,
    *,
    seed: int = 0,
    system_url: str = "http://127.0.0.1:9",
    faults: BankFaults | None = None,
    secret: str = SECRET,
) -> Iterator[Running]:
    app = create_app(
        BankConfig(name=name, seed=seed, system_url=system_url, partner=PARTNER, secret=secret),
        faults,
    )
    url, stop = start_in_thread(app)
    try:
        yield Running(app, url)
    finally:
        stop()
        app.close()


@contextmanager
def running_receiver(fail_first: int = 0) -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(fail_first=fail_first)
    url, stop = start_in_thread(receiver.app())
    try:
        yield receiver, url
    finally:
        stop()


def account(number: str, **overrides: Any) -> dict[str, Any]:
    values = {
        "account_type": "e_wallet",
        "account_number": number,
        "nik": "3201010101900001",
        "holder_name": "Siti Rahmawati",
        "kyc_level": "upgraded",
        "status": "active",
        "phone_changed": False,
    }
    values.update(overrides)
    return values


def register(url: str, *accounts: dict[str, Any]) -> None:
    answer = httpx.post(f"{url}/_accounts", json={"accounts": list(accounts)})
    assert answer.status_code == 200, answer.text


def set_bank_faults(url: str, **faults: Any) -> None:
    answer = httpx.post(f"{url}/_bank_faults", json=faults)
    assert answer.status_code == 200, answer.text


def set_faults(url: str, **faults: Any) -> None:
    assert httpx.post(f"{url}/_faults", json=faults).status_code == 200


def totals(url: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/_totals")
    assert answer.status_code == 200
    return dict(answer.json())


def callback_stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_callbacks").json())


def reset_bank(url: str) -> None:
    """Back to a new sandbox's state: no transfers, accounts or pending callbacks, no faults."""
    assert httpx.post(f"{url}/_reset", json={"accounts": True}).status_code == 200
    set_bank_faults(url, **asdict(BankFaults()))
    set_faults(url, **asdict(Faults()))
    wait_callbacks_done(url)  # deliveries already on the wire land before the next test starts


def wait_for(condition: Any, timeout: float = 10.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def wait_callbacks_done(url: str, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the sandbox has no callback pending; returns its callback stats."""
    wait_for(lambda: callback_stats(url)["pending"] == 0, timeout)
    return callback_stats(url)


EMPTY_TOTALS = {
    "success_count": 0,
    "success_sum_idr": 0,
    "failed_count": 0,
    "by_reason": {},
    "accepted_count": 0,
    "received_count": 0,
}
