"""The participant's incentive pages: /insentif/ (the payment account and the form to link one, the
schedule with what holds a payment and what to do, the surveys) and /insentif/survei/<n>/.

States are built with the real services: participants with a completed, certified and reviewed
training (tests/incentives/kit.py), accounts linked through the page and checked by a sandbox
institution over HTTP, holds, runs and surveys. Pages are read as visible text per element."""

import datetime
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import Client
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.timeutil import format_wib
from prakerja.incentives.accounts import payment_accounts_phone_changed
from prakerja.incentives.entitlements import entitlements_hold, months_after, today_wib
from prakerja.incentives.models import (
    Entitlement,
    HoldReason,
    PaymentAccount,
    SurveyResponse,
)
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.incentives.sending import batches_results_query
from prakerja.ledger.models import Transaction
from prakerja.partners.models import OutboundEvent
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant
from prakerja.waves.revocation import participants_revoke_due
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    AccountKind,
    balance,
    completed_and_reviewed,
    institution,
    months_ahead,
    nik_of,
    sandbox_bank,
    wallet,
)
from tests.orders.kit import credited, scheme_valid_for_a_year
from tests.orders.test_participant_side import PASSWORD, with_password
from tests.waves.factory import verified

pytestmark = pytest.mark.django_db

MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
ANSWERS = {
    "employment_status": "business_owner",
    "training_helped": "yes",
    "training_effective": "yes",
}


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


# --- given -----------------------------------------------------------------------------------------


def signed_in(client: Client, person: Participant, *, language: str = "id") -> Client:
    registrant = with_password(person)
    assert (
        client.post("/masuk/", {"email": registrant.email, "password": PASSWORD}).status_code == 302
    )
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def another_nik(person: Participant) -> str:
    nik = nik_of(person)
    return nik[:-1] + str((int(nik[-1]) + 1) % 10)


def link_through_the_page(browser: Client, person: Participant, code: str = "ovo") -> Any:
    return browser.post(
        "/insentif/rekening/", {"institution": code, "account_number": person.registrant.phone}
    )


@contextmanager
def entitled(
    client: Client, monkeypatch: Any, *, language: str = "en"
) -> Iterator[tuple[Client, Participant]]:
    """A participant whose e-wallet the sandbox OVO verified through the page (four incentives
    granted), signed in; the bank runs until the block ends."""
    (person,) = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person)])
        browser = signed_in(client, person, language=language)
        assert link_through_the_page(browser, person).status_code == 302
        yield browser, person


@pytest.fixture
def ovo_participant(client: Client, monkeypatch: Any) -> Iterator[tuple[Client, Participant]]:
    """(browser in English, participant) with a verified OVO e-wallet and four incentives."""
    with entitled(client, monkeypatch) as given:
        yield given


# --- reading pages ---------------------------------------------------------------------------------


def text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def part(page: str, element_id: str) -> str:
    """The visible text of the element with that id, up to its closing tag."""
    at = page.index(f'id="{element_id}"')
    start = page.rindex("<", 0, at)
    tag = re.match(r"<(\w+)", page[start:]).group(1)  # type: ignore[union-attr]
    return text(page[start : page.index(f"</{tag}>", at)])


def get(browser: Client, path: str = "/insentif/") -> str:
    response = browser.get(path)
    assert response.status_code == 200
    return response.content.decode()


def day(date: datetime.date, language: str = "en") -> str:
    return f"{date.day} {MONTHS[language][date.month - 1]} {date.year}"


def due_dates() -> list[datetime.date]:
    return [months_after(today_wib(), month) for month in range(4)]


def written() -> dict[str, Any]:
    """Everything a link or a survey could write."""
    return {
        "accounts": list(
            PaymentAccount.objects.order_by("pk").values_list(
                "pk", "status", "reason_code", "account_number", "ended_at"
            )
        ),
        "entitlements": list(
            Entitlement.objects.order_by("pk").values_list(
                "pk", "kind", "sequence", "status", "hold_reason", "amount_idr"
            )
        ),
        "surveys": list(SurveyResponse.objects.order_by("pk").values_list("pk", "sequence")),
        "audit": AuditEvent.objects.count(),
        "events": OutboundEvent.objects.count(),
        "transactions": Transaction.objects.count(),
    }


# --- who may see it --------------------------------------------------------------------------------


def test_signing_in_is_needed(client: Client):
    for path in ("/insentif/", "/insentif/survei/1/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/masuk/?next={path}")


def test_a_registrant_who_is_not_a_participant_is_told_so(client: Client):
    (registrant,) = verified(1)
    Registrant.objects.filter(pk=registrant.pk).update(password=make_password(PASSWORD))
    client.post("/masuk/", {"email": registrant.email, "password": PASSWORD})

    response = client.get("/insentif/")

    assert response.status_code == 404
    assert (
        "Anda belum menjadi peserta Kartu Prakerja. Ikuti gelombang yang dibuka dan tunggu hasil "
        "seleksinya." in response.content.decode()
    )


def test_the_home_page_links_to_the_incentives(client: Client):
    page = client.get("/").content.decode()
    assert '<a class="button" id="incentives-link" href="/insentif/">Insentif saya</a>' in page


# --- what is missing, and linking an account --------------------------------------------------------


def test_before_a_reviewed_training_the_page_says_what_is_missing(client: Client):
    (person,) = credited(1)
    institution("ovo")

    page = get(signed_in(client, person))

    assert part(page, "missing") == (
        "Sebelum insentif pertama "
        "Selesaikan pelatihan, dapatkan sertifikatnya, lalu beri rating dan ulasan. "
        "Pelatihan saya "
        "Hubungkan rekening bank atau dompet digital atas nama Anda sendiri, dan tunggu sampai "
        "terverifikasi. Hubungkan rekening "
        "Setelah itu Anda menerima Rp600.000 per bulan selama 4 bulan."
    )
    assert '<a href="/pelatihan-saya/">Pelatihan saya</a>' in page
    assert part(page, "account") == (
        "Rekening pembayaran Belum ada rekening yang terhubung. Insentif dibayarkan ke rekening "
        "bank atau dompet digital atas nama Anda sendiri."
    )
    assert part(page, "schedule") == "Jadwal insentif Belum ada insentif."
    assert part(page, "surveys") == (
        "Survei Setiap survei dibuka pada tanggal bayar insentif dengan nomor yang sama."
    )
    # The e-wallet form offers the registered number, read-only
    assert (
        '<input type="tel" id="wallet-phone" name="account_number" '
        f'value="{person.registrant.phone}" readonly>'
    ) in page


def test_linking_an_e_wallet_verifies_it_and_schedules_the_incentives(
    client: Client, monkeypatch: Any
):
    (person,) = completed_and_reviewed(1)
    browser = signed_in(client, person, language="en")
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person)])
        before = get(browser)

        linked = link_through_the_page(browser, person)
        page = get(browser, linked["Location"])

    assert part(before, "missing") == (
        "Before your first incentive "
        "Link a bank account or e-wallet in your own name, and wait until it is verified. "
        "Link an account "
        "Then you receive Rp600.000 a month for 4 months."
    )
    assert (linked.status_code, linked["Location"]) == (302, "/insentif/#account")
    assert 'role="status">Your account is verified. Your incentives are paid into it.</div>' in page
    assert part(page, "account") == (
        f"Payment account OVO · {person.registrant.phone} Verified "
        f"Account holder: Peserta {person.pk}. Your incentives are paid into this account."
    )
    assert 'id="missing"' not in page
    dates = due_dates()
    assert [part(page, f"entitlement-incentive-{n}") for n in (1, 2, 3, 4)] == [
        f"Incentive 1 of 4 Amount Rp600.000 Due date {day(dates[0])} Status To be paid",
        f"Incentive 2 of 4 Amount Rp600.000 Due date {day(dates[1])} Status Scheduled",
        f"Incentive 3 of 4 Amount Rp600.000 Due date {day(dates[2])} Status Scheduled",
        f"Incentive 4 of 4 Amount Rp600.000 Due date {day(dates[3])} Status Scheduled",
    ]
    assert part(page, "surveys") == (
        "Surveys Fill in each survey to receive Rp50.000. Fill in survey 1"
    )
    assert list(PaymentAccount.objects.values_list("institution__code", "status")) == [
        ("ovo", "verified")
    ]
    assert list(
        Entitlement.objects.order_by("sequence").values_list("kind", "amount_idr", "due_on")
    ) == [("incentive", 600_000, date) for date in dates]


def test_a_bni_virtual_account_is_linked_with_its_number(client: Client, monkeypatch: Any):
    (person,) = completed_and_reviewed(1)
    institution("ovo")  # an e-wallet is offered too, in its own form
    browser = signed_in(client, person)
    with sandbox_bank("bni", monkeypatch) as bank:
        bank.add_accounts(
            [wallet(person, account_type="virtual_account", account_number="8808123456789012")]
        )
        form = part(get(browser), "link-bni")
        linked = browser.post(
            "/insentif/rekening/", {"institution": "bni", "account_number": "8808 1234 5678 9012"}
        )
        page = get(browser, linked["Location"])

    assert form == "Nomor virtual account BNI Hubungkan BNI"
    assert 'id="link-e-wallet"' in get(browser)
    assert part(page, "account") == (
        "Rekening pembayaran BNI · 8808123456789012 Terverifikasi "
        f"Pemilik rekening: Peserta {person.pk}. Insentif Anda dibayarkan ke rekening ini."
    )
    assert Entitlement.objects.filter(participant=person, status="due").count() == 4


def test_a_wallet_in_someone_elses_name_is_rejected_with_what_to_do(
    client: Client, monkeypatch: Any
):
    (person,) = completed_and_reviewed(1)
    browser = signed_in(client, person)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person, nik=another_nik(person))])
        linked = link_through_the_page(browser, person)
        page = get(browser, linked["Location"])
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        english = get(browser)

    assert 'role="alert">OVO tidak menerima rekening ini: Rekening ini atas nama orang lain' in page
    assert part(page, "account") == (
        f"Rekening pembayaran OVO · {person.registrant.phone} Tidak diterima "
        "Rekening ini atas nama orang lain: NIK pemiliknya bukan NIK Anda. "
        "Yang perlu dilakukan: Gunakan rekening atas nama Anda sendiri yang terdaftar dengan NIK "
        "Anda, lalu hubungkan di bawah ini."
    )
    assert part(english, "account") == (
        f"Payment account OVO · {person.registrant.phone} Not accepted "
        "The account is in someone else's name: its owner's NIK is not yours. "
        "What to do: Use an account in your own name, registered with your own NIK, and link it "
        "below."
    )
    assert 'id="link-e-wallet"' in english  # the form to link another one
    assert list(PaymentAccount.objects.values_list("status", "reason_code")) == [
        ("rejected", "NIK_MISMATCH")
    ]
    assert Entitlement.objects.count() == 0


@pytest.mark.parametrize(
    ("book", "code", "why", "todo"),
    [
        (
            {"kyc_level": "basic"},
            "NOT_UPGRADED",
            "The e-wallet is not upgraded to premium (KYC), so it cannot receive the incentive.",
            "Upgrade the e-wallet to premium in its app (verify it with your ID card), then link "
            "it again below.",
        ),
        (
            {"status": "inactive"},
            "ACCOUNT_INACTIVE",
            "The account is not active.",
            "Activate it at OVO, then link it again below.",
        ),
        (
            None,  # not in the institution's book
            "ACCOUNT_NOT_FOUND",
            "The bank or e-wallet did not find this account.",
            "Check the number and link it again below, or open an account first.",
        ),
    ],
)
def test_each_refused_account_says_why_and_what_to_do(
    client: Client, monkeypatch: Any, book: dict[str, str] | None, code: str, why: str, todo: str
):
    (person,) = completed_and_reviewed(1)
    browser = signed_in(client, person, language="en")
    with sandbox_bank("ovo", monkeypatch) as bank:
        if book is not None:
            bank.add_accounts([wallet(person, **book)])
        linked = link_through_the_page(browser, person)
        page = get(browser, linked["Location"])

    assert f'role="alert">OVO did not accept the account: {why} {todo}</div>' in page
    assert 'data-status="rejected"' in page
    assert part(page, "account") == (
        f"Payment account OVO · {person.registrant.phone} Not accepted {why} What to do: {todo}"
    )
    assert list(PaymentAccount.objects.values_list("status", "reason_code")) == [("rejected", code)]


def test_an_account_the_institution_has_not_answered_for_is_being_checked(
    client: Client, monkeypatch: Any
):
    (person,) = completed_and_reviewed(1)
    institution("ovo")
    monkeypatch.setenv("PRAKERJA_BANK_URLS", "ovo=http://127.0.0.1:9")  # nobody answers there
    monkeypatch.setenv("PRAKERJA_ADAPTER_TIMEOUT_S", "2")
    browser = signed_in(client, person)

    linked = link_through_the_page(browser, person)
    page = get(browser, linked["Location"])

    assert "OVO masih memeriksa rekening ini. Buka lagi halaman ini beberapa menit lagi." in page
    assert 'data-status="checking"' in page
    assert part(page, "account") == (
        f"Rekening pembayaran OVO · {person.registrant.phone} Sedang diperiksa "
        "Rekening ini sedang diperiksa oleh OVO. Buka lagi halaman ini beberapa menit lagi."
    )
    assert 'id="missing-account"' in page
    assert list(PaymentAccount.objects.values_list("status")) == [("checking",)]


def test_a_phone_change_unlinks_the_wallet_holds_the_payments_and_says_what_to_do(
    client: Client, ovo_participant: tuple[Client, Participant]
):
    browser, person = ovo_participant
    with transaction.atomic():
        payment_accounts_phone_changed(
            registrant_id=person.registrant_id, actor=Actor.participant(person.registrant_id)
        )

    page = get(browser)

    why = "Your mobile number changed, so the e-wallet of your old number can no longer be paid."
    todo = "Link an e-wallet registered with your new number below."
    assert part(page, "account") == (
        f"Payment account OVO · {person.registrant.phone} Unlinked {why} What to do: {todo}"
    )
    assert 'data-status="unlinked"' in page
    assert part(page, "entitlement-incentive-2") == (
        f"Incentive 2 of 4 Amount Rp600.000 Due date {day(due_dates()[1])} Status On hold "
        f"{why} What to do: {todo}"
    )


# --- the schedule: holds, transfers in flight, paid ------------------------------------------------

HOLDS = {
    HoldReason.NO_ACCOUNT: (
        "There is no verified bank account or e-wallet to pay into.",
        "Link a bank account or e-wallet in your own name below.",
    ),
    HoldReason.NIK_MISMATCH: (
        "The account is in someone else's name: its owner's NIK is not yours.",
        "Use an account in your own name, registered with your own NIK, and link it below.",
    ),
    HoldReason.NOT_UPGRADED: (
        "The e-wallet is not upgraded to premium (KYC), so it cannot receive the incentive.",
        "Upgrade the e-wallet to premium in its app (verify it with your ID card), then link it "
        "again below.",
    ),
    HoldReason.ACCOUNT_INACTIVE: (
        "The account is not active.",
        "Activate it at OVO, then link it again below.",
    ),
    HoldReason.ACCOUNT_NOT_FOUND: (
        "The bank or e-wallet did not find this account.",
        "Check the number and link it again below, or open an account first.",
    ),
    HoldReason.PHONE_CHANGED: (
        "Your mobile number changed, so the e-wallet of your old number can no longer be paid.",
        "Link an e-wallet registered with your new number below.",
    ),
    HoldReason.LIMIT_REACHED: (
        "The e-wallet's balance or monthly limit was reached, so it could not receive the "
        "transfer.",
        "Make room in the e-wallet (use some of its balance, or upgrade it), then link it again "
        "below, or link another account.",
    ),
    HoldReason.ATTEMPTS_EXHAUSTED: (
        "The transfer failed several times.",
        "Ask OVO whether the account can receive money, then link it again below, or link "
        "another account. The payment is tried again once the account is verified.",
    ),
    HoldReason.EXCLUDED: (
        "Your NIK is on a list of people the program cannot pay, for example recipients of other "
        "social assistance or civil servants.",
        "If you think this is a mistake, contact the Kartu Prakerja help desk.",
    ),
    HoldReason.FAST_COMPLETION: (
        "Your training was reported completed in less time than the training takes, so the "
        "program is checking the completion before paying the incentive.",
        "Nothing for now: the Kartu Prakerja program management office is checking it and the "
        "incentive is paid if the completion stands. If you believe this is a mistake, file a "
        "complaint with the Kartu Prakerja help desk.",
    ),
    HoldReason.REVIEW_FLAGGED: (
        "Your training review has the same text as a review from another account, so the "
        "program is checking it before paying the incentive.",
        "Nothing for now: the Kartu Prakerja program management office is checking it and the "
        "incentive is paid if the review stands. If you believe this is a mistake, file a "
        "complaint with the Kartu Prakerja help desk.",
    ),
}


def test_every_hold_reason_has_words():
    assert set(HOLDS) == set(HoldReason)


@pytest.mark.parametrize("reason", list(HoldReason))
def test_each_hold_reason_says_why_and_what_to_do(
    client: Client, ovo_participant: tuple[Client, Participant], reason: str
):
    browser, person = ovo_participant
    assert entitlements_hold(participant_ids=[person.pk], reason=reason) == 4

    page = get(browser)

    why, todo = HOLDS[reason]
    assert f'id="entitlement-incentive-1" data-status="held" data-reason="{reason}"' in page
    assert part(page, "entitlement-incentive-1") == (
        f"Incentive 1 of 4 Amount Rp600.000 Due date {day(due_dates()[0])} Status On hold "
        f"{why} What to do: {todo}"
    )


def test_holds_are_explained_in_indonesian(client: Client, monkeypatch: Any):
    with entitled(client, monkeypatch, language="id") as (browser, person):
        entitlements_hold(participant_ids=[person.pk], reason=HoldReason.EXCLUDED)
        excluded = part(get(browser), "entitlement-incentive-2")
        Entitlement.objects.filter(participant=person).update(hold_reason=HoldReason.LIMIT_REACHED)
        limit = part(get(browser), "entitlement-incentive-2")
        Entitlement.objects.filter(participant=person).update(hold_reason=HoldReason.NOT_UPGRADED)
        upgrade = part(get(browser), "entitlement-incentive-2")

    head = f"Insentif ke-2 dari 4 Jumlah Rp600.000 Tanggal bayar {day(due_dates()[1], 'id')} "
    assert excluded == head + (
        "Status Ditahan NIK Anda ada dalam daftar orang yang tidak dapat dibayar oleh program, "
        "misalnya penerima bantuan sosial lain atau aparatur sipil negara. "
        "Yang perlu dilakukan: Jika menurut Anda ini keliru, hubungi layanan bantuan Kartu "
        "Prakerja."
    )
    assert limit == head + (
        "Status Ditahan Saldo atau batas bulanan dompet digital sudah tercapai, sehingga transfer "
        "tidak dapat diterima. Yang perlu dilakukan: Kurangi saldo dompet digital (gunakan "
        "sebagian saldonya, atau upgrade ke premium), lalu hubungkan lagi di bawah ini, atau "
        "hubungkan rekening lain."
    )
    assert upgrade == head + (
        "Status Ditahan Dompet digital ini belum di-upgrade ke premium (KYC), sehingga tidak dapat "
        "menerima insentif. Yang perlu dilakukan: Upgrade dompet digital ke premium di "
        "aplikasinya (verifikasi dengan KTP Anda), lalu hubungkan lagi di bawah ini."
    )


def test_a_transfer_in_progress_then_paid(
    client: Client,
    ovo_participant: tuple[Client, Participant],
    django_capture_on_commit_callbacks: Any,
):
    browser, person = ovo_participant
    run = run_prepare(run_date=months_ahead(4), actor=MAKER)
    assert run.instructions_count == 4

    in_flight = get(browser)
    with django_capture_on_commit_callbacks(execute=True):
        run_approve(run=run, actor=CHECKER)
    assert batches_results_query() == 1
    paid = get(browser)

    dates = due_dates()
    assert part(in_flight, "entitlement-incentive-3") == (
        f"Incentive 3 of 4 Amount Rp600.000 Due date {day(dates[2])} Status Transfer in progress "
        "The money has been sent to your account. It usually arrives within a day."
    )
    paid_at = Entitlement.objects.get(participant=person, sequence=3).paid_at
    assert paid_at is not None
    assert part(paid, "entitlement-incentive-3") == (
        f"Incentive 3 of 4 Amount Rp600.000 Due date {day(dates[2])} "
        f"Status Paid on {format_wib(paid_at, language='en')}"
    )
    assert paid.count('data-status="paid"') == 4


# --- refusals of a link ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "institution_code", "number", "status", "element", "message"),
    [
        (
            "id",
            "dana",
            "081234567890",
            404,
            "link-error",
            "Bank atau dompet digital ini tidak melayani pembayaran insentif Prakerja.",
        ),
        (
            "id",
            "bni",
            "12-34",
            422,
            "number-bni-error",
            "Nomor virtual account harus 8 sampai 20 angka.",
        ),
        (
            "id",
            "ovo",
            "12345",
            422,
            "wallet-error",
            "Nomor ponsel tidak valid. Contoh: 0812 3456 7890.",
        ),
        (
            "en",
            "ovo",
            "0812 9999 8888",
            409,  # PHONE_NOT_REGISTERED: a rule of the person's own data, not of the form
            "wallet-error",
            "An e-wallet can only be linked with your registered mobile number, {phone}.",
        ),
        (
            "en",
            "",
            "",
            404,
            "link-error",
            "This bank or e-wallet does not pay Prakerja incentives.",
        ),
        (
            "en",
            "gopay",  # one of the program's institutions, but not (yet) a partner here
            "081234567890",
            404,
            "link-error",
            "This bank or e-wallet does not pay Prakerja incentives.",
        ),
    ],
)
def test_a_refused_link_is_shown_on_its_form_and_changes_nothing(
    client: Client,
    monkeypatch: Any,
    language: str,
    institution_code: str,
    number: str,
    status: int,
    element: str,
    message: str,
):
    with entitled(client, monkeypatch, language=language) as (browser, person):
        institution("bni")
        before = written()

        refused = browser.post(
            "/insentif/rekening/", {"institution": institution_code, "account_number": number}
        )

    page = refused.content.decode()
    assert refused.status_code == status
    assert part(page, element) == message.format(phone=person.registrant.phone)
    assert written() == before
    assert 'data-status="verified"' in page  # the current account stays as it was
    if institution_code == "bni":
        assert 'value="12-34" aria-invalid="true"' in page  # the number typed is kept


def test_a_revoked_participant_cannot_link_and_is_told_why(client: Client):
    (person,) = credited(1)
    institution("ovo")
    Participant.objects.filter(pk=person.pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(days=1)
    )
    assert participants_revoke_due(actor=Actor.system("tests")) == 1
    browser = signed_in(client, person)
    before = written()

    page = get(browser)
    refused = link_through_the_page(browser, person)

    assert (
        part(page, "not-active")
        == "Kepesertaan Kartu Prakerja Anda tidak aktif, sehingga tidak menerima insentif."
    )
    assert 'id="link"' not in page
    assert refused.status_code == 409
    assert part(refused.content.decode(), "not-active") == (
        "Kepesertaan Kartu Prakerja Anda tidak aktif, sehingga tidak menerima insentif."
    )
    assert written() == before


# --- surveys ---------------------------------------------------------------------------------------


def test_a_survey_is_sent_once_and_earns_exactly_one_survey_incentive(
    client: Client, monkeypatch: Any
):
    with entitled(client, monkeypatch, language="id") as (browser, person):
        form = get(browser, "/insentif/survei/1/")
        before = written()
        empty = browser.post("/insentif/survei/1/", {})
        wrong = browser.post("/insentif/survei/1/", {**ANSWERS, "employment_status": "astronaut"})
        after_refusals = written()
        sent = browser.post("/insentif/survei/1/", ANSWERS)
        page = get(browser, sent["Location"])
        once = written()
        again = browser.post("/insentif/survei/1/", ANSWERS)
        shown_again = get(browser, "/insentif/survei/1/")

    assert part(form, "survey-form") == (
        "1. Apa status pekerjaan Anda saat ini? Belum bekerja / tidak bekerja Karyawan / pekerja "
        "Wirausaha "
        "2. Apakah pelatihan dan insentif membantu Anda? Ya Tidak "
        "3. Apakah pelatihan efektif meningkatkan keterampilan Anda? Ya Tidak "
        "Kirim survei"
    )
    assert "Jawab semua pertanyaan lalu kirim survei: setelah itu Anda menerima Rp50.000." in form
    # Refused answers: each question with its reason, the answers given kept, nothing written
    assert empty.status_code == 422
    empty_page = empty.content.decode()
    assert part(empty_page, "survey-invalid") == (
        "Ada jawaban yang kosong atau tidak valid: lihat catatan di bawah pertanyaan."
    )
    assert [part(empty_page, f"question-{code}") for code in ANSWERS] == [
        "1. Apa status pekerjaan Anda saat ini? Belum bekerja / tidak bekerja Karyawan / pekerja "
        "Wirausaha Wajib diisi.",
        "2. Apakah pelatihan dan insentif membantu Anda? Ya Tidak Wajib diisi.",
        "3. Apakah pelatihan efektif meningkatkan keterampilan Anda? Ya Tidak Wajib diisi.",
    ]
    assert wrong.status_code == 422
    wrong_page = wrong.content.decode()
    assert part(wrong_page, "question-employment_status").endswith("Pilih salah satu pilihan.")
    assert 'value="yes" required checked' in part_markup(wrong_page, "question-training_helped")
    assert after_refusals == before
    # Sent: back to the incentives with the amount, one response and one survey incentive
    assert (sent.status_code, sent["Location"]) == (302, "/insentif/#surveys")
    assert 'role="status">Terima kasih. Rp50.000 akan dibayarkan untuk survei ini.</div>' in page
    response = SurveyResponse.objects.get()
    assert (response.participant_id, response.sequence, response.answers) == (
        person.pk,
        1,
        ANSWERS,
    )
    assert list(
        Entitlement.objects.filter(kind="survey").values_list(
            "participant_id", "sequence", "amount_idr", "due_on", "status"
        )
    ) == [(person.pk, 1, 50_000, today_wib(), "due")]
    assert balance(AccountKind.INCENTIVE_PAYABLE, person.pk) == 4 * 600_000 + 50_000
    assert part(page, "entitlement-survey-1") == (
        f"Insentif survei ke-1 Jumlah Rp50.000 Tanggal bayar {day(today_wib(), 'id')} "
        "Status Segera dibayar"
    )
    assert part(page, "surveys") == (
        f"Survei Survei ke-1: dikirim {format_wib(response.submitted_at)} "
        "Setiap survei dibuka pada tanggal bayar insentif dengan nomor yang sama."
    )
    # A second time: refused, nothing more
    assert again.status_code == 409
    assert part(again.content.decode(), "survey-refused") == "Anda sudah mengisi survei ini."
    assert written() == once
    assert part(shown_again, "survey-refused") == "Anda sudah mengisi survei ini."
    assert 'id="survey-form"' not in shown_again


def part_markup(page: str, element_id: str) -> str:
    at = page.index(f'id="{element_id}"')
    return page[at : page.index("</div>", at)]


def test_a_survey_not_open_yet_is_refused_and_changes_nothing(
    client: Client, ovo_participant: tuple[Client, Participant]
):
    browser, _ = ovo_participant
    before = written()

    shown = get(browser, "/insentif/survei/2/")
    sent = browser.post("/insentif/survei/2/", ANSWERS)
    far = browser.post("/insentif/survei/99999/", ANSWERS)

    message = "This survey cannot be filled in yet. Survey 2 opens with incentive 2."
    assert part(shown, "survey-refused") == message
    assert 'id="survey-form"' not in shown
    assert sent.status_code == 409
    assert part(sent.content.decode(), "survey-refused") == message
    assert far.status_code == 409
    assert "Survey 99999 opens with incentive 99999." in far.content.decode()
    assert written() == before


def test_the_survey_is_asked_in_english_when_chosen(
    client: Client, ovo_participant: tuple[Client, Participant]
):
    browser, _ = ovo_participant

    form = get(browser, "/insentif/survei/1/")

    assert part(form, "survey-form") == (
        "1. What is your employment status now? Not working Employee Running a business "
        "2. Did the training and the incentive help you? Yes No "
        "3. Was the training effective in improving your skills? Yes No "
        "Send the survey"
    )
    assert "Answer every question and send the survey: you then receive Rp50.000." in form
