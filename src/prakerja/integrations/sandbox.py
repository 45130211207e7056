"""A small base for sandbox services: real HTTP services (standard-library WSGI, one thread per
request) that stand in for the population registry, the SMS gateway and, later, the financial
institutions, with faults that tests and operators switch on at run time.

Every sandbox answers `GET /healthz` and `GET|POST /_faults`. POSTing
`{"outage": true}` makes every other route answer 503 until `{"outage": false}`; `latency_ms` delays
every answer; `error_rate` (0–1) answers that share with 500; `timeout_rate` (0–1) holds that share of
requests for `hang_s` seconds so the caller's timeout fires. Faults are also CLI flags at start.
"""

import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


@dataclass
class Faults:
    outage: bool = False
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 30.0

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {key!r}")
            setattr(self, key, type(getattr(self, key))(value))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, data: Any, status: int = 200) -> "Response":
        return cls(status, json.dumps(data, ensure_ascii=False).encode())

    @classmethod
    def html(cls, text: str, status: int = 200) -> "Response":
        return cls(status, text.encode(), "text/html; charset=utf-8")


Handler = Callable[[Request], Response]
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SandboxApp:
    def __init__(self, name: str, faults: Faults | None = None, seed: int = 0) -> None:
        self.name = name
        self.faults = faults or Faults()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler; `{name}` in the pattern captures one path segment into params."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def register(handler: Handler) -> Handler:
            self._routes.append((method, regex, handler))
            return handler

        return register

    def handle(self, request: Request) -> Response:
        if request.path == "/healthz":
            return Response.json({"service": self.name, "ok": True})
        if request.path == "/_faults":
            if request.method == "POST":
                try:
                    self.faults.update(request.json() or {})
                except (ValueError, TypeError) as error:
                    return Response.json({"error": str(error)}, 400)
            return Response.json(asdict(self.faults))
        injected = self._inject_faults()
        if injected is not None:
            return injected
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                return handler(request)
        return Response.json({"error": "not found"}, 404)

    def _inject_faults(self) -> Response | None:
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.outage:
            return Response.json({"error": f"{self.name} unavailable (sandbox outage)"}, 503)
        with self._lock:
            roll = self._random.random()
        if roll < faults.timeout_rate:
            time.sleep(faults.hang_s)
            return Response.json({"error": "late answer (sandbox timeout fault)"}, 504)
        if roll < faults.timeout_rate + faults.error_rate:
            return Response.json({"error": "sandbox error fault"}, 500)
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = Request(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", "/"),
            query={k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()},
            headers={
                k[5:].replace("_", "-").lower(): v
                for k, v in environ.items()
                if k.startswith("HTTP_")
            },
            body=environ["wsgi.input"].read(length) if length else b"",
        )
        try:
            response = self.handle(request)
        except (ValueError, KeyError, TypeError) as error:
            response = Response.json({"error": f"bad request: {error}"}, 400)
        start_response(
            f"{response.status} {_REASONS.get(response.status, 'Status')}",
            [("Content-Type", response.content_type), ("Content-Length", str(len(response.body)))],
        )
        return [response.body]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # a sandbox's request log would repeat NIKs and phone numbers; keep logs clean


def serve(app: SandboxApp, host: str, port: int) -> None:
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    print(f"sandbox {app.name} listening on http://{host}:{port}/", flush=True)
    server.serve_forever()


def start_in_thread(
    app: SandboxApp, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """For tests: serve `app` on a free port in this process; returns (base URL, stop)."""
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://{host}:{server.server_port}", stop
