"""Browser tests drive Debian's Chromium through Playwright (its own browser download does not work
here). Without Chromium they are skipped, and the run says so in its summary, never silently."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_skipped: list[str] = []


def chromium_path() -> str | None:
    return (
        os.environ.get("PRAKERJA_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(_skipped)} browser test(s) did not run: {_skipped[0]}. Install Debian's chromium "
            "(apt-get install chromium) or set PRAKERJA_CHROMIUM to its path."
        )


@pytest.fixture
def browser_page(request: pytest.FixtureRequest) -> Iterator[object]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        reason = "Chromium (or Playwright) is not installed"
        _skipped.append(reason)
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        # A cheap phone's screen: 360 × 740 CSS pixels.
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[dict[str, object]]:
    """`prakerja demo` on the embedded default, on free ports, with its printed output."""
    web, population, sms = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        PRAKERJA_DATA_DIR=str(tmp_path),
        PRAKERJA_POPULATION_URL=f"http://127.0.0.1:{population}",
        PRAKERJA_SMS_URL=f"http://127.0.0.1:{sms}",
        PRAKERJA_PUBLIC_URL=f"http://127.0.0.1:{web}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "prakerja.cli", "demo", "--port", str(web)],
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
    text = "".join(printed)
    people = re.findall(r"NIK (\d{16})  (.+?)  birth date (\d{4}-\d{2}-\d{2})", text)
    try:
        yield {
            "base": f"http://127.0.0.1:{web}",
            "sms": f"http://127.0.0.1:{sms}",
            "people": people,
            "printed": text,
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
