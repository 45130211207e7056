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

The learner (`--learner`, PRAKERJA_PLATFORM_SANDBOX_LEARNER; see learner.py): on every verified
`voucher.issued` event a background thread redeems the voucher, reports progress 50 % and 100 % and
completes it with a certificate this sandbox serves, `--learner-pace` seconds apart. The same calls,
one at a time, for tests and partner engineers (each answers {"status", "body"} with the system's
answer; 502 when the system cannot be reached, 400 without a partner code and signing secret):

    POST /_vouchers/redeem {"voucher_code", "platform_user_ref"?}
                             without platform_user_ref, the voucher's status is looked up first
                             and the user is sandbox-user-<participant_ref>
    POST /_orders/{order_id}/progress {"percent", "sessions_attended"?}
    POST /_orders/{order_id}/complete {"final_score"?}
                             certificate SBX-<order_id>, served at /certificates/SBX-<order_id>
    GET  /learner            {"enabled", "pace_s", "journeys": [{voucher_code, order_id, state,
                             steps, failures, last_error, certificate_number, …}]}
    GET  /certificates/{number}
                             the certificate as a small HTML page ("Sertifikat"); 404 when unknown

The shared fault switches (POST /_faults) apply to every route, so a test or a demo can make the
platform answer 500 or 503 for a while and watch the system retry.

Who it is: `--partner CODE` (or PRAKERJA_PLATFORM_SANDBOX_PARTNER); its signing secret and webhook
secret are read from the database through partner_credentials when the sandbox runs against the
system's database, unless given by --secret / --webhook-secret (or their PRAKERJA_PLATFORM_SANDBOX_*
variables). Without a webhook secret every webhook is refused; without a signing secret /_call is.
"""

import argparse
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from prakerja.config import env
from prakerja.integrations.platform.client import ApiAnswer, PartnerApiClient
from prakerja.integrations.platform.learner import (
    FINAL_SCORE,
    CertificateStore,
    Learner,
    LearnerConfig,
    NotConfigured,
    certificate_page,
)
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
    parser.add_argument(
        "--learner",
        action=argparse.BooleanOptionalAction,
        default=env.get_bool("PRAKERJA_PLATFORM_SANDBOX_LEARNER"),
        help="Play a learner on every voucher.issued event: redeem, progress, complete.",
    )
    parser.add_argument(
        "--learner-pace",
        type=float,
        default=LearnerConfig.pace_s,
        metavar="SECONDS",
        help="Pause of the learner before each of its steps.",
    )
    parser.add_argument(
        "--public-url",
        default="",
        help="Base URL of this sandbox in certificate links (default: the address the system "
        "reached it at).",
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
    """Keeps received events and journeys in memory only (a restart forgets them); the
    certificates it issued are kept under `data_dir`, so the links the portal shows keep working."""
    return create_app(
        identity_from_options(options),
        learner=LearnerConfig(
            enabled=bool(options.get("learner")),
            pace_s=float(options.get("learner_pace") or 0.0),
            public_url=options.get("public_url") or "",
        ),
        certificates=CertificateStore(data_dir / "sandbox-platform" / "certificates.jsonl"),
    )


def create_app(
    identity: PlatformIdentity,
    *,
    timeout: float = 10.0,
    learner: LearnerConfig | None = None,
    certificates: CertificateStore | None = None,
) -> SandboxApp:
    store = EventStore()
    verifier = Webhook(identity.webhook_secret) if identity.webhook_secret else None
    app = SandboxApp("platform")
    player = Learner(
        partner=identity.partner,
        secret=identity.secret,
        system_url=identity.system_url,
        config=learner or LearnerConfig(),
        certificates=certificates or CertificateStore(),
        timeout=timeout,
    )

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
        if first and isinstance(payload, dict) and payload.get("type") == "voucher.issued":
            player.on_voucher_issued(payload.get("data"), _own_url(request))
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

    @app.route("POST", "/_vouchers/redeem")
    def redeem(request: Request) -> Response:
        order = _object(request)
        code = order.get("voucher_code")
        if not isinstance(code, str) or not code:
            return Response.json({"error": "body must be {voucher_code, platform_user_ref?}"}, 400)
        user_ref = order.get("platform_user_ref")
        return _relay(lambda: player.redeem(code, str(user_ref) if user_ref else None))

    @app.route("POST", "/_orders/{order_id}/progress")
    def progress(request: Request) -> Response:
        order_id = int(request.params["order_id"])
        order = _object(request)
        percent, sessions = order.get("percent"), order.get("sessions_attended")
        if isinstance(percent, bool) or not isinstance(percent, int):
            return Response.json({"error": "body must be {percent, sessions_attended?}"}, 400)
        if not (sessions is None or _whole(sessions)):
            return Response.json({"error": "body must be {percent, sessions_attended?}"}, 400)
        return _relay(lambda: player.progress(order_id, percent, sessions))

    @app.route("POST", "/_orders/{order_id}/complete")
    def complete(request: Request) -> Response:
        order_id = int(request.params["order_id"])
        score = _object(request).get("final_score", FINAL_SCORE)
        if not _whole(score):
            return Response.json({"error": "body must be {final_score?}"}, 400)
        return _relay(lambda: player.complete(order_id, _own_url(request), score))

    @app.route("GET", "/learner")
    def journeys(request: Request) -> Response:
        return Response.json(
            {
                "enabled": player.config.enabled,
                "pace_s": player.config.pace_s,
                "journeys": player.journeys(),
            }
        )

    @app.route("GET", "/certificates/{number}")
    def certificate(request: Request) -> Response:
        found = player.certificates.get(request.params["number"])
        return Response.html(certificate_page(found, identity.partner), 200 if found else 404)

    return app


def _own_url(request: Request) -> str:
    """This sandbox's base URL as the caller reached it."""
    return f"http://{request.headers.get('host') or '127.0.0.1'}"


def _object(request: Request) -> dict[str, Any]:
    order = request.json()
    if order is None:
        return {}
    if not isinstance(order, dict):
        raise ValueError("the body must be a JSON object")
    return order


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _relay(call: Callable[[], ApiAnswer]) -> Response:
    """Make a signed call and answer the system's answer as {"status", "body"}."""
    try:
        answer = call()
    except NotConfigured as problem:
        return Response.json({"error": str(problem)}, 400)
    except httpx.HTTPError as problem:
        return Response.json({"error": f"system unreachable: {problem!r}"}, 502)
    return Response.json({"status": answer.status, "body": answer.body})
