"""The operators' console in the browser, on the demo: the program admin signs in with a TOTP code,
draws the open wave and creates and opens the next one; the finance maker prepares today's
disbursement run and the checker (another person) approves it; the dashboards show the figures the
database holds, counted here independently of the dashboards' own code."""

import hashlib
import re
import sqlite3
from pathlib import Path

from tests.e2e.conftest import ARTIFACTS, operator_sign_in


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def sign_out(page, base: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/")
    assert "/admin/login/" in page.url


def count(database: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(sql, params).fetchone()[0])


def test_an_operator_draws_and_opens_waves_and_finance_approves_a_run(browser_page, demo, tmp_path):
    page, base, printed = browser_page, demo.base, demo.printed
    database = tmp_path / "prakerja.sqlite3"
    number, seed = re.search(r"wave (\d+) lottery seed .*: (\S+)", printed).groups()
    page.set_viewport_size({"width": 1280, "height": 900})

    # The program admin: password and the authenticator's code, then the open wave is drawn
    operator_sign_in(page, base, printed, "admin")
    shot(page, "1-admin-signed-in")
    page.goto(f"{base}/admin/waves/wave/")
    page.click(f"#result_list th.field-number a >> text=/^{number}$/")
    page.click("#wave-close input[type=submit]")
    page.fill('#wave-select input[name="select-seed"]', seed)
    with page.expect_navigation(timeout=120_000):
        page.click("#wave-select input[type=submit]")
    drawn = re.search(rf"Gelombang {number} drawn: (\d+) selected", page.inner_text("body"))
    assert drawn, page.inner_text("body")[:2000]
    wave_id = count(database, "SELECT id FROM waves_wave WHERE number = ?", int(number))
    assert int(drawn.group(1)) == count(
        database, "SELECT count(*) FROM waves_participant WHERE wave_id = ?", wave_id
    )
    shot(page, "2-wave-drawn")

    # ... and the next wave is created as a draft and opened with the seed's commitment
    page.goto(f"{base}/admin/waves/wave/add/")
    page.fill("#id_quota", "25")
    page.fill("#id_opens_at", "2030-01-06T08:00")
    page.fill("#id_closes_at", "2030-01-13T08:00")
    page.fill("#id_priority_order", "laid_off")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/waves/wave/\d+/change/"))
    created = int(number) + 1
    assert f"Gelombang {created}" in page.inner_text("body")
    commitment = hashlib.sha256(b"gelombang-berikutnya-rahasia").hexdigest()
    page.fill('#wave-open input[name="open-seed_commitment"]', commitment)
    page.click("#wave-open input[type=submit]")
    page.wait_for_load_state()
    assert count(database, "SELECT count(*) FROM waves_wave WHERE number = ?", created) == 1
    row = sqlite3.connect(database).execute(
        "SELECT status, quota, seed_commitment FROM waves_wave WHERE number = ?", (created,)
    )
    assert row.fetchone() == ("open", 25, commitment)
    shot(page, "3-next-wave-open")
    sign_out(page, base)

    # The finance maker prepares today's run; the maker is offered no approval
    operator_sign_in(page, base, printed, "keuangan-maker")
    page.goto(f"{base}/admin/incentives/disbursementrun/")
    page.click("#prepare-run")
    page.click("#prepare-form input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/incentives/disbursementrun/\d+/change/"))
    run_id = int(re.search(r"/disbursementrun/(\d+)/", page.url).group(1))
    assert page.locator("#approve-form").count() == 0
    shot(page, "4-run-prepared")
    sign_out(page, base)

    # The finance checker, another person, approves it
    operator_sign_in(page, base, printed, "keuangan-checker")
    page.goto(f"{base}/admin/incentives/disbursementrun/{run_id}/change/")
    page.click("#approve-form input[type=submit]")
    page.wait_for_load_state()
    run = sqlite3.connect(database).execute(
        "SELECT status, prepared_by, approved_by FROM incentives_disbursementrun WHERE id = ?",
        (run_id,),
    )
    status, maker, checker = run.fetchone()
    assert (maker, checker) == ("user:keuangan-maker", "user:keuangan-checker")
    assert status != "prepared"
    shot(page, "5-run-approved")
    sign_out(page, base)

    # The dashboards (refreshed when the demo started) against counts of the database itself
    operator_sign_in(page, base, printed, "auditor")
    page.goto(f"{base}/console/dashboards/gelombang/")
    assert page.locator("#chart svg").count() == 1  # drawn by the page's script
    first_wave = int(number) - 1
    first_wave_id = count(database, "SELECT id FROM waves_wave WHERE number = ?", first_wave)
    row = page.locator(f'#dashboard-table tbody tr:has(td.field-wave[data-value="{first_wave}"])')
    shown = int(row.locator("td.field-participants").get_attribute("data-value"))
    assert shown == count(
        database, "SELECT count(*) FROM waves_participant WHERE wave_id = ?", first_wave_id
    )
    shot(page, "6-dashboard-waves")
    page.goto(f"{base}/console/dashboards/pendaftaran/")
    total = page.locator("#dashboard-table tfoot td.field-registered").get_attribute("data-value")
    assert int(total) == count(database, "SELECT count(*) FROM registration_registrant")
    shot(page, "7-dashboard-funnel")
