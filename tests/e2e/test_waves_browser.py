"""The demo's program in the browser: a participant of the drawn wave sees the card on a phone;
an operator closes the open wave and draws it with the printed seed in the admin; the published
inputs verify with the outsider's tool."""

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ARTIFACTS, operator_sign_in

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_selection.py"


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"waves-{name}.png"), full_page=True)


def test_participant_card_and_an_operator_draw_in_the_browser(browser_page, demo, tmp_path):
    page, base = browser_page, demo.base
    email, password = re.search(r"participant \(portal\): (\S+) / (\S+)", demo.printed).groups()
    number, seed = re.search(r"wave (\d+) lottery seed .*: (\S+)", demo.printed).groups()

    # The participant on a phone: card number in groups of four, balance, a 30-day countdown
    page.goto(f"{base}/masuk/")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/status/")
    card = page.inner_text("#card")
    assert re.search(r"\d{4} \d{4} \d{4} \d{4}", card)
    assert "Rp1.000.000" in card
    assert "Sisa 30 hari untuk membeli pelatihan pertama" in card
    assert "Lolos" in page.inner_text("main")
    shot(page, "1-participant-card")

    # The operator closes the open wave and draws it with the seed printed at start
    page.set_viewport_size({"width": 1280, "height": 900})
    operator_sign_in(page, base, demo.printed, "admin")
    page.goto(f"{base}/admin/waves/wave/")
    page.click(f"#result_list th.field-number a >> text=/^{number}$/")
    page.click("#wave-close input[type=submit]")
    shot(page, "2-operator-closed")
    page.fill('#wave-select input[name="select-seed"]', seed)
    shot(page, "3-operator-before-draw")
    # The draw runs in the request: wait for its answer's page, not the one it replaces.
    with page.expect_navigation(timeout=120_000):
        page.click("#wave-select input[type=submit]")
    drawn = re.search(rf"Gelombang {number} drawn: (\d+) selected", page.inner_text("body"))
    # The unselected of the drawn wave were carried into it. (The page's text, if not.)
    assert drawn and int(drawn.group(1)) > 0, page.inner_text("body")[:2000]
    shot(page, "4-operator-drawn")

    # The published inputs, as anyone downloads them, verify with the standard-library tool
    wave_url = page.url.split("/change/")[0]
    inputs = page.request.get(f"{wave_url}/inputs.json")
    assert inputs.status == 200
    (tmp_path / "inputs.json").write_bytes(inputs.body())
    checked = subprocess.run(
        [sys.executable, str(TOOL), str(tmp_path / "inputs.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("MATCH")
