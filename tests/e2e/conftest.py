"""Browser tests drive Debian's Chromium through Playwright (its own browser download does not work
here). Without Chromium they are skipped, and the run says so in its summary, never silently."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo_process import RunningDemo, running_demo

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


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    with running_demo(tmp_path) as started:
        yield started


def operator_sign_in(page: object, base: str, printed: str, username: str = "admin") -> None:
    """Sign a demo operator in to the console as a person does: username, the demo password and
    the current code of the TOTP key the demo printed with the login."""
    import re

    from tests.operators import totp_code

    found = re.search(rf": {re.escape(username)} / (\S+)  TOTP key (\S+)", printed)
    assert found, f"no login line for {username} in the demo's output"
    password, secret = found.groups()
    page.goto(f"{base}/admin/login/")  # type: ignore[attr-defined]
    page.fill("#id_username", username)  # type: ignore[attr-defined]
    page.fill("#id_password", password)  # type: ignore[attr-defined]
    page.fill("#id_otp_token", totp_code(secret))  # type: ignore[attr-defined]
    page.click("input[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/admin/")  # type: ignore[attr-defined]
