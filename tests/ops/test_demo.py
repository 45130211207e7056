"""`prakerja demo` on the embedded default, as a newcomer runs it: it answers, and the printed admin
login works."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["PRAKERJA_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "prakerja.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    printed: list[str] = []
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        if "Ctrl-C" in line:
            break
    yield port, "".join(printed)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    # the web server it started is gone with it
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_demo_answers_and_the_printed_admin_login_works(demo):
    port, printed = demo
    assert "Database: sqlite" in printed
    assert "GET /healthz" not in printed  # server logs go to the log file, not the terminal
    assert f"http://127.0.0.1:{port}/admin/" in printed
    username, password = re.search(
        r"program admin \(Django admin\): (\S+) / (\S+)", printed
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
    port, printed = demo
    niks = re.findall(r"NIK (\d{16})", printed)
    assert len(niks) == 7  # five who can register, one deceased, one under 18
    assert "SMS inbox (sandbox):     http://127.0.0.1:8102/inbox" in printed
    for url in ("http://127.0.0.1:8101/healthz", "http://127.0.0.1:8102/healthz"):
        assert urllib.request.urlopen(url, timeout=5).status == 200
    assert (
        "Daftar Kartu Prakerja"
        in urllib.request.urlopen(f"http://127.0.0.1:{port}/daftar/").read().decode()
    )
    inbox = urllib.request.urlopen(f"http://127.0.0.1:{port}/sandbox/email/").read().decode()
    assert "Kotak masuk email (sandbox)" in inbox
