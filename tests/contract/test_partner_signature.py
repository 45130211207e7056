"""The signature covers the request target exactly as sent (partner-api.md, `PATH_WITH_QUERY`):
percent-encoding unchanged, the query in its own order, no host. gunicorn gives the server that
target in `RAW_URI` (uWSGI and mod_wsgi in `REQUEST_URI`); the test client passes it as gunicorn
would, and one test sends the calls through a real `prakerja serve`."""

import http.client
import json
import subprocess
from typing import Any

import pytest
from django.test import Client

from prakerja.catalog.models import Training
from prakerja.ops.bench.processes import free_port
from prakerja.ops.processes import prakerja_argv, wait_until_up
from prakerja.partners.signing import signed_headers
from tests.catalog.kit import Caller, make_partner, now_wib, snapshot, training_body

API = "/api/partner/v1"
# Each encoded character that Django's get_full_path() gives back decoded ("(" for "%28"), or that
# a client may encode although it need not: the signature is over what was sent, either way.
ENCODED = ["%28", "%29", "%2C", "%3B", "%27", "%20"]
DECODED = {"%28": "(", "%29": ")", "%2C": ",", "%3B": ";", "%27": "'", "%20": " "}


@pytest.fixture
def tokopedia(client: Client, db: None) -> Caller:
    partner, secret = make_partner("tokopedia")
    return Caller(client, partner.code, secret)


def signed(caller: Caller, method: str, target: str, body: bytes, key: str) -> dict[str, str]:
    return signed_headers(
        partner=caller.code,
        secret=caller.secret,
        method=method,
        path_with_query=target,
        body=body,
        timestamp=now_wib(),
        external_id=key,
    )


@pytest.mark.parametrize("encoded", ENCODED)
def test_a_path_signed_with_an_encoded_character_as_sent_is_accepted(
    tokopedia: Caller, encoded: str
):
    response = tokopedia.put(f"kelas{encoded}01", training_body())

    assert (response.status_code, response.json()["external_id"]) == (
        201,
        f"kelas{DECODED[encoded]}01",
    )


@pytest.mark.parametrize("encoded", ["%28", "%2C", "%27"])
def test_a_signature_over_the_decoded_path_is_refused_when_the_encoded_one_was_sent(
    tokopedia: Caller, client: Client, encoded: str
):
    sent = f"{API}/trainings/kelas{encoded}01"
    body = json.dumps(training_body()).encode()
    headers = signed(tokopedia, "PUT", f"{API}/trainings/kelas{DECODED[encoded]}01", body, "k-1")
    before = snapshot()

    response = client.put(
        sent, body, content_type="application/json", headers=headers, RAW_URI=sent
    )

    assert (response.status_code, response.json()["error"]["code"]) == (401, "SIGNATURE_INVALID")
    assert snapshot() == before


def test_the_query_is_signed_in_the_order_it_was_sent(tokopedia: Caller, client: Client):
    sent = f"{API}/orders?updated_since=2026-11-21T09%3A00%3A00%2B07%3A00&cursor="
    reordered = f"{API}/orders?cursor=&updated_since=2026-11-21T09%3A00%3A00%2B07%3A00"

    good = client.get(sent, headers=signed(tokopedia, "GET", sent, b"", "q-1"), RAW_URI=sent)
    bad = client.get(sent, headers=signed(tokopedia, "GET", reordered, b"", "q-2"), RAW_URI=sent)

    assert (good.status_code, good.json()) == (200, {"items": [], "next_cursor": None})
    assert (bad.status_code, bad.json()["error"]["code"]) == (401, "SIGNATURE_INVALID")


@pytest.mark.parametrize(
    ("key", "sent"),
    [
        ("REQUEST_URI", f"{API}/trainings/kelas%2801"),  # uWSGI, mod_wsgi
        ("RAW_URI", f"http://prakerja.example{API}/trainings/kelas%2801"),  # absolute form
        ("RAW_URI", f"https://prakerja.example:8443{API}/trainings/kelas%2801"),
    ],
)
def test_the_target_from_other_servers_and_in_absolute_form_is_signed_without_the_host(
    tokopedia: Caller, client: Client, key: str, sent: str
):
    body = json.dumps(training_body()).encode()
    headers = signed(tokopedia, "PUT", f"{API}/trainings/kelas%2801", body, "abs-1")

    response = client.put(
        f"{API}/trainings/kelas%2801",
        body,
        content_type="application/json",
        headers=headers,
        **{key: sent},
    )

    assert (response.status_code, response.json()["external_id"]) == (201, "kelas(01")


def test_without_a_raw_target_the_decoded_path_is_signed_as_before(
    tokopedia: Caller, client: Client
):
    """Django's test client and runserver give no raw target: the server rebuilds it with
    get_full_path(), so a path of unreserved characters signs alike either way."""
    body = json.dumps(training_body()).encode()
    headers = signed(tokopedia, "PUT", f"{API}/trainings/kelas-01", body, "plain-1")

    response = client.put(
        f"{API}/trainings/kelas-01", body, content_type="application/json", headers=headers
    )

    assert response.status_code == 201


# --- through gunicorn ------------------------------------------------------------------------------


def _send(port: int, method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
    """One request with `target` written on the request line byte for byte (http.client does not
    re-encode it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, target, body, {**headers, "Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_through_gunicorn_every_encoded_character_is_signed_as_sent(child_env: dict[str, str]):
    """`prakerja serve` (gunicorn gthread, as in production and the demo) on the test database.
    The database is committed to (transactional_db), so the server's process sees the partner."""
    partner, secret = make_partner("tokopedia")
    caller = Caller(Client(), partner.code, secret)
    port = free_port()
    server = subprocess.Popen(
        prakerja_argv("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=60, process=server)
        answers = []
        for index, encoded in enumerate(ENCODED):
            target = f"{API}/trainings/kelas{encoded}01"
            body = json.dumps(training_body()).encode()
            headers = signed(caller, "PUT", target, body, f"gunicorn-{index}")
            answers.append(_send(port, "PUT", target, body, headers))
        query = f"{API}/orders?updated_since=2026-11-21T09%3A00%3A00%2B07%3A00&cursor="
        listed = _send(port, "GET", query, b"", signed(caller, "GET", query, b"", "gunicorn-q"))
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert [(status, body["external_id"]) for status, body in answers] == [
        (201, f"kelas{DECODED[encoded]}01") for encoded in ENCODED
    ]
    assert listed == (200, {"items": [], "next_cursor": None})
    assert sorted(Training.objects.values_list("external_id", flat=True)) == sorted(
        f"kelas{DECODED[encoded]}01" for encoded in ENCODED
    )
