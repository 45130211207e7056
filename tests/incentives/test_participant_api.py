"""The participant API's incentives: GET /api/v1/me/incentives, POST /api/v1/me/payment-account and
POST /api/v1/me/surveys/{sequence}, with the bearer token and the error body of the other
participant endpoints, against a sandbox institution over HTTP; and the same data as the page."""

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.incentives.accounts import ACCOUNT_NUMBER_PATTERN, INSTITUTION_CODE_PATTERN
from prakerja.incentives.entitlements import entitlements_hold, months_after, today_wib
from prakerja.incentives.institutions import account_type_of
from prakerja.incentives.models import PaymentAccount, SurveyResponse
from prakerja.incentives.runs import run_prepare
from prakerja.incentives.surveys import SURVEY_CODE_PATTERN
from prakerja.registration.models import Registrant
from prakerja.waves.models import Participant, ProgramScheme
from prakerja.waves.revocation import participants_revoke_due
from tests.incentives.kit import (
    MAKER,
    AccountKind,
    balance,
    completed_and_reviewed,
    institution,
    link,
    months_ahead,
    sandbox_bank,
    wallet,
)
from tests.orders.kit import credited, scheme_valid_for_a_year
from tests.orders.test_participant_side import PASSWORD, token_for, with_password
from tests.portal.test_incentives_pages import another_nik, day, get, part, signed_in, written
from tests.waves.factory import verified

pytestmark = pytest.mark.django_db

ANSWERS = {
    "employment_status": "unemployed",
    "training_helped": "yes",
    "training_effective": "no",
}


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


@pytest.fixture
def ovo(monkeypatch: Any) -> Iterator[Any]:
    with sandbox_bank("ovo", monkeypatch) as bank:
        yield bank


def auth_of(client: Client, person: Participant, language: str = "en") -> dict[str, str]:
    return {
        **token_for(client, with_password(person)),
        "HTTP_ACCEPT_LANGUAGE": language,
    }


def mine(client: Client, auth: dict[str, str]) -> Any:
    answer = client.get("/api/v1/me/incentives", **auth)
    assert answer.status_code == 200, answer.content
    return answer.json()


def link_api(client: Client, auth: dict[str, str], body: Any) -> Any:
    return client.post("/api/v1/me/payment-account", body, content_type="application/json", **auth)


def survey_api(client: Client, auth: dict[str, str], sequence: Any, body: Any) -> Any:
    return client.post(
        f"/api/v1/me/surveys/{sequence}", body, content_type="application/json", **auth
    )


def utc(moment: datetime.datetime | None) -> str | None:
    """A time as the API writes it: UTC, in the JSON encoder's ISO format."""
    return DjangoJSONEncoder().default(moment.astimezone(datetime.UTC)) if moment else None


def incentive(sequence: int, due_on: datetime.date, **changes: Any) -> dict[str, Any]:
    return {
        "kind": "incentive",
        "sequence": sequence,
        "amount_idr": 600_000,
        "due_on": due_on.isoformat(),
        "status": "due",
        "hold": None,
        "paid_at": None,
        "transfer_in_progress": False,
        **changes,
    }


def due_dates() -> list[datetime.date]:
    return [months_after(today_wib(), month) for month in range(4)]


# --- reading ---------------------------------------------------------------------------------------


def test_before_anything_the_api_says_what_is_missing(client: Client):
    (person,) = credited(1)

    body = mine(client, auth_of(client, person))

    assert body == {
        "account": None,
        "entitlements": [],
        "surveys_open": [],
        "surveys_submitted": [],
        "survey_questions": ProgramScheme.objects.get(code="2020").survey_questions,
        "missing": ["TRAINING_REVIEWED", "ACCOUNT_VERIFIED"],
    }


def test_a_linked_wallet_is_verified_and_the_api_answers_what_the_page_shows(
    client: Client, ovo: Any
):
    (person,) = completed_and_reviewed(1)
    ovo.add_accounts([wallet(person)])
    auth = auth_of(client, person)

    linked = link_api(
        client, auth, {"institution": "ovo", "account_number": "0" + person.registrant.phone[3:]}
    )
    body = mine(client, auth)

    account = PaymentAccount.objects.get()
    expected_account = {
        "institution": {"code": "ovo", "name": "OVO"},
        "account_type": "e_wallet",
        "account_number": person.registrant.phone,
        "status": "verified",
        "reason": None,
        "holder_name": f"Peserta {person.pk}",
        "linked_at": utc(account.created_at),
        "checked_at": utc(account.checked_at),
    }
    assert linked.status_code == 201
    assert linked.json() == expected_account
    assert body == {
        "account": expected_account,
        "entitlements": [incentive(n + 1, date) for n, date in enumerate(due_dates())],
        "surveys_open": [1],
        "surveys_submitted": [],
        "survey_questions": person.scheme.survey_questions,
        "missing": [],
    }
    # The page shows the same account and schedule
    page = get(signed_in(Client(), person, language="en"))
    assert part(page, "account") == (
        f"Payment account OVO · {person.registrant.phone} Verified "
        f"Account holder: Peserta {person.pk}. Your incentives are paid into this account."
    )
    for item in body["entitlements"]:
        shown = part(page, f"entitlement-{item['kind']}-{item['sequence']}")
        due_on = datetime.date.fromisoformat(item["due_on"])
        assert f"Amount Rp600.000 Due date {day(due_on)} Status" in shown
        assert f'id="entitlement-incentive-{item["sequence"]}" data-status="due"' in page
    assert 'href="/insentif/survei/1/"' in page


@pytest.mark.parametrize(
    ("code", "typed", "kept"),
    [
        ("bni", "8808-1234-5678-9012", "8808123456789012"),
        ("ovo", "+62 {0}-{1}-{2}", "{phone}"),
    ],
)
def test_an_account_number_is_taken_with_spaces_or_hyphens_between_digits(
    client: Client, monkeypatch: Any, code: str, typed: str, kept: str
):
    (person,) = completed_and_reviewed(1)
    phone = person.registrant.phone  # +628…
    kept = kept.format(phone=phone)
    typed = typed.format(phone[3:6], phone[6:10], phone[10:])
    with sandbox_bank(code, monkeypatch) as bank:
        bank.add_accounts([wallet(person, account_type=account_type_of(code), account_number=kept)])
        linked = link_api(
            client, auth_of(client, person), {"institution": code, "account_number": typed}
        )

    assert linked.status_code == 201, linked.content
    assert (linked.json()["account_number"], linked.json()["status"]) == (kept, "verified")
    assert PaymentAccount.objects.get().account_number == kept


def test_a_wallet_in_someone_elses_name_is_rejected_with_why_in_the_callers_language(
    client: Client, ovo: Any
):
    (person,) = completed_and_reviewed(1)
    ovo.add_accounts([wallet(person, nik=another_nik(person))])
    auth = auth_of(client, person)

    linked = link_api(
        client, auth, {"institution": "ovo", "account_number": person.registrant.phone}
    )
    indonesian = mine(client, {**auth, "HTTP_ACCEPT_LANGUAGE": "id"})

    assert linked.status_code == 201
    assert (linked.json()["status"], linked.json()["reason"]) == (
        "rejected",
        {
            "code": "NIK_MISMATCH",
            "message": "The account is in someone else's name: its owner's NIK is not yours.",
            "todo": "Use an account in your own name, registered with your own NIK, and link it "
            "below.",
        },
    )
    assert indonesian["account"]["reason"] == {
        "code": "NIK_MISMATCH",
        "message": "Rekening ini atas nama orang lain: NIK pemiliknya bukan NIK Anda.",
        "todo": "Gunakan rekening atas nama Anda sendiri yang terdaftar dengan NIK Anda, lalu "
        "hubungkan di bawah ini.",
    }
    assert indonesian["entitlements"] == []
    assert indonesian["missing"] == ["ACCOUNT_VERIFIED"]


def test_held_payments_and_transfers_in_progress(client: Client, ovo: Any):
    held, sent = completed_and_reviewed(2)
    ovo.add_accounts([wallet(held), wallet(sent)])
    link(held, ovo)
    link(sent, ovo)
    entitlements_hold(participant_ids=[held.pk], reason="EXCLUDED")
    run = run_prepare(run_date=months_ahead(4), actor=MAKER)

    held_body = mine(client, auth_of(client, held))
    sent_body = mine(client, auth_of(client, sent))

    dates = due_dates()
    hold = {
        "code": "EXCLUDED",
        "message": "Your NIK is on a list of people the program cannot pay, for example "
        "recipients of other social assistance or civil servants.",
        "todo": "If you think this is a mistake, contact the Kartu Prakerja help desk.",
    }
    assert run.instructions_count == 4
    assert held_body["entitlements"] == [
        incentive(n + 1, date, status="held", hold=hold) for n, date in enumerate(dates)
    ]
    assert sent_body["entitlements"] == [
        incentive(n + 1, date, transfer_in_progress=True) for n, date in enumerate(dates)
    ]


# --- refusals --------------------------------------------------------------------------------------


def test_the_api_needs_a_token_and_a_participant(client: Client):
    (registrant,) = verified(1)
    Registrant.objects.filter(pk=registrant.pk).update(password=make_password(PASSWORD))
    token = client.post(
        "/api/v1/auth/login",
        {"email": registrant.email, "password": PASSWORD},
        content_type="application/json",
    ).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"institution": "ovo", "account_number": registrant.phone}

    calls = [
        lambda extra: client.get("/api/v1/me/incentives", **extra),
        lambda extra: link_api(client, extra, body),
        lambda extra: survey_api(client, extra, 1, {"answers": ANSWERS}),
    ]
    anonymous = [call({}) for call in calls]
    stranger = [call(auth) for call in calls]

    assert [(a.status_code, a.json()["error"]["code"]) for a in anonymous] == [
        (401, "UNAUTHENTICATED")
    ] * 3
    assert [(a.status_code, a.json()["error"]["code"]) for a in stranger] == [
        (404, "NOT_A_PARTICIPANT")
    ] * 3
    assert PaymentAccount.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "code", "details"),
    [
        (
            {"institution": "dana", "account_number": "081234567890"},
            404,
            "INSTITUTION_UNKNOWN",
            {"institution": "dana"},
        ),
        # Not an account number of any kind, or not a code: the schema's patterns.
        (
            {"institution": "bni", "account_number": "12"},
            422,
            "VALIDATION_FAILED",
            {"account_number": "PATTERN_MISMATCH"},
        ),
        (
            {"institution": "ovo", "account_number": "not a phone"},
            422,
            "VALIDATION_FAILED",
            {"account_number": "PATTERN_MISMATCH"},
        ),
        (
            {"institution": "ovo", "account_number": " 081234567890"},
            422,
            "VALIDATION_FAILED",
            {"account_number": "PATTERN_MISMATCH"},
        ),
        (
            {"institution": "o v o", "account_number": 81234567890},
            422,
            "VALIDATION_FAILED",
            {"institution": "PATTERN_MISMATCH", "account_number": "STRING_REQUIRED"},
        ),
        ({"institution": "ovo"}, 422, "VALIDATION_FAILED", {"account_number": "REQUIRED"}),
        (
            {"institution": "ovo", "account_number": "081234567890", "holder": "x"},
            422,
            "VALIDATION_FAILED",
            {"holder": "UNKNOWN_FIELD"},
        ),
        # An account number, but of the other kind than the institution takes.
        (
            {"institution": "bni", "account_number": "+62 812 3456 7890"},
            409,
            "FIELDS_DISAGREE",
            {"account_number": "ACCOUNT_NUMBER_INVALID"},
        ),
        (
            {"institution": "ovo", "account_number": "8808 1234 5678 9012"},
            409,
            "FIELDS_DISAGREE",
            {"account_number": "PHONE_INVALID"},
        ),
        # A mobile number, but not the registered one: the person's own data.
        (
            {"institution": "ovo", "account_number": "081299998888"},
            409,
            "PHONE_NOT_REGISTERED",
            {"account_number": "PHONE_NOT_REGISTERED"},
        ),
    ],
)
def test_a_refused_link_changes_nothing(
    client: Client, ovo: Any, body: dict[str, str], status: int, code: str, details: Any
):
    (person,) = completed_and_reviewed(1)
    ovo.add_accounts([wallet(person)])
    link(person, ovo)
    institution("bni")
    auth = auth_of(client, person)
    before = written()

    refused = link_api(client, auth, body)

    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code
    assert refused.json()["error"]["details"] == details
    assert written() == before


def test_a_revoked_participant_cannot_link(client: Client):
    (person,) = credited(1)
    institution("ovo")
    Participant.objects.filter(pk=person.pk).update(
        purchase_deadline=timezone.now() - datetime.timedelta(days=1)
    )
    assert participants_revoke_due(actor=Actor.system("tests")) == 1
    auth = auth_of(client, person, language="id")
    before = written()

    refused = link_api(
        client, auth, {"institution": "ovo", "account_number": person.registrant.phone}
    )

    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "MEMBERSHIP_NOT_ACTIVE",
        "message": "Kepesertaan Kartu Prakerja Anda tidak aktif, sehingga tidak menerima insentif.",
        "details": {"status": "revoked"},
    }
    assert written() == before


# --- surveys ---------------------------------------------------------------------------------------


def test_a_survey_is_sent_once_and_earns_exactly_one_survey_incentive(client: Client, ovo: Any):
    (person,) = completed_and_reviewed(1)
    ovo.add_accounts([wallet(person)])
    link(person, ovo)
    auth = auth_of(client, person)
    before = written()

    refusals = [
        survey_api(client, auth, 1, {"answers": {}}),
        survey_api(client, auth, 1, {"answers": {**ANSWERS, "training_helped": "maybe"}}),
        survey_api(client, auth, 1, {"answers": {**ANSWERS, "salary": "high"}}),
        survey_api(client, auth, 2, {"answers": ANSWERS}),
        survey_api(client, auth, 1, {"answers": {**ANSWERS, "training_helped": 1}}),
        survey_api(client, auth, 1, {"answers": {**ANSWERS, "training helped": "yes"}}),
        survey_api(client, auth, 1, {"answers": ANSWERS, "sequence": 1}),
        survey_api(client, auth, 99999, {"answers": ANSWERS}),
        survey_api(client, auth, "01", {"answers": ANSWERS}),
    ]
    after_refusals = written()
    sent = survey_api(client, auth, 1, {"answers": ANSWERS})
    once = written()
    again = survey_api(client, auth, 1, {"answers": ANSWERS})
    body = mine(client, auth)

    assert [
        (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"]) for r in refusals
    ] == [
        # Answers that do not fit the scheme's questions (data, not the document's): 409.
        (
            409,
            "SURVEY_ANSWERS_MISMATCH",
            {
                "employment_status": "REQUIRED",
                "training_helped": "REQUIRED",
                "training_effective": "REQUIRED",
            },
        ),
        (409, "SURVEY_ANSWERS_MISMATCH", {"training_helped": "CHOICE_INVALID"}),
        (409, "SURVEY_ANSWERS_MISMATCH", {"salary": "UNKNOWN_QUESTION"}),
        (409, "SURVEY_NOT_OPEN", {"sequence": 2}),
        # What the schema refuses: 422.
        (422, "VALIDATION_FAILED", {"answers.training_helped": "STRING_REQUIRED"}),
        (422, "VALIDATION_FAILED", {"answers.training helped.[key]": "PATTERN_MISMATCH"}),
        (422, "VALIDATION_FAILED", {"sequence": "UNKNOWN_FIELD"}),
        (422, "VALIDATION_FAILED", {"sequence": "OUT_OF_RANGE"}),
        (422, "VALIDATION_FAILED", {"sequence": "INTEGER_REQUIRED"}),
    ]
    assert refusals[3].json()["error"]["message"] == (
        "This survey cannot be filled in yet. Survey 2 opens with incentive 2."
    )
    assert after_refusals == before
    response = SurveyResponse.objects.get()
    survey_incentive = {
        "kind": "survey",
        "sequence": 1,
        "amount_idr": 50_000,
        "due_on": today_wib().isoformat(),
        "status": "due",
        "hold": None,
        "paid_at": None,
        "transfer_in_progress": False,
    }
    assert sent.status_code == 201
    assert sent.json() == {
        "sequence": 1,
        "submitted_at": utc(response.submitted_at),
        "incentive": survey_incentive,
    }
    assert (response.sequence, response.answers) == (1, ANSWERS)
    assert balance(AccountKind.INCENTIVE_PAYABLE, person.pk) == 4 * 600_000 + 50_000
    assert (again.status_code, again.json()["error"]["code"]) == (409, "SURVEY_ALREADY_SUBMITTED")
    assert written() == once
    assert body["surveys_open"] == []
    assert body["surveys_submitted"] == [
        {"sequence": 1, "submitted_at": utc(response.submitted_at)}
    ]
    assert body["entitlements"][-1] == survey_incentive
    assert len(body["entitlements"]) == 5


# --- the document ----------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_incentive_endpoints(client: Client):
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]

    read = paths["/api/v1/me/incentives"]["get"]
    linking = paths["/api/v1/me/payment-account"]["post"]
    survey = paths["/api/v1/me/surveys/{sequence}"]["post"]
    assert [read["tags"], linking["tags"], survey["tags"]] == [["incentives"]] * 3
    assert [op["operationId"] for op in (read, linking, survey)] == [
        "incentives_get",
        "payment_account_link",
        "survey_submit",
    ]
    assert [sorted(op["responses"]) for op in (read, linking, survey)] == [
        ["200", "401", "404"],
        ["201", "401", "404", "409", "422"],
        ["201", "401", "404", "409", "422"],
    ]
    assert all(op["security"] == [{"BearerToken": []}] for op in (read, linking, survey))
    for code in (
        "INSTITUTION_UNKNOWN",
        "MEMBERSHIP_NOT_ACTIVE",
        "PHONE_NOT_REGISTERED",
        "FIELDS_DISAGREE",
    ):
        assert code in linking["description"]
    for code in (
        "SURVEY_NOT_OPEN",
        "SURVEY_ALREADY_SUBMITTED",
        "SURVEY_ANSWERS_MISMATCH",
        "UNKNOWN_QUESTION",
    ):
        assert code in survey["description"]
    assert survey["parameters"][0]["schema"] == {
        "description": "The survey's number (survey k opens with incentive k).",
        "examples": [1],
        "maximum": 32767,
        "minimum": 1,
        "title": "Sequence",
        "type": "integer",
    }
    schemas = spec["components"]["schemas"]
    assert list(schemas["IncentivesOut"]["properties"]) == [
        "account",
        "entitlements",
        "surveys_open",
        "surveys_submitted",
        "survey_questions",
        "missing",
    ]
    assert list(schemas["EntitlementOut"]["properties"]) == [
        "kind",
        "sequence",
        "amount_idr",
        "due_on",
        "status",
        "hold",
        "paid_at",
        "transfer_in_progress",
    ]
    linking_in = schemas["PaymentAccountIn"]
    assert list(linking_in["properties"]) == ["institution", "account_number"]
    assert (linking_in["additionalProperties"], linking_in["required"]) == (
        False,
        ["institution", "account_number"],
    )
    assert [linking_in["properties"][name]["pattern"] for name in linking_in["properties"]] == [
        INSTITUTION_CODE_PATTERN,
        ACCOUNT_NUMBER_PATTERN,
    ]
    answers = schemas["SurveyIn"]["properties"]["answers"]
    # Every key a code (propertyNames), every value a code: nothing else gets through.
    assert (answers["propertyNames"], answers["additionalProperties"]) == (
        {"pattern": SURVEY_CODE_PATTERN},
        {"type": "string", "pattern": SURVEY_CODE_PATTERN},
    )
    assert schemas["SurveyIn"]["additionalProperties"] is False
    assert client.get("/api/v1/docs").status_code == 200
