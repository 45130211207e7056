"""`prakerja sandbox platform`: a digital platform's backend as a real HTTP service. It receives the
system's events and verifies each with the Standard Webhooks reference library, exactly as a partner
would, and it calls the partner API on request, signed as a platform's backend does.

    POST /webhooks           the partner's webhook_url: verified with
                             standardwebhooks.webhooks.Webhook(secret).verify(body, headers);
                             200 {"received": true, "duplicate"} when verified (a redelivery of a
                             known webhook-id is acknowledged and not recorded twice), 400 when not
    GET  /events             {"events": [...], "duplicates": n, "refused": n}: the verified events
                             once each, in arrival order, as {webhook_id, type, timestamp, data,
                             received_at, deliveries}
    POST /_call {"method", "path", "body", "external_id"?}
                             makes that signed call to the partner API (path below
                             /api/partner/v1) and answers {"status", "body"} with the system's
                             answer; 502 when the system cannot be reached

The shared fault switches (POST /_faults) apply to every route, so a test or a demo can make the
platform answer 500 or 503 for a while and watch the system retry.

Who it is: `--partner CODE` (or PRAKERJA_PLATFORM_SANDBOX_PARTNER); its signing secret and webhook
secret are read from the database through partner_credentials when the sandbox runs against the
system's database, unless given by --secret / --webhook-secret (or their PRAKERJA_PLATFORM_SANDBOX_*
variables). Without a webhook secret every webhook is refused; without a signing secret /_call is.
"""

import argparse
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from prakerja.config import env
from prakerja.integrations.platform.client import PartnerApiClient
from prakerja.integrations.sandbox import Request, Response, SandboxApp

API_PATH = "/api/partner/v1"


@dataclass
class ReceivedEvent:
    webhook_id: str
    type: str
    timestamp: str
    data: Any
    received_at: str
    deliveries: int = 1


@dataclass
class EventStore:
    """Verified events once each by webhook-id, in arrival order."""

    events: list[ReceivedEvent] = field(default_factory=list)
    by_id: dict[str, ReceivedEvent] = field(default_factory=dict)
    duplicates: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, webhook_id: str, payload: Any) -> bool:
        """Record a verified event; False when its webhook-id was already received."""
        with self.lock:
            known = self.by_id.get(webhook_id)
            if known is not None:
                known.deliveries += 1
                self.duplicates += 1
                return False
            body = payload if isinstance(payload, dict) else {"data": payload}
            event = ReceivedEvent(
                webhook_id=webhook_id,
                type=str(body.get("type", "")),
                timestamp=str(body.get("timestamp", "")),
                data=body.get("data"),
                received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            )
            self.events.append(event)
            self.by_id[webhook_id] = event
            return True

    def refuse(self) -> None:
        with self.lock:
            self.refused += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "events": [asdict(event) for event in self.events],
                "duplicates": self.duplicates,
                "refused": self.refused,
            }


@dataclass(frozen=True)
class PlatformIdentity:
    partner: str = ""
    secret: str = ""  # partner API signing secret
    webhook_secret: str = ""  # "whsec_…"
    system_url: str = ""  # the partner API's base, …/api/partner/v1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partner",
        default=env.get("PRAKERJA_PLATFORM_SANDBOX_PARTNER"),
        help="Partner code this platform acts as; its secrets are read from the database.",
    )
    parser.add_argument(
        "--secret",
        default=env.get("PRAKERJA_PLATFORM_SANDBOX_SECRET"),
        help="Partner API signing secret (instead of the database's). Prefer the environment "
        "variable: a command line is visible to other users of the machine.",
    )
    parser.add_argument(
        "--webhook-secret",
        default=env.get("PRAKERJA_PLATFORM_SANDBOX_WEBHOOK_SECRET"),
        help="Webhook secret whsec_… (instead of the database's).",
    )
    parser.add_argument(
        "--system-url",
        default=env.get("PRAKERJA_PUBLIC_URL").rstrip("/") + API_PATH,
        help="Base URL of the partner API that /_call calls.",
    )


def identity_from_options(options: dict[str, Any]) -> PlatformIdentity:
    """Explicit secrets win; missing ones come from the database when a partner code is given
    (raises prakerja.common.errors.NotFound for an unknown partner or one without a live secret)."""
    partner = options.get("partner") or ""
    secret = options.get("secret") or ""
    webhook_secret = options.get("webhook_secret") or ""
    if partner and not (secret and webhook_secret):
        from prakerja.partners.selectors import partner_credentials

        credentials = partner_credentials(partner)
        secret = secret or credentials.secret
        webhook_secret = webhook_secret or credentials.webhook_secret
    system_url = options.get("system_url") or env.get("PRAKERJA_PUBLIC_URL").rstrip("/") + API_PATH
    return PlatformIdentity(partner, secret, webhook_secret, system_url)


def build_app(options: dict[str, Any], data_dir: Path) -> SandboxApp:
    """Keeps received events in memory only (a restart forgets them), so `data_dir` is unused."""
    return create_app(identity_from_options(options))


def create_app(identity: PlatformIdentity, *, timeout: float = 10.0) -> SandboxApp:
    store = EventStore()
    verifier = Webhook(identity.webhook_secret) if identity.webhook_secret else None
    app = SandboxApp("platform")

    @app.route("POST", "/webhooks")
    def receive(request: Request) -> Response:
        if verifier is None:
            store.refuse()
            return Response.json({"error": "no webhook secret configured"}, 400)
        try:
            payload = verifier.verify(request.body, request.headers)
        except (WebhookVerificationError, ValueError) as problem:  # ValueError: malformed header
            store.refuse()
            return Response.json({"error": f"verification failed: {problem}"}, 400)
        first = store.add(request.headers["webhook-id"], payload)
        return Response.json({"received": True, "duplicate": not first})

    @app.route("GET", "/events")
    def events(request: Request) -> Response:
        return Response.json(store.snapshot())

    @app.route("POST", "/_call")
    def call(request: Request) -> Response:
        if not (identity.partner and identity.secret):
            return Response.json({"error": "no partner code and signing secret configured"}, 400)
        order = request.json()
        if not isinstance(order, dict) or not isinstance(order.get("path"), str):
            return Response.json({"error": "body must be {method, path, body?}"}, 400)
        method = str(order.get("method") or "GET").upper()
        external_id = order.get("external_id")
        with PartnerApiClient(
            identity.system_url, identity.partner, identity.secret, timeout=timeout
        ) as client:
            try:
                answer = client.call(
                    method,
                    order["path"],
                    order.get("body"),
                    str(external_id) if external_id else None,
                )
            except httpx.HTTPError as problem:
                return Response.json({"error": f"system unreachable: {problem!r}"}, 502)
        return Response.json({"status": answer.status, "body": answer.body})

    return app
