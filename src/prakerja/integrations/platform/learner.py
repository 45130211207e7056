"""The sandbox platform's learner: for every verified `voucher.issued` event, a background thread
plays the participant on the platform, so the demo shows the whole journey without anyone clicking:

    pause → POST /vouchers/redeem   (platform_user_ref "sandbox-user-<participant_ref>")
    pause → POST /orders/{id}/progress  50 %, half the sessions
    pause → POST /orders/{id}/progress 100 %, every session
    pause → POST /orders/{id}/completion  final score, certificate "SBX-<order id>" with a URL
            on this sandbox (GET /certificates/SBX-<order id>: a small "Sertifikat" page)

Each step is one signed partner-API call with a fresh X-EXTERNAL-ID. A step the system refuses
(any non-2xx answer) is tried again with a fresh external id and a fresh body; a step whose answer
never came (the system unreachable, a timeout) is tried again with the SAME external id and body,
so that if the system did act, it answers its first answer instead of acting twice. After
`attempts` tries the journey stops and records the last error (GET /learner).

The same calls are offered one at a time to tests and partner engineers (the sandbox's manual
routes) through `Learner.redeem`, `Learner.progress` and `Learner.complete`.

A completion seconds after redemption is sooner than any training's duration: the system accepts it
and flags it for review (flag_fast_completion), which the demo's provider evaluation then shows.
"""

import datetime
import html
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from prakerja.common import clock
from prakerja.common.timeutil import WIB, format_wib
from prakerja.integrations.platform.client import ApiAnswer, PartnerApiClient, new_external_id

log = logging.getLogger(__name__)

SESSIONS = 4  # sessions the learner attends in all; half of them by the 50 % report
FINAL_SCORE = 88
CERTIFICATE_PREFIX = "SBX-"
KEEP_JOURNEYS = 5000  # the oldest are forgotten beyond this (memory only)


def certificate_number(order_id: int) -> str:
    return f"{CERTIFICATE_PREFIX}{order_id}"


def sessions_for(percent: int) -> int:
    """Sessions attended by `percent` progress (rounded up: a started session counts)."""
    return math.ceil(max(0, min(percent, 100)) * SESSIONS / 100)


def platform_user_ref(participant_ref: str) -> str:
    return f"sandbox-user-{participant_ref}"


@dataclass(frozen=True)
class LearnerConfig:
    enabled: bool = False
    pace_s: float = 2.0  # pause before each step
    attempts: int = 4  # tries of one step before the journey gives up
    backoff_s: float = 1.0  # wait after the first failed try, doubling after each
    # Base URL of this sandbox in certificate links; "" = the address the system called it at.
    public_url: str = ""


@dataclass
class Journey:
    voucher_code: str
    training_external_id: str
    participant_ref: str
    started_at: str
    order_id: int | None = None
    state: str = "waiting"  # waiting, running, completed, failed
    steps: list[str] = field(default_factory=list)  # redeemed, progress:50, progress:100, completed
    failures: int = 0  # failed tries, retried or not
    last_error: str = ""
    certificate_number: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Certificate:
    number: str
    order_id: int
    training_external_id: str
    final_score: int
    completed_at: str  # ISO 8601 with offset
    participant_ref: str


class CertificateStore:
    """Certificates by number; kept in a JSON-lines file when `path` is given, so the links the
    portal shows keep working after the sandbox restarts."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._by_number: dict[str, Certificate] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    certificate = Certificate(**json.loads(line))
                except (ValueError, TypeError):
                    continue  # a line cut short by a crash mid-write
                self._by_number[certificate.number] = certificate

    def add(self, certificate: Certificate) -> None:
        with self._lock:
            self._by_number[certificate.number] = certificate
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as file:
                    file.write(json.dumps(asdict(certificate)) + "\n")

    def get(self, number: str) -> Certificate | None:
        with self._lock:
            return self._by_number.get(number)


class NotConfigured(Exception):
    """The sandbox has no partner code and signing secret: it cannot call the partner API."""


class StepFailed(Exception):
    pass


def _now() -> str:
    return clock.now().isoformat(timespec="milliseconds")


def _error_of(step: str, answer: ApiAnswer) -> str:
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        reason = str(body["error"].get("code", ""))
    else:
        reason = str(body)[:200]
    return f"{step}: {answer.status} {reason}".rstrip()


class Learner:
    def __init__(
        self,
        *,
        partner: str,
        secret: str,
        system_url: str,
        config: LearnerConfig,
        certificates: CertificateStore,
        timeout: float = 10.0,
    ) -> None:
        self.partner = partner
        self._secret = secret
        self._system_url = system_url
        self.config = config
        self.certificates = certificates
        self._timeout = timeout
        self._lock = threading.Lock()
        self._journeys: dict[str, Journey] = {}  # by voucher code, in arrival order
        # What a redemption told us of an order, for its certificate page.
        self._orders: dict[int, tuple[str, str]] = {}  # order id -> (training, participant ref)

    # --- the partner API, one call at a time ----------------------------------------------------

    def _client(self) -> PartnerApiClient:
        if not (self.partner and self._secret):
            raise NotConfigured("no partner code and signing secret configured")
        return PartnerApiClient(self._system_url, self.partner, self._secret, timeout=self._timeout)

    def _remember(self, answer: ApiAnswer) -> None:
        body = answer.body
        if (
            answer.status == 200
            and isinstance(body, dict)
            and isinstance(body.get("order_id"), int)
        ):
            with self._lock:
                self._orders[body["order_id"]] = (
                    str(body.get("training_external_id", "")),
                    str(body.get("participant_ref", "")),
                )

    def redeem(self, voucher_code: str, user_ref: str | None = None) -> ApiAnswer:
        """Redeem as the platform does. Without `user_ref`, the voucher's status is looked up first
        and the user is `sandbox-user-<participant_ref>` (a refused look-up is the answer)."""
        with self._client() as client:
            if user_ref is None:
                status = client.voucher_status(voucher_code)
                if status.status != 200 or not isinstance(status.body, dict):
                    return status
                user_ref = platform_user_ref(str(status.body.get("participant_ref", "")))
            answer = client.voucher_redeem(voucher_code, user_ref)
        self._remember(answer)
        return answer

    def progress(self, order_id: int, percent: int, sessions: int | None = None) -> ApiAnswer:
        with self._client() as client:
            return client.order_progress(
                order_id,
                percent=percent,
                sessions_attended=sessions_for(percent) if sessions is None else sessions,
                reported_at=clock.now().astimezone(WIB),
            )

    def complete(self, order_id: int, base_url: str, final_score: int = FINAL_SCORE) -> ApiAnswer:
        """Report completion with a certificate served by this sandbox; keeps the certificate
        when the system accepts it."""
        number = certificate_number(order_id)
        completed_at = clock.now().astimezone(WIB)
        with self._client() as client:
            answer = client.order_completion(
                order_id,
                final_score=final_score,
                certificate_number=number,
                certificate_url=self.certificate_url(number, base_url),
                completed_at=completed_at,
            )
        if answer.status == 200:
            self._certify(order_id, final_score, completed_at)
        return answer

    def certificate_url(self, number: str, base_url: str) -> str:
        return f"{(self.config.public_url or base_url).rstrip('/')}/certificates/{number}"

    def _certify(self, order_id: int, final_score: int, completed_at: datetime.datetime) -> str:
        with self._lock:
            training, ref = self._orders.get(order_id, ("", ""))
        number = certificate_number(order_id)
        self.certificates.add(
            Certificate(number, order_id, training, final_score, completed_at.isoformat(), ref)
        )
        return number

    # --- the automatic learner ------------------------------------------------------------------

    def on_voucher_issued(self, data: Any, base_url: str) -> Journey | None:
        """Start a journey for a newly issued voucher (once per voucher code); None when the
        learner is off or the event carries no voucher code."""
        if not self.config.enabled or not isinstance(data, dict):
            return None
        code = data.get("voucher_code")
        if not isinstance(code, str) or not code:
            return None
        with self._lock:
            if code in self._journeys:
                return None
            journey = Journey(
                voucher_code=code,
                training_external_id=str(data.get("training_external_id", "")),
                participant_ref=str(data.get("participant_ref", "")),
                started_at=_now(),
                updated_at=_now(),
            )
            self._journeys[code] = journey
            while len(self._journeys) > KEEP_JOURNEYS:
                del self._journeys[next(iter(self._journeys))]
        threading.Thread(
            target=self._play, args=(journey, base_url), name=f"learner-{code}", daemon=True
        ).start()
        return journey

    def journeys(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(journey) for journey in self._journeys.values()]

    def _update(self, journey: Journey, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(journey, name, value)
            journey.updated_at = _now()

    def _done(self, journey: Journey, step: str) -> None:
        with self._lock:
            journey.steps.append(step)
            journey.updated_at = _now()

    def _play(self, journey: Journey, base_url: str) -> None:
        self._update(journey, state="running")
        try:
            with self._client() as client:
                self._journey(client, journey, base_url)
        except (StepFailed, NotConfigured) as problem:
            self._update(journey, state="failed", last_error=str(problem))
            log.warning("learner stopped on voucher %s: %s", journey.voucher_code, problem)
        except Exception as problem:  # a thread's crash would otherwise vanish silently
            self._update(journey, state="failed", last_error=f"crashed: {problem!r}")
            log.exception("learner crashed on voucher %s", journey.voucher_code)
        else:
            self._update(journey, state="completed")

    def _journey(self, client: PartnerApiClient, journey: Journey, base_url: str) -> None:
        ref = platform_user_ref(journey.participant_ref)
        redeemed = self._step(
            client,
            journey,
            "redeem",
            lambda: (
                "/vouchers/redeem",
                {"voucher_code": journey.voucher_code, "platform_user_ref": ref},
            ),
            accept=_redeemed_before,
        )
        order_id = _order_id_of(redeemed)
        self._update(journey, order_id=order_id)
        if redeemed.status == 200:
            self._remember(redeemed)
        else:
            with self._lock:
                self._orders.setdefault(
                    order_id, (journey.training_external_id, journey.participant_ref)
                )
        self._done(journey, "redeemed")
        for percent in (50, 100):
            self._step(client, journey, f"progress:{percent}", _progress(order_id, percent))
            self._done(journey, f"progress:{percent}")
        number = certificate_number(order_id)
        moments: list[datetime.datetime] = []

        def completion() -> tuple[str, dict[str, Any]]:
            moments.append(clock.now().astimezone(WIB))
            return f"/orders/{order_id}/completion", {
                "completed_at": moments[-1].isoformat(),
                "final_score": FINAL_SCORE,
                "certificate_number": number,
                "certificate_url": self.certificate_url(number, base_url),
            }

        self._step(client, journey, "completion", completion)
        self._certify(order_id, FINAL_SCORE, moments[-1])
        self._update(journey, certificate_number=number)
        self._done(journey, "completed")

    def _step(
        self,
        client: PartnerApiClient,
        journey: Journey,
        step: str,
        request: Callable[[], tuple[str, dict[str, Any]]],
        *,
        accept: Callable[[ApiAnswer], bool] = lambda answer: False,
    ) -> ApiAnswer:
        time.sleep(self.config.pace_s)
        external_id = new_external_id()
        path, body = request()
        error = ""
        for attempt in range(1, self.config.attempts + 1):
            try:
                answer = client.call("POST", path, body, external_id)
            except httpx.HTTPError as problem:
                # No answer: the system may have acted. The same key and body again make it
                # answer its first answer instead of acting twice.
                error = f"{step}: system unreachable: {problem!r}"
            else:
                if 200 <= answer.status < 300 or accept(answer):
                    return answer
                error = _error_of(step, answer)
                # The system keeps a refusal as the answer to its key: a new try needs a new key.
                external_id = new_external_id()
                path, body = request()
            with self._lock:
                journey.failures += 1
                journey.last_error = error
                journey.updated_at = _now()
            if attempt < self.config.attempts:
                time.sleep(self.config.backoff_s * 2 ** (attempt - 1))
        raise StepFailed(error)


def _progress(order_id: int, percent: int) -> Callable[[], tuple[str, dict[str, Any]]]:
    def request() -> tuple[str, dict[str, Any]]:
        return f"/orders/{order_id}/progress", {
            "percent": percent,
            "sessions_attended": sessions_for(percent),
            "reported_at": clock.now().astimezone(WIB).isoformat(),
        }

    return request


def _redeemed_before(answer: ApiAnswer) -> bool:
    """Already redeemed by this platform (a manual call, or a restarted sandbox that got the event
    again): the journey goes on with that order."""
    body = answer.body
    return (
        answer.status == 409
        and isinstance(body, dict)
        and isinstance(body.get("error"), dict)
        and body["error"].get("code") == "VOUCHER_ALREADY_REDEEMED"
        and isinstance(body["error"].get("details", {}).get("order_id"), int)
    )


def _order_id_of(answer: ApiAnswer) -> int:
    body = answer.body
    if answer.status == 200:
        return int(body["order_id"])
    return int(body["error"]["details"]["order_id"])


# --- the certificate page -------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; background: #f4f6f8; }}
main {{ max-width: 36rem; margin: 24px auto; padding: 24px; background: #fff;
  border: 6px double #0b5cab; border-radius: 8px; text-align: center; }}
h1 {{ font-size: 1.75rem; margin: 0 0 8px; color: #0b5cab; letter-spacing: 0.05em; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; text-align: left; }}
dt {{ color: #4a5260; }}
dd {{ margin: 0; font-weight: 600; overflow-wrap: anywhere; }}
.note {{ font-size: 14px; color: #4a5260; }}
</style>
</head>
<body>
<main>
{content}
</main>
</body>
</html>
"""


def certificate_page(certificate: Certificate | None, platform: str) -> str:
    if certificate is None:
        return _PAGE.format(
            title="Sertifikat tidak ditemukan",
            content="<h1>Sertifikat tidak ditemukan</h1>"
            "<p>Tidak ada sertifikat dengan nomor ini di platform sandbox.</p>",
        )
    try:
        completed = format_wib(datetime.datetime.fromisoformat(certificate.completed_at))
    except ValueError:
        completed = certificate.completed_at
    rows = [
        ("Nomor", certificate.number),
        ("Pelatihan", certificate.training_external_id or "—"),
        ("Peserta", certificate.participant_ref or "—"),
        ("Nilai akhir", str(certificate.final_score)),
        ("Tanggal", completed),
        ("Platform", platform or "—"),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{html.escape(value)}</dd>" for name, value in rows)
    return _PAGE.format(
        title=f"Sertifikat {html.escape(certificate.number)}",
        content="<h1>Sertifikat</h1><p>telah menyelesaikan pelatihan</p>"
        f"<dl>{items}</dl>"
        '<p class="note">Sertifikat dari platform sandbox Kartu Prakerja: bukan dokumen '
        "resmi.</p>",
    )
