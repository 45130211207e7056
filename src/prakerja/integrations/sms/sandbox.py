"""The SMS gateway sandbox (`prakerja sandbox sms`): accepts messages over HTTP like a real gateway,
keeps them in memory instead of sending them, and shows them on an inbox page so that a demo user or
a browser test can read the one-time code that was "sent".

    POST /v1/messages {"to": "+62…", "text": "…", "reference": "…"} -> 202 {"message_id": "sms-…"}
    GET  /v1/messages[?to=+62…]   -> {"messages": [...]} newest first
    GET  /inbox[?to=+62…]         -> HTML page, newest first, refreshes itself
"""

import argparse
import html
import re
import secrets
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prakerja.common.timeutil import format_wib
from prakerja.integrations.sandbox import Request, Response, SandboxApp

E164 = re.compile(r"^\+[0-9]{8,15}$")
MAX_TEXT = 480  # three concatenated GSM-7 segments; longer texts cost more than they help
MAX_REFERENCE = 200


@dataclass(frozen=True)
class Message:
    message_id: str
    to: str
    text: str
    reference: str
    received_at: str


class MessageStore:
    """Messages oldest first, capped at `keep`; a reference maps to its message while it is kept."""

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._keep = keep
        self._messages: deque[Message] = deque()
        self._by_reference: dict[str, Message] = {}
        self._lock = threading.Lock()

    def add(self, *, to: str, text: str, reference: str) -> tuple[Message, bool]:
        """Store a message unless its reference is known; returns (message, created)."""
        with self._lock:
            known = self._by_reference.get(reference)
            if known is not None:
                return known, False
            message = Message(
                message_id=f"sms-{secrets.token_hex(8)}",
                to=to,
                text=text,
                reference=reference,
                received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            )
            self._messages.append(message)
            self._by_reference[reference] = message
            while len(self._messages) > self._keep:
                dropped = self._messages.popleft()
                self._by_reference.pop(dropped.reference, None)
            return message, True

    def newest_first(self, to: str | None = None) -> list[Message]:
        with self._lock:
            snapshot = list(self._messages)
        snapshot.reverse()
        if to:
            return [m for m in snapshot if m.to == to]
        return snapshot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep",
        type=int,
        default=10000,
        help="How many messages to keep in memory (the oldest are dropped).",
    )


def _query_number(request: Request) -> str | None:
    """The `to` filter. An unencoded '+' in a query string means a space, so '?to=+62…' arrives as
    ' 62…'; both that and '%2B62…' mean the same number."""
    raw = request.query.get("to", "").strip()
    if not raw:
        return None
    return raw if raw.startswith("+") else f"+{raw}"


def _validate(data: Any) -> tuple[dict[str, str], str | None]:
    if not isinstance(data, dict):
        return {}, "body must be a JSON object with to, text and reference"
    to, text, reference = data.get("to"), data.get("text"), data.get("reference")
    if not isinstance(to, str) or not E164.match(to):
        return {}, "to must be an E.164 number: '+' and 8 to 15 digits, e.g. +6281234567890"
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
        return {}, f"text must be 1 to {MAX_TEXT} characters"
    if not isinstance(reference, str) or not 1 <= len(reference) <= MAX_REFERENCE:
        return {}, f"reference must be 1 to {MAX_REFERENCE} characters"
    return {"to": to, "text": text, "reference": reference}, None


_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>Kotak masuk SMS (sandbox)</title>
<style>
body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; }}
header {{ background: #0b5cab; color: #fff; padding: 12px 16px; }}
h1 {{ font-size: 1.25rem; margin: 0; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 16px; }}
.note {{ background: #fff4ce; border-radius: 8px; padding: 8px 12px; }}
form {{ display: flex; gap: 8px; flex-wrap: wrap; margin: 16px 0; }}
input, button {{ font: inherit; min-height: 44px; padding: 4px 10px; }}
input {{ flex: 1 1 12rem; }}
ol {{ list-style: none; padding: 0; }}
li {{ background: #eef3f8; border-radius: 10px; padding: 12px 16px; margin: 12px 0; }}
.meta {{ font-size: 14px; color: #4a5260; }}
.text {{ white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 0; }}
</style>
</head>
<body>
<header><h1>Kotak masuk SMS (sandbox)</h1></header>
<main>
<p class="note">Ini sandbox: SMS tidak benar-benar dikirim, hanya ditampilkan di sini.
Halaman diperbarui setiap 5 detik.</p>
<form method="get" action="/inbox">
<label for="to">Nomor</label>
<input id="to" name="to" type="tel" inputmode="tel" placeholder="+6281234567890" value="{to}">
<button type="submit">Tampilkan</button>
</form>
{summary}
{items}
</main>
</body>
</html>
"""


def _inbox_page(messages: list[Message], to: str | None) -> str:
    if to:
        summary = (
            f"<p>{len(messages)} pesan untuk <strong>{html.escape(to)}</strong> · "
            '<a href="/inbox">semua nomor</a></p>'
        )
    else:
        summary = f"<p>{len(messages)} pesan.</p>"
    if not messages:
        items = "<p>Belum ada SMS.</p>"
    else:
        rows = [
            "<li>"
            f'<div class="meta"><strong>{html.escape(m.to)}</strong> · '
            f"{html.escape(format_wib(datetime.fromisoformat(m.received_at)))}</div>"
            f'<p class="text">{html.escape(m.text)}</p>'
            "</li>"
            for m in messages
        ]
        items = "<ol>" + "".join(rows) + "</ol>"
    return _PAGE.format(to=html.escape(to or ""), summary=summary, items=items)


def build_app(options: dict[str, Any], data_dir: Path) -> SandboxApp:
    """The gateway keeps nothing on disk: a restart empties the inbox, like a real SMS vanishing
    into a phone, so `data_dir` is unused."""
    store = MessageStore(int(options.get("keep") or 10000))
    app = SandboxApp("sms")

    @app.route("POST", "/v1/messages")
    def send(request: Request) -> Response:
        fields, error = _validate(request.json())
        if error:
            return Response.json({"error": error}, 422)
        message, _ = store.add(**fields)
        return Response.json({"message_id": message.message_id}, 202)

    @app.route("GET", "/v1/messages")
    def list_messages(request: Request) -> Response:
        messages = store.newest_first(_query_number(request))
        return Response.json({"messages": [asdict(m) for m in messages]})

    @app.route("GET", "/inbox")
    def inbox(request: Request) -> Response:
        to = _query_number(request)
        return Response.html(_inbox_page(store.newest_first(to), to))

    return app
