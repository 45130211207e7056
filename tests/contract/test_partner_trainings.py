"""The partner API's training calls (partner-api.md, "Digital platforms"), tested through their signed
HTTP contract: PUT and DELETE /api/partner/v1/trainings/{external_id} with the SNAP-style headers,
idempotency by X-EXTERNAL-ID, and every refusal with its code — and on every refused path, nothing
changed."""

import datetime
import json
import threading
from collections import Counter
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Institution, Training, TrainingStatus
from prakerja.common.actors import Actor
from prakerja.partners.models import IdempotentCall, OutboundEvent, Partner
from prakerja.partners.services import (
    partner_secret_add,
    partner_secret_retire_oldest,
    partner_status_set,
)
from tests.catalog.kit import (
    Caller,
    make_partner,
    minutes_ago,
    offline_body,
    snapshot,
    training_body,
)

pytestmark = pytest.mark.django_db
ADMIN = Actor.system("tests")
# A fixed clock (second 30 of a minute), so that rate-limit windows and server times are exact.
NOW = datetime.datetime(2026, 11, 21, 8, 0, 30, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with mock.patch.object(timezone, "now", return_value=NOW):
        yield NOW


@pytest.fixture
def tokopedia(client: Client, clock) -> Caller:  # type: ignore[no-untyped-def]
    partner, secret = make_partner("tokopedia")
    return Caller(client, partner.code, secret)


@pytest.fixture
def pintaria(client: Client, clock) -> Caller:  # type: ignore[no-untyped-def]
    partner, secret = make_partner("pintaria")
    return Caller(client, partner.code, secret)


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


# --- publishing -------------------------------------------------------------------------------------


def test_a_new_training_is_201_pending_review_then_a_change_is_200(tokopedia: Caller):
    first = tokopedia.put("barista-01", training_body(), external_id="put-1")

    training = Training.objects.get()
    assert answer(first) == (
        201,
        {"external_id": "barista-01", "training_id": training.pk, "status": "pending_review"},
    )
    assert (training.platform.code, training.external_id, training.status) == (
        "tokopedia",
        "barista-01",
        TrainingStatus.PENDING_REVIEW,
    )
    assert (training.price_idr, training.delivery, training.regency_code, training.lat) == (
        750_000,
        "self_paced",
        "",
        None,
    )
    institution = Institution.objects.get()
    assert (institution.external_id, institution.name, institution.owned_by_platform) == (
        "lpk-kopi",
        "LPK Kopi Nusantara",
        False,
    )
    assert list(AuditEvent.objects.order_by("pk").values_list("event_type", "actor_label")) == [
        ("partner.created", "system:tests"),
        ("institution.created", "partner:tokopedia"),
        ("training.created", "partner:tokopedia"),
    ]

    changed = tokopedia.put("barista-01", training_body(price_idr=700_000), external_id="put-2")

    assert answer(changed) == (
        200,
        {"external_id": "barista-01", "training_id": training.pk, "status": "pending_review"},
    )
    assert Training.objects.get().price_idr == 700_000
    assert AuditEvent.objects.filter(event_type="training.updated").get().details == {
        "changed": ["price_idr"],
        "status": ["pending_review", "pending_review"],
        "flag_price_above_outside": False,
        "flag_near_duplicate": False,
    }
    assert OutboundEvent.objects.count() == 0  # no status changed yet


def test_the_same_body_with_a_new_key_is_200_and_changes_nothing(tokopedia: Caller):
    tokopedia.put("barista-01", training_body(), external_id="put-1")
    before = snapshot()

    again = tokopedia.put("barista-01", training_body(), external_id="put-2")

    training = Training.objects.get()
    assert answer(again) == (
        200,
        {"external_id": "barista-01", "training_id": training.pk, "status": "pending_review"},
    )
    after = snapshot()
    assert after["idempotent_calls"] == before["idempotent_calls"] + 1  # the new key's answer
    assert {**after, "idempotent_calls": 0} == {**before, "idempotent_calls": 0}


def test_an_offline_training_keeps_its_location(tokopedia: Caller):
    response = tokopedia.put("braga-01", offline_body())

    assert response.status_code == 201
    training = Training.objects.get()
    assert (training.address, training.regency_code, training.lat, training.lon) == (
        "Jl. Braga No. 10, Bandung",
        "32.73",
        -6.9175,
        107.6191,
    )


def test_an_integer_written_with_a_zero_fraction_is_that_integer(tokopedia: Caller):
    """JSON Schema reads 750000.0 as the integer 750000 (the document admits it), so it is taken."""
    response = tokopedia.put("barista-03", training_body(price_idr=750_000.0, sessions=6.0))

    assert response.status_code == 201
    assert Training.objects.values_list("price_idr", "sessions").get() == (750_000, 6)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8301/kelas/1", "http://localhost:8000/kelas", "https://10.0.0.1/"]
)
def test_a_sandbox_hosts_address_is_a_web_address(tokopedia: Caller, url: str):
    """A platform's sandbox or staging host answers on localhost or an IPv4 address."""
    response = tokopedia.put("barista-04", training_body(url=url))

    assert response.status_code == 201
    assert Training.objects.values_list("url", flat=True).get() == url


def test_what_the_schema_allows_is_accepted_as_sent(tokopedia: Caller):
    """Several lines in a description, a four-digit regency code, a null location for online
    delivery, white space around a one-line text (kept without it) and text in any script."""
    online = tokopedia.put(
        "barista-02",
        training_body(
            title="  Barista ☕ Profesional — Kopi Nusantara ",
            description="Baris pertama.\r\n\tBaris kedua.\n",
            location=None,
            url="https://kelas.platform.co.id:8443/kelas/barista?ref=prakerja#silabus",
        ),
    )
    offline = tokopedia.put(
        "braga-02",
        offline_body(
            location={"address": "Jl. Braga", "regency_code": "3273", "lat": -6, "lon": 107}
        ),
    )

    assert (online.status_code, offline.status_code) == (201, 201)
    first, second = Training.objects.order_by("pk")
    assert (first.title, first.description, first.url) == (
        "Barista ☕ Profesional — Kopi Nusantara",
        "Baris pertama.\r\n\tBaris kedua.",
        "https://kelas.platform.co.id:8443/kelas/barista?ref=prakerja#silabus",
    )
    assert (second.regency_code, second.lat, second.lon) == ("32.73", -6.0, 107.0)


def test_a_change_of_an_active_training_sends_it_back_to_review_and_tells_the_platform(
    tokopedia: Caller,
):
    from prakerja.catalog.services import training_review

    tokopedia.put("barista-01", training_body(), external_id="put-1")
    training = training_review(
        training=Training.objects.get(), decision="approve", reason="", actor=ADMIN
    )

    response = tokopedia.put(
        "barista-01", training_body(title="Barista Profesional"), external_id="put-2"
    )

    assert answer(response) == (
        200,
        {"external_id": "barista-01", "training_id": training.pk, "status": "pending_review"},
    )
    last = OutboundEvent.objects.order_by("pk").last()
    assert last is not None
    assert (last.partner.code, last.event_type, last.subject) == (
        "tokopedia",
        "training.status_changed",
        f"training:{training.pk}",
    )
    assert last.payload["data"] == {
        "training_id": training.pk,
        "external_id": "barista-01",
        "status": "pending_review",
        "previous_status": "active",
        "cause": "content_changed",
        "reason": "",
    }


def test_delete_withdraws_and_a_second_delete_changes_nothing(tokopedia: Caller):
    tokopedia.put("barista-01", training_body(), external_id="put-1")

    first = tokopedia.delete("barista-01", external_id="del-1")

    assert answer(first) == (200, {"status": "withdrawn"})
    training = Training.objects.get()
    assert training.status == TrainingStatus.WITHDRAWN
    event = OutboundEvent.objects.get()
    assert event.payload["data"] == {
        "training_id": training.pk,
        "external_id": "barista-01",
        "status": "withdrawn",
        "previous_status": "pending_review",
        "cause": "withdrawn",
        "reason": "",
    }
    before = snapshot()

    second = tokopedia.delete("barista-01", external_id="del-2")

    assert answer(second) == (200, {"status": "withdrawn"})
    after = snapshot()
    assert (after["trainings"], after["audit"], after["events"]) == (
        before["trainings"],
        before["audit"],
        before["events"],
    )


def test_a_withdrawn_training_published_again_goes_back_to_review(tokopedia: Caller):
    tokopedia.put("barista-01", training_body(), external_id="put-1")
    tokopedia.delete("barista-01", external_id="del-1")

    response = tokopedia.put("barista-01", training_body(), external_id="put-2")

    assert response.status_code == 200
    assert response.json()["status"] == "pending_review"
    assert [e.payload["data"]["cause"] for e in OutboundEvent.objects.order_by("pk")] == [
        "withdrawn",
        "resubmitted",
    ]


# --- idempotency ------------------------------------------------------------------------------------


def test_a_replayed_key_with_the_same_body_answers_the_same_without_acting_twice(
    tokopedia: Caller,
):
    first = tokopedia.put("barista-01", training_body(), external_id="put-1")
    before = snapshot()

    replay = tokopedia.put("barista-01", training_body(), external_id="put-1")

    assert replay.status_code == first.status_code == 201
    assert replay.content == first.content
    assert snapshot() == before
    assert Training.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="training.created").count() == 1


def test_a_replayed_delete_answers_the_same_without_acting_twice(tokopedia: Caller):
    tokopedia.put("barista-01", training_body(), external_id="put-1")
    first = tokopedia.delete("barista-01", external_id="del-1")
    before = snapshot()

    replay = tokopedia.delete("barista-01", external_id="del-1")

    assert (replay.status_code, replay.content) == (first.status_code, first.content)
    assert snapshot() == before


def test_a_replayed_key_with_another_body_is_409_and_changes_nothing(tokopedia: Caller):
    tokopedia.put("barista-01", training_body(), external_id="put-1")
    before = snapshot()

    response = tokopedia.put("barista-01", training_body(price_idr=1), external_id="put-1")

    assert answer(response) == (
        409,
        {
            "error": {
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "This idempotency key was already used for a different request.",
                "details": {"X-EXTERNAL-ID": "put-1"},
            }
        },
    )
    assert snapshot() == before


def test_a_key_answered_more_than_24_hours_ago_may_be_used_again(tokopedia: Caller):
    """The hourly prune has not run yet: the old answer is forgotten all the same, and the key
    is claimed by the new request (here another body, which would be 409 within 24 hours)."""
    tokopedia.put("barista-01", training_body(), external_id="put-1")
    IdempotentCall.objects.filter(external_id="put-1").update(
        created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1)
    )

    response = tokopedia.put("barista-01", training_body(price_idr=800_000), external_id="put-1")

    assert response.status_code == 200
    assert Training.objects.get().price_idr == 800_000
    call = IdempotentCall.objects.get(external_id="put-1")
    assert (call.status_code, json.loads(call.response_body)["status"]) == (200, "pending_review")
    assert timezone.now() - call.created_at < datetime.timedelta(minutes=1)


def test_keys_are_per_partner(tokopedia: Caller, pintaria: Caller):
    tokopedia.put("barista-01", training_body(), external_id="same-key")

    response = pintaria.put("barista-01", training_body(), external_id="same-key")

    assert response.status_code == 201
    assert Training.objects.count() == 2


# --- authentication ---------------------------------------------------------------------------------


def test_a_wrong_signature_is_401_and_changes_nothing(tokopedia: Caller):
    before = snapshot()

    response = tokopedia.put("barista-01", training_body(), secret="not-the-secret")

    assert answer(response) == (
        401,
        {
            "error": {
                "code": "SIGNATURE_INVALID",
                "message": "The request signature is not valid.",
                "details": {},
            }
        },
    )
    assert snapshot() == before


def test_a_body_changed_after_signing_is_401(tokopedia: Caller, client: Client):
    from prakerja.partners.signing import signed_headers

    signed = json.dumps(training_body()).encode()
    headers = signed_headers(
        partner="tokopedia",
        secret=tokopedia.secret,
        method="PUT",
        path_with_query="/api/partner/v1/trainings/barista-01",
        body=signed,
        timestamp=NOW.isoformat(),
        external_id="put-1",
    )
    before = snapshot()

    response = client.put(
        "/api/partner/v1/trainings/barista-01",
        json.dumps(training_body(price_idr=1)),
        content_type="application/json",
        headers=headers,
    )

    assert (response.status_code, error(response)["code"]) == (401, "SIGNATURE_INVALID")
    assert snapshot() == before


def test_a_timestamp_six_minutes_old_is_401_and_changes_nothing(tokopedia: Caller):
    before = snapshot()

    response = tokopedia.put("barista-01", training_body(), timestamp=minutes_ago(6))

    assert answer(response) == (
        401,
        {
            "error": {
                "code": "TIMESTAMP_OUT_OF_RANGE",
                "message": "X-TIMESTAMP is more than 5 minutes off the server clock, or unreadable.",
                "details": {"server_time": "2026-11-21T08:00:30+00:00"},
            }
        },
    )
    assert snapshot() == before


def test_a_timestamp_four_minutes_old_is_accepted(tokopedia: Caller):
    response = tokopedia.put("barista-01", training_body(), timestamp=minutes_ago(4))

    assert response.status_code == 201


@pytest.mark.parametrize("header", ["X-PARTNER-ID", "X-TIMESTAMP", "X-EXTERNAL-ID", "X-SIGNATURE"])
def test_a_missing_header_is_401_naming_it_and_changes_nothing(tokopedia: Caller, header: str):
    before = snapshot()

    response = tokopedia.put("barista-01", training_body(), drop=header)

    assert answer(response) == (
        401,
        {
            "error": {
                "code": "SIGNATURE_INVALID",
                "message": "The request signature is not valid.",
                "details": {"missing_headers": [header]},
            }
        },
    )
    assert snapshot() == before


def test_an_unknown_partner_is_401(tokopedia: Caller, client: Client):
    before = snapshot()
    stranger = Caller(client, "nobody", tokopedia.secret)

    response = stranger.put("barista-01", training_body())

    assert answer(response) == (
        401,
        {
            "error": {
                "code": "PARTNER_UNKNOWN",
                "message": "X-PARTNER-ID is not a known partner.",
                "details": {"X-PARTNER-ID": "nobody"},
            }
        },
    )
    assert snapshot() == before


def test_a_suspended_partner_is_403_and_changes_nothing(tokopedia: Caller):
    partner_status_set(
        partner=Partner.objects.get(code="tokopedia"),
        status="suspended",
        reason="audit",
        actor=ADMIN,
    )
    before = snapshot()

    response = tokopedia.put("barista-01", training_body())

    assert answer(response) == (
        403,
        {
            "error": {
                "code": "PARTNER_SUSPENDED",
                "message": "This partner's access is suspended. Contact the Kartu Prakerja PMO.",
                "details": {"X-PARTNER-ID": "tokopedia"},
            }
        },
    )
    assert snapshot() == before


def test_an_institution_partner_may_not_publish_trainings(client: Client, clock):  # type: ignore[no-untyped-def]
    partner, secret = make_partner("bank-rakyat", kind="institution")
    bank = Caller(client, partner.code, secret)
    before = snapshot()

    put = bank.put("barista-01", training_body())
    delete = bank.delete("barista-01")

    expected = {
        "error": {
            "code": "PARTNER_KIND_NOT_ALLOWED",
            "message": "This call is only for partners of kind platform.",
            "details": {"kind": "institution", "required": "platform"},
        }
    }
    assert answer(put) == (403, expected)
    assert answer(delete) == (403, expected)
    assert snapshot() == before


def test_over_the_rate_limit_is_429_with_retry_after(tokopedia: Caller):
    Partner.objects.filter(code="tokopedia").update(rate_limit_per_minute=2)
    assert tokopedia.put("t-1", training_body()).status_code == 201
    assert tokopedia.put("t-2", training_body()).status_code == 201
    before = snapshot()

    response = tokopedia.put("t-3", training_body())

    # The clock stands at second 30 of its minute: the window reopens in 30 s (+1, rounding up).
    assert answer(response) == (
        429,
        {
            "error": {
                "code": "RATE_LIMITED",
                "message": "Too many attempts. Try again in 1 minutes.",
                "details": {"retry_after_s": 31},
            }
        },
    )
    assert response["Retry-After"] == "31"
    assert snapshot() == before


def test_a_rotated_secret_overlaps_then_the_retired_one_is_refused(tokopedia: Caller):
    partner = Partner.objects.get(code="tokopedia")
    old = tokopedia.secret
    new = partner_secret_add(partner=partner, actor=ADMIN)

    with_old = tokopedia.put("t-1", training_body(), secret=old)
    with_new = tokopedia.put("t-2", training_body(), secret=new)

    assert (with_old.status_code, with_new.status_code) == (201, 201)

    partner_secret_retire_oldest(partner=partner, actor=ADMIN)
    before = snapshot()

    refused = tokopedia.put("t-3", training_body(), secret=old)

    assert (refused.status_code, error(refused)["code"]) == (401, "SIGNATURE_INVALID")
    assert snapshot() == before
    assert tokopedia.put("t-3", training_body(), secret=new).status_code == 201


# --- one platform, its own trainings ----------------------------------------------------------------


def test_another_platforms_training_is_404_on_delete_and_a_new_one_on_put(
    tokopedia: Caller, pintaria: Caller
):
    tokopedia.put("barista-01", training_body(), external_id="put-1")
    theirs = Training.objects.get()
    before = snapshot()

    delete = pintaria.delete("barista-01", external_id="del-1")

    assert answer(delete) == (
        404,
        {
            "error": {
                "code": "TRAINING_NOT_FOUND",
                "message": "There is no training with this external_id on your platform.",
                "details": {"external_id": "barista-01"},
            }
        },
    )
    after = snapshot()
    assert after["idempotent_calls"] == before["idempotent_calls"] + 1  # the answer to del-1
    assert {**after, "idempotent_calls": 0} == {**before, "idempotent_calls": 0}
    # The refusal is the key's answer: the key again gets it again, and changes nothing.
    again = pintaria.delete("barista-01", external_id="del-1")
    assert answer(again) == answer(delete)
    assert snapshot() == after

    put = pintaria.put("barista-01", training_body(price_idr=1), external_id="put-1")

    mine = Training.objects.exclude(pk=theirs.pk).get()
    assert answer(put) == (
        201,
        {"external_id": "barista-01", "training_id": mine.pk, "status": "pending_review"},
    )
    assert (mine.platform.code, mine.price_idr) == ("pintaria", 1)
    assert Training.objects.get(pk=theirs.pk).price_idr == 750_000
    assert Institution.objects.count() == 2  # each platform declares its own institutions


# --- malformed bodies -------------------------------------------------------------------------------


def test_a_malformed_body_is_422_naming_every_field_and_changes_nothing(tokopedia: Caller):
    body = training_body(price_idr="750000", delivery="hybrid", duration_hours=0)
    del body["title"]
    body["institution"] = {"external_id": "lpk-kopi", "owned_by_platform": "no"}
    before = snapshot()

    response = tokopedia.put("barista-01", body)

    assert answer(response) == (
        422,
        {
            "error": {
                "code": "VALIDATION_FAILED",
                "message": "The submitted data is not valid. Check the fields named in details.",
                "details": {
                    "title": "REQUIRED",
                    "price_idr": "INTEGER_REQUIRED",
                    "duration_hours": "OUT_OF_RANGE",
                    "delivery": "CHOICE_INVALID",
                    "institution.name": "REQUIRED",
                    "institution.owned_by_platform": "BOOLEAN_REQUIRED",
                },
            }
        },
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (training_body(price_idr=10_000_001), {"price_idr": "OUT_OF_RANGE"}),
        (training_body(price_idr=0), {"price_idr": "OUT_OF_RANGE"}),
        (training_body(price_idr=750_000.5), {"price_idr": "INTEGER_REQUIRED"}),
        (training_body(sessions=0), {"sessions": "OUT_OF_RANGE"}),
        (training_body(url="ftp://platform.example/kelas"), {"url": "URL_INVALID"}),
        (training_body(url="kelas barista"), {"url": "URL_INVALID"}),
        (training_body(title="   "), {"title": "REQUIRED"}),
        (training_body(delivery="offline"), {"location": "REQUIRED"}),
        (
            training_body(
                location={"address": "Jl. Braga", "regency_code": "32.73", "lat": 0, "lon": 0}
            ),
            {"location": "OFFLINE_ONLY"},
        ),
        (
            offline_body(
                location={"address": "Jl. Braga", "regency_code": "32.99", "lat": 0, "lon": 0}
            ),
            {"location.regency_code": "REGENCY_UNKNOWN"},
        ),
        (
            offline_body(
                location={"address": "Jl. Braga", "regency_code": "32.73", "lat": 91, "lon": -181}
            ),
            {"location.lat": "OUT_OF_RANGE", "location.lon": "OUT_OF_RANGE"},
        ),
        (
            offline_body(
                location={"address": "Jl. Braga", "regency_code": "32", "lat": 0, "lon": 0}
            ),
            {"location.regency_code": "REGENCY_UNKNOWN"},  # a province is not a regency
        ),
        (
            offline_body(location={"address": "Jl. Braga", "lat": -6.9, "lon": 107.6}),
            {"location.regency_code": "REQUIRED"},
        ),
        (training_body(institution="LPK Kopi"), {"institution": "OBJECT_REQUIRED"}),
        (training_body(price_idr="750000"), {"price_idr": "INTEGER_REQUIRED"}),
        (training_body(sessions=True), {"sessions": "INTEGER_REQUIRED"}),
        (
            training_body(
                institution={"external_id": "lpk", "name": "LPK", "owned_by_platform": "false"}
            ),
            {"institution.owned_by_platform": "BOOLEAN_REQUIRED"},
        ),
        (
            offline_body(
                location={"address": "Jl. Braga", "regency_code": 3273, "lat": "0", "lon": 0}
            ),
            {"location.regency_code": "STRING_REQUIRED", "location.lat": "NUMBER_REQUIRED"},
        ),
        (training_body(title="Barista\nProfesional"), {"title": "CHARACTER_INVALID"}),
        (training_body(title="Barista \u202eProfesional"), {"title": "CHARACTER_INVALID"}),
        (training_body(category="Kuliner\x1b"), {"category": "CHARACTER_INVALID"}),
        (training_body(description="Baris\u2066ta"), {"description": "CHARACTER_INVALID"}),
        (training_body(description=" \n\t "), {"description": "REQUIRED"}),
        (training_body(url="https://user@platform.example/kelas"), {"url": "URL_INVALID"}),
        (training_body(url="https://10.0.0.256/kelas"), {"url": "URL_INVALID"}),
        (training_body(url="HTTPS://platform.example/kelas"), {"url": "URL_INVALID"}),
        (
            training_body(
                institution={"external_id": "lpk\r", "name": "LPK", "owned_by_platform": False}
            ),
            {"institution.external_id": "CHARACTER_INVALID"},
        ),
    ],
    ids=[
        "price-above-10m",
        "price-zero",
        "price-with-a-fraction",
        "no-sessions",
        "ftp-url",
        "not-a-url",
        "blank-title",
        "offline-without-location",
        "online-with-location",
        "unknown-regency",
        "lat-lon-out-of-range",
        "province-not-regency",
        "location-without-regency",
        "institution-not-an-object",
        "price-a-string",
        "sessions-a-boolean",
        "owned-a-string",
        "regency-a-number-lat-a-string",
        "title-two-lines",
        "title-bidi-override",
        "category-escape",
        "description-bidi-isolate",
        "description-white-space",
        "url-with-a-user",
        "url-of-an-impossible-ip-address",
        "url-scheme-in-capitals",
        "institution-id-carriage-return",
    ],
)
def test_each_malformed_field_is_422_with_its_code(
    tokopedia: Caller, body: dict[str, Any], details: dict[str, str]
):
    before = snapshot()

    response = tokopedia.put("barista-01", body)

    assert response.status_code == 422
    assert error(response)["code"] == "VALIDATION_FAILED"
    assert error(response)["details"] == details
    assert snapshot() == before


def test_a_body_that_is_not_json_is_422(tokopedia: Caller):
    before = snapshot()

    response = tokopedia.put("barista-01", None, raw=b'{"title": "Barista",')

    assert answer(response) == (
        422,
        {
            "error": {
                "code": "VALIDATION_FAILED",
                "message": "The submitted data is not valid. Check the fields named in details.",
                "details": {"body": "JSON_INVALID"},
            }
        },
    )
    assert snapshot() == before


def test_an_external_id_longer_than_64_is_422(tokopedia: Caller):
    response = tokopedia.put("x" * 65, training_body())

    assert (response.status_code, error(response)["details"]) == (
        422,
        {"external_id": "TOO_LONG"},
    )
    assert Training.objects.count() == 0


def test_a_refused_body_keeps_no_answer_so_the_corrected_one_may_use_the_same_key(
    tokopedia: Caller,
):
    refused = tokopedia.put("braga-01", training_body(delivery="offline"), external_id="put-braga")
    assert (refused.status_code, error(refused)["details"]) == (422, {"location": "REQUIRED"})
    assert IdempotentCall.objects.count() == 0

    corrected = tokopedia.put("braga-01", offline_body(), external_id="put-braga")

    assert corrected.status_code == 201
    assert Training.objects.get().regency_code == "32.73"


# --- the published contract -------------------------------------------------------------------------


def test_the_openapi_document_describes_both_calls_and_their_refusals(client: Client):
    response = client.get("/api/partner/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    operations = document["paths"]["/api/partner/v1/trainings/{external_id}"]
    assert sorted(operations) == ["delete", "put"]
    put, delete = operations["put"], operations["delete"]
    assert put["tags"] == delete["tags"] == ["trainings"]
    assert sorted(put["responses"]) == ["200", "201", "401", "403", "409", "422", "429"]
    assert sorted(delete["responses"]) == ["200", "401", "403", "404", "409", "422", "429"]
    assert "TRAINING_NOT_FOUND" in delete["responses"]["404"]["description"]
    headers = [p["name"] for p in put["parameters"] if p["in"] == "header"]
    assert headers == ["X-PARTNER-ID", "X-TIMESTAMP", "X-EXTERNAL-ID"]
    assert document["components"]["securitySchemes"]["PartnerSignature"]["name"] == "X-SIGNATURE"
    body = document["components"]["schemas"]["TrainingIn"]
    assert sorted(body["required"]) == [
        "category",
        "delivery",
        "description",
        "duration_hours",
        "institution",
        "price_idr",
        "price_outside_program_idr",
        "sessions",
        "title",
        "url",
    ]
    assert body["properties"]["price_idr"]["maximum"] == 10_000_000
    assert sorted(document["components"]["schemas"]["TrainingOut"]["properties"]) == [
        "external_id",
        "status",
        "training_id",
    ]
    assert client.get("/api/partner/v1/docs").status_code == 200


# --- at once (PostgreSQL) ---------------------------------------------------------------------------


def run_at_once(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait()
            outcome = work(index)
        except Exception as failure:
            outcome = f"error:{type(failure).__name__}:{failure}"
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_identical_puts_at_once_make_one_training_and_the_same_answer(postgres_only):  # type: ignore[no-untyped-def]
    _, secret = make_partner("tokopedia")
    body = training_body()

    def put(index: int) -> tuple[int, bytes]:
        response = Caller(Client(), "tokopedia", secret).put(
            "barista-01", body, external_id="put-at-once"
        )
        return response.status_code, response.content

    results = run_at_once(2, put)

    assert len(results) == 2
    assert results[0] == results[1]
    assert results[0][0] == 201
    training = Training.objects.get()
    assert json.loads(results[0][1])["training_id"] == training.pk
    assert IdempotentCall.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="training.created").count() == 1
    assert Institution.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_training_published_with_two_keys_at_once_is_created_once(postgres_only):  # type: ignore[no-untyped-def]
    _, secret = make_partner("tokopedia")
    body = training_body()

    def put(index: int) -> int:
        response = Caller(Client(), "tokopedia", secret).put(
            "barista-01", body, external_id=f"put-{index}"
        )
        return response.status_code

    results = run_at_once(4, put)

    assert Counter(results) == Counter({201: 1, 200: 3})
    assert Training.objects.count() == 1
    assert Institution.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="training.created").count() == 1
    assert AuditEvent.objects.filter(event_type="training.updated").count() == 0
