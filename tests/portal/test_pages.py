from pathlib import Path

import polib
import pytest

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "src" / "prakerja" / "locale"


def test_home_page_is_in_bahasa_indonesia_by_default(client):
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<html lang="id">' in text
    assert "Program Kartu Prakerja" in text
    assert "Rp1.000.000" in text
    assert "Rp600.000 per bulan selama 4 bulan" in text
    assert "Rp50.000 untuk setiap survei, 3 survei" in text


def test_the_language_switch_turns_the_page_into_english(client):
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert switched.status_code == 302
    text = client.get("/").content.decode()
    assert '<html lang="en">' in text
    assert "Pre-Employment Card Program" in text
    assert "Rp600.000 a month for 4 months" in text


def test_a_scheme_with_one_payment_says_so(client):
    from prakerja.waves.models import ProgramScheme

    ProgramScheme.objects.update(is_active=False)
    ProgramScheme.objects.filter(code="2023").update(is_active=True)
    text = client.get("/").content.decode()
    assert "Rp3.500.000" in text
    assert "Rp600.000, dibayar sekali" in text


def test_an_application_error_renders_its_message_and_code(client):
    from prakerja.waves.models import ProgramScheme

    ProgramScheme.objects.update(is_active=False)
    page = client.get("/")
    assert page.status_code == 404
    assert "Belum ada skema program yang aktif" in page.content.decode()
    api = client.get("/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert api.json()["error"]["code"] == "NO_ACTIVE_SCHEME"


def test_compiled_catalog_matches_its_source():
    po = polib.pofile(str(LOCALE / "id" / "LC_MESSAGES" / "django.po"))
    mo = polib.mofile(str(LOCALE / "id" / "LC_MESSAGES" / "django.mo"))
    untranslated = [entry.msgid for entry in po if not entry.translated()]
    assert untranslated == []
    assert {e.msgid: e.msgstr for e in po} == {e.msgid: e.msgstr for e in mo if e.msgid}


def test_health_endpoint(client):
    assert client.get("/healthz").content == b"ok"


def test_pages_stay_indonesian_whatever_the_browser_language_until_the_person_switches(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="id">' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/", HTTP_ACCEPT_LANGUAGE="id").content.decode()


def test_the_switch_names_each_language_in_itself(client):
    assert (
        '<button type="submit" name="language" value="en" lang="en">English</button>'
        in client.get("/").content.decode()
    )
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert 'value="id" lang="id">Bahasa Indonesia</button>' in page
