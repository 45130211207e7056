"""The SMS gateway sandbox over real HTTP, driven through the HttpSmsGateway adapter."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from prakerja.integrations.sandbox import SandboxApp, start_in_thread
from prakerja.integrations.sms import SmsUnavailable
from prakerja.integrations.sms.client import HttpSmsGateway
from prakerja.integrations.sms.sandbox import build_app

NUMBER = "+6281234567890"
OTHER = "+6285700001111"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[SandboxApp, str]]:
    app = build_app({"keep": 10000}, tmp_path)
    base_url, stop = start_in_thread(app)
    yield app, base_url
    stop()


@pytest.fixture
def base_url(sandbox: tuple[SandboxApp, str]) -> str:
    return sandbox[1]


@pytest.fixture
def gateway(base_url: str) -> Iterator[HttpSmsGateway]:
    with HttpSmsGateway(base_url, timeout=2.0) as client:
        yield client


def messages(base_url: str, **params: str) -> list[dict[str, str]]:
    answer = httpx.get(f"{base_url}/v1/messages", params=params)
    assert answer.status_code == 200
    return list(answer.json()["messages"])


def set_faults(base_url: str, **faults: object) -> None:
    assert httpx.post(f"{base_url}/_faults", json=faults).status_code == 200


def test_send_returns_a_message_id_and_stores_the_message(base_url, gateway):
    # given an empty sandbox
    # when a message is sent
    before = datetime.now(UTC).replace(microsecond=0)
    message_id = gateway.send(to=NUMBER, text="Kode OTP Anda 123456", reference="otp-1")

    # then it has a gateway id and is listed with every field
    assert re.fullmatch(r"sms-[0-9a-f]{16}", message_id)
    [stored] = messages(base_url)
    received_at = datetime.fromisoformat(stored.pop("received_at"))
    assert received_at.utcoffset() is not None and received_at.utcoffset().total_seconds() == 0
    assert before <= received_at <= datetime.now(UTC)
    assert stored == {
        "message_id": message_id,
        "to": NUMBER,
        "text": "Kode OTP Anda 123456",
        "reference": "otp-1",
    }


def test_the_same_reference_returns_the_first_id_and_stores_nothing_new(base_url, gateway):
    # given a message sent with reference otp-1
    first = gateway.send(to=NUMBER, text="Kode OTP Anda 123456", reference="otp-1")

    # when it is sent again with the same reference (even with another text)
    again = gateway.send(to=NUMBER, text="Kode OTP Anda 999999", reference="otp-1")

    # then the first id comes back and only the first message is kept
    assert again == first
    assert [(m["message_id"], m["text"]) for m in messages(base_url)] == [
        (first, "Kode OTP Anda 123456")
    ]


@pytest.mark.parametrize(
    ("to", "text"),
    [
        ("081234567890", "halo"),  # no country code
        ("+62812", "halo"),  # 5 digits
        ("+6281234567890123", "halo"),  # 16 digits
        ("+62 812 3456 7890", "halo"),  # spaces
        (NUMBER, ""),
        (NUMBER, "x" * 481),
    ],
)
def test_a_bad_number_or_text_is_refused_with_value_error_and_nothing_stored(
    base_url, gateway, to, text
):
    # given an empty sandbox
    # when a message with a bad number or text is sent
    with pytest.raises(ValueError, match="422"):
        gateway.send(to=to, text=text, reference="bad-1")

    # then nothing is stored
    assert messages(base_url) == []


def test_the_gateway_answers_422_with_an_error_body(base_url):
    answer = httpx.post(
        f"{base_url}/v1/messages", json={"to": "0812", "text": "halo", "reference": "r"}
    )
    assert answer.status_code == 422
    assert "E.164" in answer.json()["error"]


def test_a_text_of_exactly_480_characters_is_accepted(base_url, gateway):
    gateway.send(to=NUMBER, text="x" * 480, reference="long")
    assert [len(m["text"]) for m in messages(base_url)] == [480]


def test_listing_filters_by_number_newest_first_with_plus_encoded_or_not(base_url, gateway):
    # given three messages to two numbers
    first = gateway.send(to=NUMBER, text="satu", reference="r1")
    gateway.send(to=OTHER, text="dua", reference="r2")
    third = gateway.send(to=NUMBER, text="tiga", reference="r3")

    # when the list is filtered by NUMBER, '+' sent as %2B and as a raw '+'
    encoded = httpx.get(f"{base_url}/v1/messages?to=%2B6281234567890").json()["messages"]
    raw = httpx.get(f"{base_url}/v1/messages?to=+6281234567890").json()["messages"]

    # then both give NUMBER's two messages, newest first
    assert [m["message_id"] for m in encoded] == [third, first]
    assert [m["message_id"] for m in raw] == [third, first]
    assert [m["text"] for m in messages(base_url, to=OTHER)] == ["dua"]
    assert [m["text"] for m in messages(base_url)] == ["tiga", "dua", "satu"]


def test_the_inbox_page_shows_numbers_and_escapes_text(base_url, gateway):
    # given a message whose text is markup
    gateway.send(to=NUMBER, text="<script>alert(1)</script> & kode 123456", reference="x1")
    gateway.send(to=OTHER, text="pesan lain", reference="x2")

    # when the inbox is opened, filtered by NUMBER
    page = httpx.get(f"{base_url}/inbox", params={"to": NUMBER})

    # then it is an escaped, self-refreshing sandbox page with NUMBER's message only
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    text = page.text
    assert "<title>Kotak masuk SMS (sandbox)</title>" in text
    assert '<meta http-equiv="refresh" content="5">' in text
    assert "Ini sandbox" in text
    assert NUMBER in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; kode 123456" in text
    assert "<script>" not in text
    assert "pesan lain" not in text
    assert re.search(r"\d{1,2} \w{3} \d{4} \d{2}\.\d{2} WIB", text)


def test_the_inbox_page_lists_every_number_newest_first(base_url, gateway):
    gateway.send(to=NUMBER, text="pertama", reference="y1")
    gateway.send(to=OTHER, text="kedua", reference="y2")

    text = httpx.get(f"{base_url}/inbox").text

    assert text.index("kedua") < text.index("pertama")
    assert NUMBER in text and OTHER in text


def test_only_the_newest_messages_are_kept(tmp_path):
    # given a sandbox that keeps 2 messages
    base_url, stop = start_in_thread(build_app({"keep": 2}, tmp_path))
    try:
        with HttpSmsGateway(base_url, timeout=2.0) as gateway:
            # when 3 are sent
            for n in (1, 2, 3):
                gateway.send(to=NUMBER, text=f"pesan {n}", reference=f"k{n}")
            # then the oldest is gone, and its reference is forgotten with it
            assert [m["text"] for m in messages(base_url)] == ["pesan 3", "pesan 2"]
            gateway.send(to=NUMBER, text="pesan 1 lagi", reference="k1")
            assert [m["text"] for m in messages(base_url)] == ["pesan 1 lagi", "pesan 3"]
    finally:
        stop()


def test_an_outage_raises_sms_unavailable_and_sending_recovers(base_url, gateway):
    # given the gateway is in outage
    set_faults(base_url, outage=True)

    # when a message is sent, then it is unavailable
    with pytest.raises(SmsUnavailable, match="503"):
        gateway.send(to=NUMBER, text="halo", reference="o1")

    # and when the outage ends, the same message goes through once
    set_faults(base_url, outage=False)
    message_id = gateway.send(to=NUMBER, text="halo", reference="o1")
    assert [m["message_id"] for m in messages(base_url)] == [message_id]


def test_a_timeout_raises_sms_unavailable(base_url):
    # given a gateway that holds every request for 6 seconds
    set_faults(base_url, timeout_rate=1.0, hang_s=6)

    # when a client with a 0.5 s timeout sends
    started = time.monotonic()
    with HttpSmsGateway(base_url, timeout=0.5) as gateway, pytest.raises(SmsUnavailable):
        gateway.send(to=NUMBER, text="halo", reference="t1")

    # then it gave up at its own timeout, long before the gateway would have answered (the margin
    # is wide: a loaded CI machine once took 2,6 s), and nothing was stored
    assert time.monotonic() - started < 4
    set_faults(base_url, timeout_rate=0.0)
    assert messages(base_url) == []


def test_a_gateway_that_cannot_be_reached_is_unavailable(tmp_path):
    base_url, stop = start_in_thread(build_app({}, tmp_path))
    stop()
    with HttpSmsGateway(base_url, timeout=0.5) as gateway, pytest.raises(SmsUnavailable):
        gateway.send(to=NUMBER, text="halo", reference="c1")


def test_an_error_fault_is_unavailable(base_url, gateway):
    set_faults(base_url, error_rate=1.0)
    with pytest.raises(SmsUnavailable, match="500"):
        gateway.send(to=NUMBER, text="halo", reference="e1")
    set_faults(base_url, error_rate=0.0)
    assert messages(base_url) == []
