"""The participant's complaint pages under /pengaduan/ and the API under /api/v1/me/complaints:
filing through the form (with and without an attachment), the list and a complaint's page with
what happens next, refusals shown on the form with nothing written, and another participant's
complaint answered 404 everywhere."""

import datetime
import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from prakerja.common.actors import Actor
from prakerja.common.timeutil import format_wib
from prakerja.grievances.models import Complaint
from prakerja.grievances.services import (
    complaint_assign,
    complaint_file,
    complaint_resolve,
    complaint_triage,
)
from tests.grievances.kit import (
    PASSWORD,
    PDF,
    T0,
    as_participant,
    counts,
    jpeg_with_exif,
    portal_client,
    registrant,
    staff,
)

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match, element_id
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def filed(person, *, at=T0, **fields) -> Complaint:  # type: ignore[no-untyped-def]
    return complaint_file(
        registrant=person,
        category=fields.pop("category", "voucher"),
        text=fields.pop("text", "Voucher saya ditolak platform."),
        actor=as_participant(person),
        now=at,
        **fields,
    )


# --- pages ----------------------------------------------------------------------------------------


def test_pages_need_a_signed_in_registrant() -> None:
    for path in ("/pengaduan/", "/pengaduan/baru/", "/pengaduan/1/", "/pengaduan/1/lampiran/"):
        answer = Client().get(path)
        assert (answer.status_code, answer["Location"]) == (302, f"/masuk/?next={path}")


def test_the_status_page_links_to_the_complaints() -> None:
    page = portal_client(registrant(), language="en").get("/status/").content.decode()
    assert '<a id="complaints-link" href="/pengaduan/">Complaints</a>' in page


def test_filing_through_the_form_without_attachment() -> None:
    person = registrant()
    browser = portal_client(person, language="en")
    form = browser.get("/pengaduan/baru/")
    assert form.status_code == 200
    assert 'name="category" value="payment"' in form.content.decode()
    assert 'name="related"' not in form.content.decode()  # nothing of theirs to point at yet

    answer = browser.post(
        "/pengaduan/baru/", {"category": "payment", "text": "Insentif belum masuk."}
    )

    complaint = Complaint.objects.get()
    assert (answer.status_code, answer["Location"]) == (302, f"/pengaduan/{complaint.pk}/")
    assert (complaint.registrant_id, complaint.category, complaint.text) == (
        person.pk,
        "payment",
        "Insentif belum masuk.",
    )
    assert complaint.attachment_type == ""
    assert complaint.first_response_due_at - complaint.filed_at == 24 * H
    due = format_wib(complaint.first_response_due_at, language="en")
    page = html.unescape(browser.get(answer["Location"]).content.decode())
    next_text = f"Our support team will look at your complaint by {due}."
    assert f"Your complaint #{complaint.pk} is received. {next_text}" in page
    assert text_of(page, "status") == "Received"
    assert text_of(page, "next") == next_text


def test_filing_with_a_photo_and_reading_it_back() -> None:
    person = registrant()
    browser = portal_client(person, language="en")
    upload = SimpleUploadedFile("bukti.jpg", jpeg_with_exif(), content_type="image/jpeg")

    answer = browser.post(
        "/pengaduan/baru/",
        {"category": "completion", "text": "No certificate.", "attachment": upload},
    )

    complaint = Complaint.objects.get()
    assert answer.status_code == 302
    assert (complaint.attachment_name, complaint.attachment_type) == ("bukti.jpg", "image/jpeg")
    page = browser.get(f"/pengaduan/{complaint.pk}/").content.decode()
    assert text_of(page, "attachment") == "Attachment: bukti.jpg"
    image = browser.get(f"/pengaduan/{complaint.pk}/lampiran/")
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image["Content-Disposition"] == 'inline; filename="bukti.jpg"'
    assert image["X-Content-Type-Options"] == "nosniff"
    assert b"".join(image) == bytes(Complaint.objects.get().attachment)


def test_a_pdf_is_served_only_as_a_download() -> None:
    person = registrant()
    complaint = filed(person, attachment=PDF, attachment_name="surat.pdf")
    answer = portal_client(person).get(f"/pengaduan/{complaint.pk}/lampiran/")
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"] == 'attachment; filename="surat.pdf"'
    assert b"".join(answer) == PDF


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"category": "payment", "text": ""}, "text", "This field is required."),
        (
            {"category": "payment", "text": "x" * 4001},
            "text",
            "This text is too long: at most 4000 characters.",
        ),
        (
            {"category": "payment", "text": "Foto", "attachment": ("a.gif", b"GIF89a\x01\x00")},
            "attachment",
            "The file must be a JPEG or PNG photo, or a PDF.",
        ),
        (
            {
                "category": "payment",
                "text": "Foto",
                "attachment": ("a.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024)),
            },
            "attachment",
            "The file is larger than 5 MB.",
        ),
    ],
)
def test_a_refused_form_comes_back_with_the_reason_by_its_field_and_nothing_written(
    fields: dict, field: str, message: str
) -> None:
    browser = portal_client(registrant(), language="en")
    data = dict(fields)
    if "attachment" in data:
        name, content = data["attachment"]
        data["attachment"] = SimpleUploadedFile(name, content)

    answer = browser.post("/pengaduan/baru/", data)

    assert answer.status_code == 422
    page = html.unescape(answer.content.decode())
    assert re.search(rf'id="id_{field}-error"[^>]*>{re.escape(message)}</p>', page), page
    assert counts() == (0, 0, 0)


def test_the_list_shows_only_my_complaints_with_what_happens_next() -> None:
    me, other = registrant(), registrant()
    lead = Actor.for_user(staff("lead", "grievances.view_complaint", "grievances.change_complaint"))
    waiting = filed(me, at=T0)
    answered = filed(me, at=T0 + H, category="payment")
    complaint_triage(complaint=answered, priority="high", actor=lead, now=T0 + 2 * H)
    complaint_assign(complaint=answered, assignee_id=lead.id or 0, actor=lead, now=T0 + 2 * H)
    complaint_resolve(
        complaint=answered, resolution="Sudah dibayar ulang.", actor=lead, now=T0 + 5 * H
    )
    theirs = filed(other)

    page = portal_client(me, language="en").get("/pengaduan/").content.decode()

    assert re.findall(r'id="complaint-(\d+)"', page) == [str(answered.pk), str(waiting.pk)]
    assert f'id="complaint-{theirs.pk}"' not in page
    assert "Our support team will look at your complaint by 5 May 2020 10:00 WIB." in page
    assert "Resolved on 4 May 2020 15:00 WIB. The answer is below." in page
    detail = portal_client(me, language="en").get(f"/pengaduan/{answered.pk}/").content.decode()
    assert text_of(detail, "status") == "Resolved"
    assert "Sudah dibayar ulang." in detail
    steps = re.findall(r'<li class="step-(\w+)">([^<]*)</li>', detail)
    assert steps == [
        ("filed", "Complaint sent — 4 May 2020 11:00 WIB"),
        ("triaged", "Checked by support — 4 May 2020 12:00 WIB"),
        ("assigned", "Handed to an officer — 4 May 2020 12:00 WIB"),
        ("resolved", "Resolved — 4 May 2020 15:00 WIB"),
    ]
    assert "lead" not in detail  # who handled it stays in the console


def test_another_participants_complaint_is_not_found() -> None:
    me, other = registrant(), registrant()
    theirs = filed(other, attachment=PDF, attachment_name="x.pdf")
    browser = portal_client(me)

    for path in (
        f"/pengaduan/{theirs.pk}/",
        f"/pengaduan/{theirs.pk}/lampiran/",
        "/pengaduan/999999/",
    ):
        assert browser.get(path).status_code == 404


# --- the participant API --------------------------------------------------------------------------


def token(client: Client, person) -> dict[str, str]:  # type: ignore[no-untyped-def]
    answer = client.post(
        "/api/v1/auth/login",
        {"email": person.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['token']}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_the_api_files_lists_and_shows_only_my_complaints() -> None:
    me, other = registrant(), registrant()
    portal_client(me)  # sets the password
    client = Client()
    auth = token(client, me)
    theirs = filed(other)

    created = client.post(
        "/api/v1/me/complaints",
        {
            "category": "verification",
            "text": "Swafoto saya ditolak terus.",
            "attachment": SimpleUploadedFile("s.png", jpeg_with_exif()),
        },
        **auth,
    )

    assert created.status_code == 201, created.content
    body = created.json()
    complaint = Complaint.objects.get(registrant=me)
    assert (body["id"], body["category"], body["status"], body["has_attachment"]) == (
        complaint.pk,
        "verification",
        "new",
        True,
    )
    assert body["status_text"] == "Received"
    listed = client.get("/api/v1/me/complaints", **auth).json()
    assert [c["id"] for c in listed] == [complaint.pk]
    shown = client.get(f"/api/v1/me/complaints/{complaint.pk}", **auth).json()
    assert [s["kind"] for s in shown["steps"]] == ["filed"]
    missing = client.get(f"/api/v1/me/complaints/{theirs.pk}", **auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "COMPLAINT_NOT_FOUND"


def test_the_api_refuses_a_wrong_attachment_with_its_code_and_writes_nothing() -> None:
    me = registrant()
    portal_client(me)
    client = Client()
    auth = token(client, me)
    before = counts()

    answer = client.post(
        "/api/v1/me/complaints",
        {"category": "payment", "text": "x", "attachment": SimpleUploadedFile("a.exe", b"MZ..")},
        **auth,
    )

    # The bytes are not what the document's encoding says (a photo or a PDF), which no schema
    # can check: 409, not 422.
    assert answer.status_code == 409
    assert answer.json()["error"] == {
        "code": "COMPLAINT_ATTACHMENT_UNREADABLE",
        "message": "The attachment could not be read as a JPEG/PNG photo or a PDF.",
        "details": {"attachment": "ATTACHMENT_FORMAT"},
    }
    assert counts() == before


@pytest.mark.parametrize(
    ("fields", "status", "code", "details"),
    [
        # What the schema refuses: 422 naming each field.
        ({"text": "x"}, 422, "VALIDATION_FAILED", {"category": "REQUIRED"}),
        (
            {"category": "other", "text": ""},
            422,
            "VALIDATION_FAILED",
            {
                "category": "CHOICE_INVALID",
                "text": "TOO_SHORT",
            },
        ),
        (
            {"category": "payment", "text": " x"},
            422,
            "VALIDATION_FAILED",
            {"text": "CHARACTER_INVALID"},
        ),
        (
            {"category": "payment", "text": "x" * 4001},
            422,
            "VALIDATION_FAILED",
            {"text": "TOO_LONG"},
        ),
        (
            {"category": "payment", "text": "x", "related_type": "ledger", "related_id": "05"},
            422,
            "VALIDATION_FAILED",
            {"related_type": "CHOICE_INVALID", "related_id": "INTEGER_REQUIRED"},
        ),
        (
            {"category": "payment", "text": "x", "related_type": "order", "related_id": "0"},
            422,
            "VALIDATION_FAILED",
            {"related_id": "OUT_OF_RANGE"},
        ),
        (
            {"category": "payment", "text": "x", "attachment": SimpleUploadedFile("a.png", b"")},
            422,
            "COMPLAINT_ATTACHMENT_INVALID",
            {"attachment": "ATTACHMENT_EMPTY"},
        ),
        # One of the pair without the other: fields that do not fit together.
        (
            {"category": "payment", "text": "x", "related_type": "order"},
            409,
            "FIELDS_DISAGREE",
            {"related": "INCOMPLETE"},
        ),
        # Nothing of the person's by that name.
        (
            {"category": "payment", "text": "x", "related_type": "order", "related_id": "999999"},
            404,
            "COMPLAINT_RELATED_NOT_FOUND",
            {"related": "NOT_FOUND"},
        ),
    ],
)
def test_the_api_refuses_a_filing_by_field_and_writes_nothing(
    fields: dict, status: int, code: str, details: dict
) -> None:
    me = registrant()
    portal_client(me)
    client = Client()
    auth = token(client, me)
    before = counts()

    answer = client.post("/api/v1/me/complaints", fields, **auth)

    assert answer.status_code == status
    assert (answer.json()["error"]["code"], answer.json()["error"]["details"]) == (code, details)
    assert counts() == before


def test_the_api_shows_one_complaint_by_an_integer_id_only() -> None:
    me = registrant()
    portal_client(me)
    client = Client()
    auth = token(client, me)
    complaint = filed(me)

    answers = [
        client.get(f"/api/v1/me/complaints/{path}", **auth)
        for path in (complaint.pk, f"0{complaint.pk}", "0", "x")
    ]

    assert [
        (a.status_code, a.json().get("id") or a.json()["error"]["details"]) for a in answers
    ] == [
        (200, complaint.pk),
        (422, {"complaint_id": "INTEGER_REQUIRED"}),
        (422, {"complaint_id": "OUT_OF_RANGE"}),
        (422, {"complaint_id": "INTEGER_REQUIRED"}),
    ]


def test_the_form_offers_my_own_wave_application_and_files_against_it() -> None:
    from prakerja.waves.models import WaveApplication
    from tests.waves.factory import join, open_wave

    me, other = registrant(), registrant()
    wave = open_wave(quota=2, seed="griev-pages")
    join(wave, [me, other])
    mine = WaveApplication.objects.get(registrant=me)
    theirs = WaveApplication.objects.get(registrant=other)
    browser = portal_client(me, language="en")
    before = counts()

    form = html.unescape(browser.get("/pengaduan/baru/").content.decode())
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', form)
    assert options == [
        ("", "None of these / not about one of them"),
        (f"application:{mine.pk}", f"Application to wave {wave.number}"),
    ]
    refused = browser.post(
        "/pengaduan/baru/",
        {"category": "selection", "text": "Kenapa?", "related": f"application:{theirs.pk}"},
    )
    assert refused.status_code == 422
    assert "Select a valid choice." in html.unescape(refused.content.decode())
    assert counts() == before

    answer = browser.post(
        "/pengaduan/baru/",
        {
            "category": "selection",
            "text": "Kenapa saya tidak terpilih?",
            "related": f"application:{mine.pk}",
        },
    )

    complaint = Complaint.objects.get()
    assert answer.status_code == 302
    assert (complaint.related_type, complaint.related_id) == ("application", mine.pk)
    page = html.unescape(browser.get(f"/pengaduan/{complaint.pk}/").content.decode())
    assert f"Wave selection — Application to wave {wave.number}" in page


def test_the_openapi_document_has_the_complaints_beside_the_incentives(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert "/api/v1/me/incentives" in paths
    listing = paths["/api/v1/me/complaints"]
    one = paths["/api/v1/me/complaints/{complaint_id}"]["get"]
    assert [listing["get"]["tags"], listing["post"]["tags"], one["tags"]] == [["complaints"]] * 3
    assert [listing["get"]["operationId"], listing["post"]["operationId"], one["operationId"]] == [
        "complaints_list",
        "complaint_file",
        "complaint_get",
    ]
    assert sorted(listing["get"]["responses"]) == ["200", "401"]
    assert sorted(one["responses"]) == ["200", "401", "404", "422"]
    assert sorted(listing["post"]["responses"]) == [
        "201",
        "401",
        "404",
        "409",
        "413",
        "422",
        "429",
    ]
    form = listing["post"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["required"] == ["category", "text"]
    assert form["schema"]["properties"]["attachment"] == {
        "format": "binary",
        "title": "Attachment",
        "type": "string",
        "minLength": 1,
        "maxLength": 5 * 1024 * 1024,
        "description": "A JPEG or PNG photo (kept re-encoded as JPEG, without its metadata) or a "
        "PDF, of 1 byte to 5 MB.",
    }
    assert form["encoding"] == {
        "attachment": {"contentType": "image/jpeg, image/png, application/pdf"}
    }
    assert all(
        op["security"] == [{"BearerToken": []}] for op in (listing["get"], listing["post"], one)
    )
