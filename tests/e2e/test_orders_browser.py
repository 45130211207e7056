"""The whole journey of a training in the browser, on the running demo: a selected participant
searches the catalog on a phone, buys a training of the platform the sandbox plays, sees the
voucher; the sandbox platform (a real HTTP service receiving the signed `voucher.issued` event)
redeems it, reports progress and completes it with a certificate; the participant reviews the
training and opens the certificate."""

import re
import time

from tests.e2e.conftest import ARTIFACTS

REVIEW = "Materinya runtut, instrukturnya sabar, dan tugas akhirnya berguna untuk kerja."
JOURNEY_SECONDS = (
    90  # event delivery runs every 10 s in the demo's scheduler; the learner paces 2 s
)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"orders-{name}.png"), full_page=True)


def test_buy_redeem_complete_review_and_certificate_in_the_browser(browser_page, demo):
    page, base = browser_page, demo.base
    email, password = re.search(r"participant \(portal\): (\S+) / (\S+)", demo.printed).groups()
    platform = re.search(r"the sandbox platform plays (\S+) ", demo.printed).group(1)

    page.goto(f"{base}/masuk/")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/status/")

    # Search the sandbox platform's trainings, cheapest first, and buy the first one
    page.goto(f"{base}/pelatihan/?platform={platform}&sort=price_asc")
    shot(page, "1-search")
    result = page.locator("li.result:has(a.button.buy)").first
    title = result.locator("h2").inner_text()
    result.locator("a.button.buy").click()
    page.wait_for_selector("#buy")
    shot(page, "2-confirm")
    page.click("#buy")
    page.wait_for_url(re.compile(r"/pelatihan-saya/#order-\d+$"))
    order_id = page.url.rsplit("-", 1)[1]
    order = page.locator(f"#order-{order_id}")
    assert order.get_attribute("data-status") == "issued"
    assert title in order.inner_text()
    code = order.locator(".voucher-code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=U]", code)
    shot(page, "3-voucher")

    # The sandbox platform receives the event, redeems, reports progress and completes
    deadline = time.monotonic() + JOURNEY_SECONDS
    while order.get_attribute("data-status") != "completed":
        assert time.monotonic() < deadline, f"not completed: {order.get_attribute('data-status')}"
        time.sleep(2)
        page.reload()
        order = page.locator(f"#order-{order_id}")
    assert "Sertifikat SBX-" in order.inner_text() or "Certificate SBX-" in order.inner_text()
    shot(page, "4-completed")

    # The review, then the certificate the platform issued
    order.locator('input[name="stars"][value="5"]').check()
    order.locator("textarea[name=text]").fill(REVIEW)
    order.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/pelatihan-saya/#order-{order_id}$"))
    reviewed = page.locator(f"#order-{order_id}")
    assert f"★★★★★ “{REVIEW}”" in reviewed.inner_text()
    shot(page, "5-reviewed")

    page.goto(reviewed.locator("a.certificate").get_attribute("href"))
    assert "Sertifikat" in page.inner_text("body")
    assert f"SBX-{order_id}" in page.inner_text("body")
    shot(page, "6-certificate")
