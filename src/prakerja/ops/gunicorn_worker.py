"""The web process's gunicorn worker (`prakerja serve`): gunicorn's gthread worker, but the requests
gunicorn refuses by itself are answered with the contract's JSON error body (partner-api.md)
instead of gunicorn's HTML page.

gunicorn refuses a request it cannot read before any Django code runs: a request line longer than
limit_request_line (414 URI_TOO_LONG), a header longer than limit_request_field_size or more
headers than limit_request_fields (431 REQUEST_HEADERS_TOO_LARGE), a malformed request line or
header (400 BAD_REQUEST). At that point the path is not known (the request line may not even have
been read), so every such refusal is JSON, also on the portal's paths: the APIs' clients branch on
the code, and a browser that sent a request this broken shows plain text either way. Nor is the
language known: the message is Indonesian, then English.

gunicorn chooses the status, logs the refusal and writes the access log line in
Worker.handle_error, and then writes its answer with util.write_error, a module function that
offers no hook. The worker hands handle_error a wrapper of the client's socket that sends the JSON
answer of the status gunicorn chose in place of the page: gunicorn's decisions and logging stay
gunicorn's own, and a refusal a later gunicorn adds is answered in JSON too.
"""

import json
import socket
from http import HTTPStatus
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from prakerja.common.errors import (
    ApplicationError,
    BadRequest,
    InternalError,
    PermissionDenied,
    RequestHeadersTooLarge,
    UriTooLong,
)

# gunicorn's statuses (Worker.handle_error) and the errors that answer them; any other status is
# the client's request gunicorn could not read (BAD_REQUEST), except gunicorn's own failure (500).
REFUSALS: dict[int, type[ApplicationError]] = {
    400: BadRequest,
    403: PermissionDenied,  # a PROXY-protocol line from an address not allowed to send one
    414: UriTooLong,
    431: RequestHeadersTooLarge,
    500: InternalError,
}


def refusal_body(error: ApplicationError) -> dict[str, Any]:
    """The contract's body for a client whose language is not known: both languages."""
    body = error.body("id")
    body["error"]["message"] = f"{error.message('id')} / {error.message('en')}"
    return body


def refusal_answer(status: int, reason: str = "") -> bytes:
    """The whole HTTP answer (status line, headers, JSON body) of a refusal with `status`."""
    error = REFUSALS.get(status, BadRequest)()
    body = json.dumps(refusal_body(error)).encode()
    head = [
        f"HTTP/1.1 {status} {reason or _phrase(status)}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in error.headers().items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _status_of(answer: bytes) -> tuple[int, str]:
    """The status and reason of the answer gunicorn wrote (`HTTP/1.1 414 URI Too Long\\r\\n…`)."""
    parts = answer.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1]), parts[2]
    return 400, ""


class _JsonAnswerSocket:
    """The client's socket as Worker.handle_error uses it (util.write_nonblock: gettimeout,
    setblocking, sendall): what it sends is replaced by the JSON answer of the same status."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(refusal_answer(*_status_of(data)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class JsonRefusalWorker(ThreadWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        super().handle_error(req, _JsonAnswerSocket(client), addr, exc)
