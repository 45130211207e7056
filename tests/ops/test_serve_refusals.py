"""`prakerja serve` answers the requests gunicorn refuses by itself — a request line too long, a
header too large, too many headers, a request line that is not HTTP — with the contract's JSON error
body (ops/gunicorn_worker.py), not gunicorn's HTML page. Sent as raw bytes over a socket to a real
server; no database is involved (the refusals come before Django)."""

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from prakerja.common.errors import (
    ApplicationError,
    BadRequest,
    InternalError,
    RequestHeadersTooLarge,
    UriTooLong,
)
from prakerja.ops.bench.processes import free_port
from prakerja.ops.gunicorn_worker import refusal_answer
from prakerja.ops.processes import prakerja_argv, wait_until_up


@dataclass(frozen=True)
class Served:
    port: int
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`prakerja serve` with one worker on a free port; its output (gunicorn's log and the access
    log) kept in a file."""
    data_dir = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["PRAKERJA_DATA_DIR"] = str(data_dir)
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            prakerja_argv("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
            yield Served(port, log)
        finally:
            process.terminate()
            process.wait(timeout=30)


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` byte for byte; read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def expected(error: type[ApplicationError]) -> dict[str, object]:
    message = f"{error.message_id} / {error.message_en}"
    return {"error": {"code": error.code, "message": message, "details": {}}}


HOST = b"Host: 127.0.0.1\r\n"
LONG_URL = b"GET /api/partner/v1/orders?cursor=" + b"a" * 10_000 + b" HTTP/1.1\r\n" + HOST + b"\r\n"
LARGE_HEADER = b"GET /api/partner/v1/orders HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 100_000
MANY_HEADERS = (
    b"GET /api/partner/v1/orders HTTP/1.1\r\n"
    + HOST
    + b"".join(b"X-Header-%d: %d\r\n" % (i, i) for i in range(200))
)
GARBAGE = b"\x16\x03\x01 this is not HTTP at all\r\n\r\n"
BAD_HEADER = b"GET /api/partner/v1/orders HTTP/1.1\r\n" + HOST + b"Bad Header Name: x\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status", "error"),
    [
        (LONG_URL, 414, UriTooLong),
        (LARGE_HEADER + b"\r\n\r\n", 431, RequestHeadersTooLarge),
        (MANY_HEADERS + b"\r\n", 431, RequestHeadersTooLarge),
        (GARBAGE, 400, BadRequest),
        (BAD_HEADER, 400, BadRequest),
    ],
    ids=["10-kB-url", "100-kB-header", "200-headers", "garbage-request-line", "bad-header-name"],
)
def test_a_request_gunicorn_cannot_read_is_answered_with_the_contracts_json(
    server: Served, request_bytes: bytes, status: int, error: type[ApplicationError]
):
    # when a request gunicorn refuses is sent
    answered, headers, body = exchange(server.port, request_bytes)

    # then the answer is the contract's JSON, both languages in the message
    assert answered == status
    assert headers == {
        "connection": "close",
        "content-type": "application/json",
        "content-length": str(len(body)),
    }
    assert json.loads(body) == expected(error)
    assert body == json.dumps(expected(error)).encode()


def test_gunicorn_s_own_status_line_and_log_are_kept(server: Served):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(LONG_URL)
        first_line = connection.makefile("rb").readline()

    assert first_line == b"HTTP/1.1 414 URI Too Long\r\n"
    # gunicorn still logs each refusal as a warning (and the access line), as without the worker
    assert "Invalid request from ip=127.0.0.1" in server.log.read_text()


def test_requests_gunicorn_reads_still_reach_django(server: Served):
    # an unknown API path is answered by Django's middleware, Indonesian by default
    status, headers, body = exchange(
        server.port,
        b"GET /api/partner/v1/tidak-ada HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n",
    )

    assert (status, headers["content-type"]) == (404, "application/json")
    assert json.loads(body) == {
        "error": {
            "code": "PATH_NOT_FOUND",
            "message": "Alamat ini tidak ada di API. Periksa path dan versinya di dokumentasi.",
            "details": {"path": "/api/partner/v1/tidak-ada"},
        }
    }


def test_a_status_gunicorn_may_add_later_is_json_too():
    raw = refusal_answer(417, "Expectation Failed")

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"HTTP/1.1 417 Expectation Failed",
        b"Connection: close",
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
    ]
    assert json.loads(body) == expected(BadRequest)
    assert json.loads(refusal_answer(500).partition(b"\r\n\r\n")[2]) == expected(InternalError)
