"""Callbacks to the system: signed as a partner's call, scheduled (late, duplicated, lost as the
faults say), retried while the system answers 5xx or cannot be reached."""

import heapq
import http.client
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from prakerja.common.timeutil import WIB
from prakerja.integrations.bank.sandbox.faults import BankFaults, drawn_share
from prakerja.integrations.bank.sandbox.records import API_PATH, Transfer
from prakerja.partners.signing import signed_headers


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
            and drawn_share(self._seed, "lost", key) < faults.lost_callback_rate
        ):
            counts["lost"] += 1
            return []
        if (
            faults.late_callback_rate
            and drawn_share(self._seed, "late", key) < faults.late_callback_rate
        ):
            counts["late"] += 1
            due += faults.late_callback_ms / 1000
        rate = faults.duplicate_callback_rate
        if rate and drawn_share(self._seed, "duplicate", key) < rate:
            counts["duplicated"] += 1
            return [due, due]
        return [due]
