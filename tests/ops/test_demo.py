"""`prakerja demo` on the embedded default, as a newcomer runs it: it answers, and the printed admin
login works."""

import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request

import pytest

from tests.catalog.kit import training_body
from tests.demo_process import running_demo
from tests.operators import totp_code


@pytest.fixture
def demo(tmp_path):
    with running_demo(tmp_path) as started:
        yield started.port, started.printed, started
    # the servers it started are gone with it
    for url in (f"{started.base}/healthz", f"{started.sms}/healthz"):
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)


def test_the_demo_simulates_its_2020_on_first_start(tmp_path):
    with running_demo(tmp_path, simulation=True) as started:
        printed = started.printed
        home = urllib.request.urlopen(f"{started.base}/", timeout=10).read().decode()
        drawn = re.search(r"wave (\d+) lottery seed", printed)

    # 2.000 of 2020's 23,17 M registrants: waves 1–7 select 3,88 M × 2.000 / 23,17 M
    assert "2020 simulated: 335 participants of waves 1–7" in printed, printed
    assert drawn and drawn.group(1) == "9"  # today's demo waves follow the seven of 2020
    assert "Program Kartu Prakerja" in home


def test_demo_answers_and_the_printed_admin_login_works(demo):
    port, printed, _ = demo
    assert "Database: sqlite" in printed
    assert "GET /healthz" not in printed  # server logs go to the log file, not the terminal
    assert f"http://127.0.0.1:{port}/admin/" in printed
    username, password, totp_key = re.search(
        r"program admin \(Django admin\): (\S+) / (\S+)  TOTP key (\S+)", printed
    ).groups()

    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    home = browser.open(f"{base}/").read().decode()
    assert "Program Kartu Prakerja" in home

    login_page = browser.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": password,
            "otp_token": totp_code(totp_key),
            "next": "/admin/",
        }
    ).encode()
    request = urllib.request.Request(f"{base}/admin/login/?next=/admin/", data=form)
    request.add_header("Referer", f"{base}/admin/login/")
    answer = browser.open(request)
    assert answer.geturl() == f"{base}/admin/"
    admin_home = answer.read().decode()
    assert "Program scheme and waves" in admin_home or "Skema" in admin_home
    assert 'href="/admin/ledger/account/"' in admin_home


def test_demo_starts_the_sandboxes_and_prints_niks_to_register_with(demo):
    port, printed, started = demo
    niks = re.findall(r"NIK (\d{16})", printed)
    assert len(niks) == 7  # five who can register, one deceased, one under 18
    assert f"SMS inbox (sandbox):     {started.sms}/inbox" in printed
    for url in (f"{started.population}/healthz", f"{started.sms}/healthz"):
        assert urllib.request.urlopen(url, timeout=5).status == 200
    assert (
        "Daftar Kartu Prakerja"
        in urllib.request.urlopen(f"http://127.0.0.1:{port}/daftar/").read().decode()
    )
    inbox = urllib.request.urlopen(f"http://127.0.0.1:{port}/sandbox/email/").read().decode()
    assert "Kotak masuk email (sandbox)" in inbox


def test_the_sandbox_platform_calls_the_partner_api_and_receives_its_events(demo):
    """Through the demo's processes: the sandbox platform withdraws a training it published, the
    system queues training.status_changed, the scheduler delivers it, the sandbox verifies it."""
    _, printed, started = demo
    code = re.search(r"the sandbox platform plays (\S+)", printed).group(1)
    body = training_body()

    def call(method: str, path: str, payload: dict | None = None) -> dict:
        order = json.dumps({"method": method, "path": path, "body": payload}).encode()
        request = urllib.request.Request(
            f"{started.platform}/_call", data=order, headers={"Content-Type": "application/json"}
        )
        return json.loads(urllib.request.urlopen(request, timeout=30).read())

    created = call("PUT", "/trainings/demo-sandbox-1", body)
    assert (created["status"], created["body"]["status"]) == (201, "pending_review")
    withdrawn = call("DELETE", "/trainings/demo-sandbox-1")
    assert withdrawn == {"status": 200, "body": {"status": "withdrawn"}}

    deadline = time.monotonic() + 60
    events: list = []
    while time.monotonic() < deadline and not events:
        answer = json.loads(urllib.request.urlopen(f"{started.platform}/events").read())
        events = [e for e in answer["events"] if e["data"].get("external_id") == "demo-sandbox-1"]
        time.sleep(1)
    assert [(e["type"], e["data"]["status"]) for e in events] == [
        ("training.status_changed", "withdrawn")
    ]
    assert code  # the platform whose secret signed the calls


def test_the_sandbox_institutions_hold_the_demo_participants_accounts(demo):
    _, printed, started = demo
    number = re.search(r"BNI virtual account of the first participant: (\d+)", printed).group(1)
    held = json.loads(urllib.request.urlopen(f"{started.banks['bni']}/_accounts/{number}").read())
    assert (held["account_type"], held["kyc_level"], held["status"]) == (
        "virtual_account",
        "upgraded",
        "active",
    )
    totals = json.loads(urllib.request.urlopen(f"{started.banks['linkaja']}/_totals").read())
    assert totals["received_count"] == 0
