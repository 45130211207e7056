"""`prakerja demo` on the embedded default, as a newcomer runs it: it answers, and the printed admin
login works."""

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest

from tests.demo_process import running_demo


@pytest.fixture
def demo(tmp_path):
    with running_demo(tmp_path) as started:
        yield started.port, started.printed, started
    # the servers it started are gone with it
    for url in (f"{started.base}/healthz", f"{started.sms}/healthz"):
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)


def test_demo_answers_and_the_printed_admin_login_works(demo):
    port, printed, _ = demo
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
