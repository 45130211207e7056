"""A first-time user registers on a phone-sized screen in the demo: sign-up form, email code from the
email inbox page, SMS code from the SMS sandbox's inbox, selfie, and the status page at the end."""

import io
import re

from PIL import Image

from tests.e2e.conftest import ARTIFACTS


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"registration-{name}.png"), full_page=True)


def code_from(page, url: str) -> str:
    page.goto(url)
    match = re.search(
        r"\b(\d{6})\b",
        page.inner_text("main") if page.locator("main").count() else page.inner_text("body"),
    )
    assert match, f"no code on {url}"
    return match.group(1)


def test_a_person_registers_and_passes_every_layer_in_the_browser(browser_page, demo, tmp_path):
    page, base = browser_page, demo.base
    printed_people = re.findall(
        r"NIK (\d{16})  (.+?)  birth date (\d{4}-\d{2}-\d{2})", demo.printed
    )
    nik, name, birth = printed_people[0]
    email, phone = "warga.pertama@example.id", "0812 7777 0001"

    # a refused input first: a NIK with a wrong last block, shown in Indonesian next to the field
    page.goto(f"{base}/daftar/")
    shot(page, "1-signup-empty")
    page.fill("#id_full_name", name.title())
    page.fill("#id_nik", nik[:12] + "0000")
    page.fill("#id_birth_date", birth)
    page.fill("#id_email", email)
    page.fill("#id_phone", phone)
    page.select_option("#id_regency_code", "32.01")
    page.select_option("#id_education", "sma")
    page.select_option("#id_employment", "laid_off")
    page.check("#id_in_school_0")
    page.fill("#id_password", "Rahasia-Sekali-2020")
    page.click("main button[type=submit]")
    assert (
        "4 angka terakhir NIK tidak boleh 0000." in page.inner_text("#id_nik-error")
        if page.locator("#id_nik-error").count()
        else page.inner_text("main")
    )
    shot(page, "2-signup-refused")

    page.fill("#id_nik", nik)
    page.fill("#id_password", "Rahasia-Sekali-2020")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/daftar/email/")
    assert f"Kami mengirim kode 6 angka ke {email}." in page.inner_text("main")
    shot(page, "3-signup-email-code")

    email_code = code_from(page, f"{base}/sandbox/email/?to={email}")
    shot(page, "4-email-inbox")
    page.goto(f"{base}/daftar/email/")
    page.fill("input[name=code]", email_code)
    page.click("#verify-email")
    page.wait_for_url(f"{base}/status/")
    page.wait_for_selector("#layer-phone[data-status=pending] input[name=code]")
    assert page.get_attribute("#layer-nik", "data-status") == "passed"
    shot(page, "5-status-phone-pending")

    sms_code = code_from(page, f"{demo.sms}/inbox?to=%2B6281277770001")
    shot(page, "6-sms-inbox")
    page.goto(f"{base}/status/")
    page.fill("#layer-phone input[name=code]", sms_code)
    page.click("#layer-phone button.primary")
    page.wait_for_selector("#layer-face input[type=file]")
    assert page.get_attribute("#layer-eligibility", "data-status") == "passed"

    selfie = tmp_path / "selfie.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (480, 640), (190, 150, 120)).save(buffer, format="JPEG")
    selfie.write_bytes(buffer.getvalue())
    page.set_input_files("#layer-face input[type=file]", str(selfie))
    page.click("#layer-face button.primary")
    page.wait_for_selector("#layer-face[data-status=passed]")
    statuses = [
        page.get_attribute(f"#layer-{layer}", "data-status")
        for layer in ("email", "nik", "phone", "eligibility", "face")
    ]
    assert statuses == ["passed"] * 5
    assert "Anda lulus semua tahap verifikasi." in page.inner_text("main")
    shot(page, "7-status-all-passed")
