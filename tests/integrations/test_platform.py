"""The platform sandbox (`prakerja sandbox platform`) and its partner API client: webhooks verified
with the Standard Webhooks reference library, and calls signed per partner-api.md that the real
partner API accepts."""

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from prakerja.common.errors import NotFound
from prakerja.integrations.platform.client import ApiAnswer, PartnerApiClient, path_segment
from prakerja.integrations.platform.sandbox import (
    PlatformIdentity,
    build_app,
    create_app,
    identity_from_options,
)
from prakerja.integrations.sandbox import start_in_thread
from prakerja.partners.selectors import partner_credentials
from prakerja.partners.services import partner_create

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
API = "http://testserver/api/partner/v1"
TRAINING = {
    "title": "Excel untuk Admin Kantor",
    "category": "Perkantoran",
    "description": "Rumus, tabel pivot dan grafik untuk pekerjaan administrasi sehari-hari.",
    "price_idr": 500_000,
    "price_outside_program_idr": 750_000,
    "duration_hours": 12,
    "sessions": 6,
    "delivery": "self_paced",
    "institution": {"external_id": "lpk-1", "name": "LPK Maju Jaya", "owned_by_platform": False},
    "url": "https://platform.example/kelas/excel",
}


@pytest.fixture
def sandbox() -> Iterator[str]:
    url, stop = start_in_thread(create_app(PlatformIdentity("p", "s", SECRET, "")))
    yield url
    stop()


def deliver(url: str, payload: str, msg_id: str, secret: str = SECRET, **headers: str) -> Any:
    now = datetime.datetime.now(datetime.UTC)
    signed = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, payload),
    }
    signed.update(headers)
    return httpx.post(f"{url}/webhooks", content=payload.encode(), headers=signed)


def test_a_verified_webhook_is_recorded_once_in_arrival_order(sandbox):
    # given two signed events, the first sent twice
    first = '{"type":"voucher.issued","timestamp":"2020-04-22T10:36:00+00:00","data":{"v":1}}'
    second = '{"type":"voucher.expired","timestamp":"2020-04-22T10:37:00+00:00","data":{"v":2}}'

    # when they are delivered
    answers = [
        deliver(sandbox, first, "evt_1"),
        deliver(sandbox, second, "evt_2"),
        deliver(sandbox, first, "evt_1"),
    ]

    # then each is acknowledged, the redelivery as a duplicate, and each is shown once in order
    assert [(a.status_code, a.json()) for a in answers] == [
        (200, {"received": True, "duplicate": False}),
        (200, {"received": True, "duplicate": False}),
        (200, {"received": True, "duplicate": True}),
    ]
    shown = httpx.get(f"{sandbox}/events").json()
    for event in shown["events"]:
        assert event.pop("received_at")
    assert shown == {
        "events": [
            {
                "webhook_id": "evt_1",
                "type": "voucher.issued",
                "timestamp": "2020-04-22T10:36:00+00:00",
                "data": {"v": 1},
                "deliveries": 2,
            },
            {
                "webhook_id": "evt_2",
                "type": "voucher.expired",
                "timestamp": "2020-04-22T10:37:00+00:00",
                "data": {"v": 2},
                "deliveries": 1,
            },
        ],
        "duplicates": 1,
        "refused": 0,
    }


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="},  # another secret
        {"webhook-signature": "v1,AAAA"},  # wrong signature
        {"webhook-signature": "garbage"},  # malformed header
        {"webhook-timestamp": str(int(time.time()) - 3600)},  # an hour old: a replay
        {"webhook-id": ""},  # missing header
    ],
)
def test_an_unverifiable_webhook_is_refused_with_400_and_not_recorded(sandbox, tamper):
    # when an event is delivered with one thing wrong
    answer = deliver(sandbox, '{"type":"x","data":{}}', "evt_9", **tamper)

    # then it is refused and nothing is recorded
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("verification failed")
    assert httpx.get(f"{sandbox}/events").json() == {"events": [], "duplicates": 0, "refused": 1}


def test_a_sandbox_without_webhook_secret_refuses_every_webhook(tmp_path: Path):
    url, stop = start_in_thread(build_app({}, tmp_path))
    try:
        answer = deliver(url, "{}", "evt_1")
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": "no webhook secret configured"},
        )
        call = httpx.post(f"{url}/_call", json={"method": "GET", "path": "/x"})
        assert call.status_code == 400
        assert "no partner code" in call.json()["error"]
    finally:
        stop()


def test_the_fault_switches_make_webhooks_fail_until_switched_off(sandbox):
    assert httpx.post(f"{sandbox}/_faults", json={"error_rate": 1.0}).status_code == 200
    assert deliver(sandbox, "{}", "evt_1").status_code == 500
    assert httpx.post(f"{sandbox}/_faults", json={"error_rate": 0.0}).status_code == 200
    assert deliver(sandbox, "{}", "evt_1").status_code == 200


def test_the_identity_is_read_from_the_database_by_partner_code(db, actor):
    # given a platform partner
    _, secret = partner_create(code="tokoplatform", name="Toko", kind="platform", actor=actor)
    credentials = partner_credentials("tokoplatform")

    # when the sandbox's identity is built from its code only
    identity = identity_from_options({"partner": "tokoplatform", "system_url": API})

    # then both secrets come from the database; explicit ones win
    assert identity == PlatformIdentity("tokoplatform", secret, credentials.webhook_secret, API)
    assert identity.webhook_secret.startswith("whsec_")
    explicit = identity_from_options({"partner": "tokoplatform", "webhook_secret": SECRET})
    assert (explicit.secret, explicit.webhook_secret) == (secret, SECRET)


def test_an_unknown_partner_code_stops_the_sandbox_from_starting(db):
    with pytest.raises(NotFound):
        identity_from_options({"partner": "nobody"})


def through_django(django_client: Client) -> httpx.MockTransport:
    """An httpx transport into this process's Django, through the test client (which keeps the
    test's transaction and connection), so a signed call meets the real partner API."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = django_client.generic(
            request.method,
            request.url.raw_path.decode("ascii"),
            data=request.content,
            content_type=request.headers.get("content-type", ""),
            headers={k: v for k, v in request.headers.items() if k.lower().startswith("x-")},
        )
        return httpx.Response(answer.status_code, content=answer.content)

    return httpx.MockTransport(handle)


@pytest.fixture
def platform_client(db: None, actor: Any, client: Client) -> Iterator[PartnerApiClient]:
    _, secret = partner_create(code="tokoplatform", name="Toko", kind="platform", actor=actor)
    with PartnerApiClient(API, "tokoplatform", secret, transport=through_django(client)) as api:
        yield api


def test_the_client_publishes_and_withdraws_a_training_through_the_signed_api(platform_client):
    # given an external id with characters that need care in a path
    external_id = "kelas:excel (1)+ñ"

    # when the platform publishes the training, retries the same call, and withdraws it
    created = platform_client.put_training(external_id, TRAINING, request_id="req-1")
    again = platform_client.put_training(external_id, TRAINING, request_id="req-1")
    withdrawn = platform_client.delete_training(external_id)

    # then the signature is accepted each time and the contract's answers come back
    assert created.status == 201
    assert created.body["external_id"] == external_id
    assert created.body["status"] == "pending_review"
    assert again == created
    assert withdrawn == ApiAnswer(200, {"status": "withdrawn"})


def test_a_wrong_secret_is_refused_by_the_partner_api(db, actor, client):
    partner_create(code="tokoplatform", name="Toko", kind="platform", actor=actor)
    with PartnerApiClient(
        API, "tokoplatform", "not-the-secret", transport=through_django(client)
    ) as api:
        answer = api.put_training("kelas-1", TRAINING)
    assert answer.status == 401
    assert answer.body["error"]["code"] == "SIGNATURE_INVALID"


def test_the_signed_path_is_the_one_the_server_rebuilds():
    # Django re-encodes the path with escape_uri_path; a segment must be encoded the same way
    assert path_segment("kelas:excel (1)+ñ/2") == "kelas:excel%20(1)+%C3%B1%2F2"


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_calls_the_partner_api_on_request(live_server, actor, tmp_path):
    # given a platform partner and its sandbox pointed at the running system
    partner_create(code="tokoplatform", name="Toko", kind="platform", actor=actor)
    app = build_app(
        {"partner": "tokoplatform", "system_url": f"{live_server.url}/api/partner/v1"}, tmp_path
    )
    url, stop = start_in_thread(app)
    try:
        # when the sandbox is asked to publish and then withdraw a training
        put = httpx.post(
            f"{url}/_call",
            json={"method": "PUT", "path": "/trainings/kelas-1", "body": TRAINING},
            timeout=10,
        )
        delete = httpx.post(
            f"{url}/_call", json={"method": "DELETE", "path": "/trainings/kelas-1"}, timeout=10
        )
        missing = httpx.post(f"{url}/_call", json={"method": "GET"}, timeout=10)

        # then the system's answers come back through it
        assert put.status_code == 200
        assert put.json()["status"] == 201
        assert put.json()["body"]["status"] == "pending_review"
        assert delete.json() == {"status": 200, "body": {"status": "withdrawn"}}
        assert missing.status_code == 400
    finally:
        stop()


def test_the_sandbox_answers_502_when_the_system_is_unreachable(tmp_path):
    gone, stop_gone = start_in_thread(create_app(PlatformIdentity()))
    stop_gone()
    url, stop = start_in_thread(
        create_app(PlatformIdentity("p", "s", SECRET, f"{gone}/api/partner/v1"), timeout=1)
    )
    try:
        answer = httpx.post(f"{url}/_call", json={"method": "GET", "path": "/orders"})
        assert answer.status_code == 502
        assert "system unreachable" in answer.json()["error"]
    finally:
        stop()
