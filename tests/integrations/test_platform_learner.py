"""The sandbox platform as a learner: on each verified `voucher.issued` event it redeems the voucher,
reports progress and completes it with a certificate it serves itself, all through the signed
partner API of a running system (live server); and the same calls one at a time (manual routes)."""

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.integrations.platform import sandbox as platform_sandbox
from prakerja.integrations.platform.learner import (
    Certificate,
    CertificateStore,
    LearnerConfig,
    sessions_for,
)
from prakerja.integrations.platform.sandbox import (
    PlatformIdentity,
    build_app,
    create_app,
    identity_from_options,
)
from prakerja.integrations.sandbox import Request, Response, SandboxApp, start_in_thread
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.models import Order, OrderStatus
from prakerja.orders.services import order_purchase, participant_ref
from prakerja.orders.vouchers import voucher_code_format
from prakerja.partners.delivery import events_deliver_due
from prakerja.partners.models import OutboundEvent, Partner
from prakerja.partners.selectors import partner_credentials
from prakerja.partners.services import partner_webhook_set
from prakerja.waves.models import Participant, ProgramScheme
from tests.integrations.test_platform import deliver
from tests.orders.kit import (
    BALANCE,
    active_training,
    balance,
    credited,
    payable,
    pending,
    platform,
    scheme_valid_for_a_year,
)

API_PATH = "/api/partner/v1"
BUYER = Actor.system("tests-buyer")
PRICE = 300_000
FAST = LearnerConfig(enabled=True, pace_s=0.0, attempts=4, backoff_s=0.05)


@dataclass
class World:
    partner: Partner
    training: Training
    participant: Participant
    system_url: str


@pytest.fixture
def world(transactional_db: None, live_server: Any) -> World:
    # Transactional tests empty the tables between tests, the data migration's schemes included.
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    scheme_valid_for_a_year()
    partner, _ = platform("sandboxplat")
    training = active_training(partner, "kelas-sandbox-1", price=PRICE, hours=12)
    (participant,) = credited(1)
    return World(partner, training, participant, f"{live_server.url}{API_PATH}")


@pytest.fixture
def sandbox_for(world: World) -> Iterator[Callable[..., str]]:
    """Start the platform sandbox of `world.partner` (its secrets read from the database) pointed at
    `system_url`, with its webhook URL registered; returns the sandbox's base URL."""
    stops: list[Callable[[], None]] = []

    def start(
        config: LearnerConfig = FAST, system_url: str | None = None, timeout: float = 10.0
    ) -> str:
        identity = identity_from_options(
            {"partner": world.partner.code, "system_url": system_url or world.system_url}
        )
        url, stop = start_in_thread(create_app(identity, learner=config, timeout=timeout))
        stops.append(stop)
        partner_webhook_set(partner=world.partner, url=f"{url}/webhooks", actor=BUYER)
        return url

    yield start
    for stop in stops:
        stop()


def journeys_when_settled(url: str, count: int = 1, seconds: float = 30) -> list[dict[str, Any]]:
    """The sandbox's journeys once `count` of them have completed or failed."""
    deadline = time.monotonic() + seconds
    while True:
        journeys = httpx.get(f"{url}/learner").json()["journeys"]
        settled = [j for j in journeys if j["state"] in ("completed", "failed")]
        if len(settled) >= count or time.monotonic() > deadline:
            return journeys
        time.sleep(0.05)


def without_times(journey: dict[str, Any]) -> dict[str, Any]:
    assert journey.pop("started_at") and journey.pop("updated_at")
    return journey


def test_the_learner_redeems_progresses_and_completes_a_bought_voucher(world, sandbox_for):
    # given the platform's sandbox playing a learner, and a participant who buys its training
    url = sandbox_for()
    order = order_purchase(participant=world.participant, training=world.training, actor=BUYER)
    ref = participant_ref(platform=world.partner, participant=world.participant)

    # when the system delivers voucher.issued to the sandbox
    delivered = events_deliver_due()

    # then the sandbox redeems, reports 50 % and 100 % and completes, each accepted
    assert delivered.delivered == delivered.claimed  # with the training's status change
    assert OutboundEvent.objects.get(event_type="voucher.issued").delivered_at is not None
    journeys = journeys_when_settled(url)
    assert [without_times(j) for j in journeys] == [
        {
            "voucher_code": voucher_code_format(order.voucher_code),
            "training_external_id": "kelas-sandbox-1",
            "participant_ref": ref,
            "order_id": order.pk,
            "state": "completed",
            "steps": ["redeemed", "progress:50", "progress:100", "completed"],
            "failures": 0,
            "last_error": "",
            "certificate_number": f"SBX-{order.pk}",
        }
    ]
    order.refresh_from_db()
    assert (
        order.status,
        order.platform_user_ref,
        order.percent,
        order.sessions_attended,
        order.final_score,
        order.certificate_number,
        order.certificate_url,
        order.flag_fast_completion,  # seconds after redemption, sooner than 12 hours
    ) == (
        OrderStatus.COMPLETED,
        f"sandbox-user-{ref}",
        100,
        4,
        88,
        f"SBX-{order.pk}",
        f"{url}/certificates/SBX-{order.pk}",
        True,
    )
    assert list(
        AuditEvent.objects.filter(subject_id=str(order.pk), event_type__startswith="order.")
        .order_by("pk")
        .values_list("event_type", "actor_label")
    ) == [
        ("order.purchased", "system:tests-buyer"),
        ("order.redeemed", "partner:sandboxplat"),
        ("order.progress_reported", "partner:sandboxplat"),
        ("order.progress_reported", "partner:sandboxplat"),
        ("order.completed", "partner:sandboxplat"),
    ]
    # the money: the price left the balance at purchase and became payable at redemption
    assert (balance(world.participant), pending(world.partner), payable(world.partner)) == (
        BALANCE - PRICE,
        0,
        PRICE,
    )
    assert ledger_integrity_report().ok

    # and the certificate link the portal shows answers with the certificate
    page = httpx.get(order.certificate_url)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    for text in ("<h1>Sertifikat</h1>", f"SBX-{order.pk}", "kelas-sandbox-1", ref, "88"):
        assert text in page.text


def test_a_redelivered_event_starts_no_second_journey(world, sandbox_for):
    # given a journey played to the end
    url = sandbox_for()
    order = order_purchase(participant=world.participant, training=world.training, actor=BUYER)
    events_deliver_due()
    journeys_when_settled(url)
    event = OutboundEvent.objects.get(event_type="voucher.issued")

    # when the same event arrives again (at least once delivery), signed as the system signs it
    body = (
        '{"type":"voucher.issued","timestamp":"2020-04-22T10:36:00+00:00","data":{"voucher_code":"'
        + voucher_code_format(order.voucher_code)
        + '"}}'
    )
    secret = partner_credentials(world.partner.code).webhook_secret
    again = deliver(url, body, f"evt_{event.pk}", secret=secret)

    # then it is acknowledged as a duplicate and nothing is played again
    assert again.json() == {"received": True, "duplicate": True}
    time.sleep(0.2)
    journeys = httpx.get(f"{url}/learner").json()["journeys"]
    assert [(j["order_id"], j["state"]) for j in journeys] == [(order.pk, "completed")]
    assert AuditEvent.objects.filter(event_type="order.redeemed").count() == 1


class FlakyProxy(SandboxApp):
    """Forwards every request to the system unchanged (the signature covers method, path, body,
    timestamp and external id, not the host), except that it answers 503 to the first `refuse`
    redeem calls without forwarding them, and holds the first `hold` completion answers for
    `hold_s` seconds after the system has answered (the caller times out: the system DID act)."""

    def __init__(self, target: str, *, refuse: int = 0, hold: int = 0, hold_s: float = 0) -> None:
        super().__init__("flaky-proxy")
        self.target = target.rstrip("/")
        self.refuse, self.hold, self.hold_s = refuse, hold, hold_s
        self.seen: list[tuple[str, str]] = []  # (path, X-EXTERNAL-ID)

    def handle(self, request: Request) -> Response:
        self.seen.append((request.path, request.headers.get("x-external-id", "")))
        if request.path.endswith("/vouchers/redeem") and self.refuse:
            self.refuse -= 1
            return Response.json({"error": "try later"}, 503)
        headers = {k: v for k, v in request.headers.items() if k.startswith("x-")}
        if request.body:
            headers["content-type"] = "application/json"
        answer = httpx.request(
            request.method, self.target + request.path, content=request.body, headers=headers
        )
        if request.path.endswith("/completion") and self.hold:
            self.hold -= 1
            time.sleep(self.hold_s)
        return Response(answer.status_code, answer.content)


def test_a_refused_step_is_retried_with_a_new_external_id(world, sandbox_for, live_server):
    # given the system behind a proxy that refuses the first two redemptions with 503
    proxy = FlakyProxy(live_server.url, refuse=2)
    proxy_url, stop_proxy = start_in_thread(proxy)
    try:
        url = sandbox_for(system_url=f"{proxy_url}{API_PATH}")
        order = order_purchase(participant=world.participant, training=world.training, actor=BUYER)

        # when the learner plays the voucher
        events_deliver_due()
        (journey,) = journeys_when_settled(url)

        # then it tried the redemption three times, each under a new key, and went on to the end
        assert (journey["state"], journey["failures"], journey["steps"][-1]) == (
            "completed",
            2,
            "completed",
        )
        assert journey["last_error"] == "redeem: 503 {'error': 'try later'}"
        redeem_keys = [key for path, key in proxy.seen if path.endswith("/vouchers/redeem")]
        assert len(redeem_keys) == len(set(redeem_keys)) == 3
        order.refresh_from_db()
        assert order.status == OrderStatus.COMPLETED
    finally:
        stop_proxy()


def test_a_step_without_an_answer_is_retried_with_the_same_key_and_acts_once(
    world, sandbox_for, live_server
):
    # given a proxy that holds the first completion answer past the learner's timeout
    proxy = FlakyProxy(live_server.url, hold=1, hold_s=7)
    proxy_url, stop_proxy = start_in_thread(proxy)
    try:
        url = sandbox_for(system_url=f"{proxy_url}{API_PATH}", timeout=5)
        order = order_purchase(participant=world.participant, training=world.training, actor=BUYER)

        # when the learner plays the voucher
        events_deliver_due()
        (journey,) = journeys_when_settled(url)

        # then the completion was sent again under the same key, and the system completed once
        assert (journey["state"], journey["failures"]) == ("completed", 1)
        assert journey["last_error"].startswith("completion: system unreachable: ReadTimeout")
        completion_keys = [key for path, key in proxy.seen if path.endswith("/completion")]
        assert len(completion_keys) == 2
        assert len(set(completion_keys)) == 1
        assert AuditEvent.objects.filter(event_type="order.completed").count() == 1
        order.refresh_from_db()
        assert order.status == OrderStatus.COMPLETED
    finally:
        stop_proxy()


def test_a_step_refused_every_time_stops_the_journey_with_the_last_error(world, sandbox_for):
    # given a voucher.issued event for a code the system does not know
    url = sandbox_for()
    secret = partner_credentials(world.partner.code).webhook_secret
    body = (
        '{"type":"voucher.issued","timestamp":"2020-04-22T10:36:00+00:00",'
        '"data":{"voucher_code":"0000-0000-0000-0","participant_ref":"pk_x"}}'
    )

    # when it arrives
    assert deliver(url, body, "evt_unknown", secret=secret).status_code == 200

    # then the learner tried the redemption four times and recorded why it stopped
    (journey,) = journeys_when_settled(url)
    assert without_times(journey) == {
        "voucher_code": "0000-0000-0000-0",
        "training_external_id": "",
        "participant_ref": "pk_x",
        "order_id": None,
        "state": "failed",
        "steps": [],
        "failures": 4,
        "last_error": "redeem: 404 VOUCHER_NOT_FOUND",
        "certificate_number": "",
    }
    assert Order.objects.count() == 0


def test_the_manual_routes_make_each_signed_call_and_answer_the_system(world, sandbox_for):
    # given the sandbox with the learner off, and a voucher bought
    url = sandbox_for(LearnerConfig())
    order = order_purchase(participant=world.participant, training=world.training, actor=BUYER)
    code = voucher_code_format(order.voucher_code)
    ref = participant_ref(platform=world.partner, participant=world.participant)

    def post(path: str, body: Any) -> tuple[int, Any]:
        answer = httpx.post(f"{url}{path}", json=body, timeout=30)
        return answer.status_code, answer.json()

    # redeem: the voucher's status is looked up for the user reference, then it is redeemed
    assert post("/_vouchers/redeem", {"voucher_code": code}) == (
        200,
        {
            "status": 200,
            "body": {
                "order_id": order.pk,
                "training_external_id": "kelas-sandbox-1",
                "price_idr": PRICE,
                "participant_ref": ref,
            },
        },
    )
    status, again = post("/_vouchers/redeem", {"voucher_code": code})
    assert (status, again["status"], again["body"]["error"]["code"]) == (
        200,
        409,
        "VOUCHER_ALREADY_REDEEMED",
    )
    # progress, never backwards
    assert post(f"/_orders/{order.pk}/progress", {"percent": 30}) == (
        200,
        {"status": 200, "body": {"order_id": order.pk, "percent": 30}},
    )
    status, back = post(f"/_orders/{order.pk}/progress", {"percent": 20})
    assert (back["status"], back["body"]["error"]["code"]) == (409, "PROGRESS_BACKWARDS")
    # completion with the given score and the sandbox's certificate
    assert post(f"/_orders/{order.pk}/complete", {"final_score": 91}) == (
        200,
        {"status": 200, "body": {"order_id": order.pk, "status": "completed"}},
    )
    status, twice = post(f"/_orders/{order.pk}/complete", {})
    assert (twice["status"], twice["body"]["error"]["code"]) == (409, "ORDER_ALREADY_COMPLETED")

    order.refresh_from_db()
    assert (
        order.status,
        order.platform_user_ref,
        order.percent,
        order.sessions_attended,
        order.final_score,
        order.certificate_number,
        order.certificate_url,
    ) == (
        OrderStatus.COMPLETED,
        f"sandbox-user-{ref}",
        100,
        sessions_for(30),
        91,
        f"SBX-{order.pk}",
        f"{url}/certificates/SBX-{order.pk}",
    )
    assert sessions_for(30) == 2
    page = httpx.get(order.certificate_url)
    assert page.status_code == 200
    assert "kelas-sandbox-1" in page.text and "91" in page.text
    missing = httpx.get(f"{url}/certificates/SBX-999999")
    assert missing.status_code == 404
    assert "Sertifikat tidak ditemukan" in missing.text
    # the learner is off: it played nothing
    assert httpx.get(f"{url}/learner").json() == {
        "enabled": False,
        "pace_s": 2.0,
        "journeys": [],
    }
    assert ledger_integrity_report().ok


def test_another_platforms_voucher_is_refused_through_the_manual_route(world, sandbox_for):
    # given a voucher of another platform's training
    other, _ = platform("otherplat")
    theirs = active_training(other, "kelas-lain", price=PRICE)
    order = order_purchase(participant=world.participant, training=theirs, actor=BUYER)
    code = voucher_code_format(order.voucher_code)
    url = sandbox_for(LearnerConfig())

    # when the sandbox platform looks it up, then tries to redeem it with a user reference
    looked_up = httpx.post(f"{url}/_vouchers/redeem", json={"voucher_code": code}).json()
    redeemed = httpx.post(
        f"{url}/_vouchers/redeem", json={"voucher_code": code, "platform_user_ref": "u-1"}
    ).json()

    # then a partner sees only its own vouchers, and cannot redeem another's
    assert (looked_up["status"], looked_up["body"]["error"]["code"]) == (404, "VOUCHER_NOT_FOUND")
    assert (redeemed["status"], redeemed["body"]["error"]["code"]) == (
        403,
        "VOUCHER_OTHER_PLATFORM",
    )
    order.refresh_from_db()
    assert (order.status, order.platform_user_ref) == (OrderStatus.ISSUED, "")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_vouchers/redeem", {}),
        ("/_vouchers/redeem", [1]),
        ("/_orders/12/progress", {"percent": "50"}),
        ("/_orders/12/progress", {"percent": 50, "sessions_attended": True}),
        ("/_orders/abc/progress", {"percent": 50}),
        ("/_orders/12/complete", {"final_score": 9.5}),
    ],
)
def test_a_malformed_manual_call_is_refused_with_400_before_calling_anyone(path, body):
    url, stop = start_in_thread(create_app(PlatformIdentity("p", "s", "", "http://127.0.0.1:9")))
    try:
        assert httpx.post(f"{url}{path}", json=body).status_code == 400
    finally:
        stop()


def test_the_manual_routes_need_credentials_and_a_reachable_system():
    unconfigured, stop = start_in_thread(create_app(PlatformIdentity()))
    gone, stop_gone = start_in_thread(create_app(PlatformIdentity()))
    stop_gone()
    unreachable, stop_unreachable = start_in_thread(
        create_app(PlatformIdentity("p", "s", "", f"{gone}{API_PATH}"), timeout=1)
    )
    try:
        answer = httpx.post(f"{unconfigured}/_orders/1/complete", json={})
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": "no partner code and signing secret configured"},
        )
        answer = httpx.post(f"{unreachable}/_orders/1/progress", json={"percent": 10})
        assert answer.status_code == 502
        assert answer.json()["error"].startswith("system unreachable")
    finally:
        stop()
        stop_unreachable()


def test_certificates_are_kept_across_a_restart(tmp_path: Path):
    # given a certificate kept by one sandbox
    path = tmp_path / "sandbox-platform" / "certificates.jsonl"
    first = CertificateStore(path)
    kept = Certificate("SBX-7", 7, "kelas-7", 90, "2020-04-22T17:36:00+07:00", "pk_abc")
    first.add(kept)

    # when a new sandbox starts on the same data folder (a line cut short by a crash is skipped)
    with path.open("a") as file:
        file.write('{"number": "SBX-8", "order_')
    url, stop = start_in_thread(build_app({}, tmp_path))
    try:
        page = httpx.get(f"{url}/certificates/SBX-7")
    finally:
        stop()

    # then it still serves the certificate
    assert CertificateStore(path).get("SBX-7") == kept
    assert page.status_code == 200
    for text in ("SBX-7", "kelas-7", "pk_abc", "90", "22 Apr 2020 17.36 WIB"):
        assert text in page.text


def test_the_learner_is_switched_on_by_flag_or_environment(monkeypatch):
    def parsed(*argv: str) -> dict[str, Any]:
        parser = argparse.ArgumentParser()
        platform_sandbox.add_arguments(parser)
        return vars(parser.parse_args(argv))

    monkeypatch.delenv("PRAKERJA_PLATFORM_SANDBOX_LEARNER", raising=False)
    assert (parsed()["learner"], parsed()["learner_pace"]) == (False, 2.0)
    options = parsed("--learner", "--learner-pace", "0.5", "--public-url", "http://p.test")
    assert (options["learner"], options["learner_pace"], options["public_url"]) == (
        True,
        0.5,
        "http://p.test",
    )
    monkeypatch.setenv("PRAKERJA_PLATFORM_SANDBOX_LEARNER", "true")
    assert parsed()["learner"] is True
    assert parsed("--no-learner")["learner"] is False
