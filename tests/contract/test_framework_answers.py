"""Answers the web framework gives under /api/ before any API code runs are the contract's JSON
error body too: an unknown path, a method the path does not take, a body too large to read; and so
is the answer to an exception no code expected, from a view or from a middleware (logged with its
traceback, never shown)."""

import json
import logging
import re
import traceback
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from prakerja.catalog.models import Training
from prakerja.common.errors import InternalError
from prakerja.common.middleware import ApplicationErrorMiddleware
from prakerja.throttle.services import RateLimited
from tests.catalog.kit import Caller, make_partner, snapshot, training_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokopedia(client: Client) -> Caller:
    partner, secret = make_partner("tokopedia")
    return Caller(client, partner.code, secret)


def answer(response: Any) -> tuple[int, str, Any]:
    return response.status_code, response["Content-Type"], response.json()


def test_an_unknown_partner_api_path_is_404_path_not_found(client: Client):
    response = client.get("/api/partner/v1/pelatihan/x", headers={"Accept-Language": "en"})

    assert answer(response) == (
        404,
        "application/json",
        {
            "error": {
                "code": "PATH_NOT_FOUND",
                "message": "This address does not exist in the API. Check the path and version "
                "in the docs.",
                "details": {"path": "/api/partner/v1/pelatihan/x"},
            }
        },
    )


def test_an_unknown_participant_api_path_is_404_in_indonesian_by_default(client: Client):
    response = client.get("/api/v1/tidak-ada")

    assert answer(response) == (
        404,
        "application/json",
        {
            "error": {
                "code": "PATH_NOT_FOUND",
                "message": "Alamat ini tidak ada di API. Periksa path dan versinya di dokumentasi.",
                "details": {"path": "/api/v1/tidak-ada"},
            }
        },
    )


def test_a_method_the_path_does_not_take_is_405_with_allow(tokopedia: Caller):
    before = snapshot()

    response = tokopedia("PATCH", "/trainings/barista-01", training_body())

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert sorted(response["Allow"].split(", ")) == ["DELETE", "PUT"]
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert sorted(response.json()["error"]["details"]["allowed"]) == ["DELETE", "PUT"]
    assert snapshot() == before


def test_a_body_over_the_limit_is_413_and_changes_nothing(tokopedia: Caller, settings: Any):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = snapshot()
    body = training_body(description="Materi pelatihan yang panjang sekali. " * 100)

    response = tokopedia.put("barista-01", body)

    assert answer(response) == (
        413,
        "application/json",
        {
            "error": {
                "code": "REQUEST_TOO_LARGE",
                "message": "Isi permintaan terlalu besar (paling banyak 2000 byte).",
                "details": {},
            }
        },
    )
    assert snapshot() == before
    assert not Training.objects.exists()


def test_pages_outside_the_api_keep_their_html_404(client: Client):
    response = client.get("/tidak-ada-halaman/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- an exception no code expected -----------------------------------------------------------------

REFERENCE = re.compile(r"[0-9a-f]{16}")


def _raises(**kwargs: Any) -> Any:
    raise RuntimeError("secret internals: SELECT * FROM registrant")


def _logged(caplog: pytest.LogCaptureFixture, reference: str) -> logging.LogRecord:
    (record,) = [
        r
        for r in caplog.records
        if r.name == "prakerja.common.middleware" and reference in r.getMessage()
    ]
    return record


def test_an_exception_in_a_partner_api_view_is_a_json_500_logged_but_never_shown(
    tokopedia: Caller, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # given a statement that fails with an exception nobody expected
    from prakerja.orders import settlement_api

    monkeypatch.setattr(settlement_api, "settlement_statement", _raises)

    # when the platform asks for it
    response = tokopedia("GET", "/settlements/2020-05")

    # then it is the contract's 500 with a reference, and nothing of the exception
    status, content_type, body = answer(response)
    reference = body["error"]["details"]["reference"]
    assert REFERENCE.fullmatch(reference)
    assert (status, content_type, body) == (
        500,
        "application/json",
        {
            "error": {
                "code": "INTERNAL_ERROR",
                "message": InternalError.message_id,
                "details": {"reference": reference},
            }
        },
    )
    assert b"secret" not in response.content and b"Traceback" not in response.content
    # and the log has the traceback under that reference
    record = _logged(caplog, reference)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"unhandled exception in GET /api/partner/v1/settlements/2020-05 (reference {reference})"
    )
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "secret internals" in "".join(traceback.format_exception(*record.exc_info))


def test_in_debug_mode_the_answer_still_shows_no_traceback(
    tokopedia: Caller, monkeypatch: pytest.MonkeyPatch, settings: Any
):
    # given DEBUG, where ninja answers an exception with its traceback as text/plain
    from prakerja.orders import settlement_api

    settings.DEBUG = True
    monkeypatch.setattr(settlement_api, "settlement_statement", _raises)

    response = tokopedia("GET", "/settlements/2020-05")

    status, content_type, body = answer(response)
    assert (status, content_type, body["error"]["code"]) == (
        500,
        "application/json",
        "INTERNAL_ERROR",
    )
    assert b"secret" not in response.content and b"Traceback" not in response.content


class _RaisingOutside:
    """A middleware before ApplicationErrorMiddleware whose own code fails."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.endswith("/meledak"):
            raise RuntimeError("secret internals of a middleware")
        return self.get_response(request)


@pytest.mark.parametrize(
    ("path", "json_answer"), [("/api/v1/meledak", True), ("/halaman/meledak", False)]
)
def test_an_exception_in_an_outer_middleware_reaches_server_error(
    settings: Any, caplog: pytest.LogCaptureFixture, path: str, json_answer: bool
):
    # given handler500 = server_error, and a middleware outside ours that fails
    settings.ROOT_URLCONF = "tests.contract.handler500_urls"
    settings.MIDDLEWARE = [f"{__name__}._RaisingOutside", *settings.MIDDLEWARE]

    response = Client(raise_request_exception=False).get(path)

    # then under /api/ the contract's 500, elsewhere Django's page; the traceback logged either way
    assert response.status_code == 500
    record = next(r for r in caplog.records if r.name == "prakerja.common.middleware")
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    reference = REFERENCE.search(record.getMessage())
    assert reference is not None
    assert b"secret" not in response.content
    if json_answer:
        assert answer(response) == (
            500,
            "application/json",
            {
                "error": {
                    "code": "INTERNAL_ERROR",
                    "message": InternalError.message_id,
                    "details": {"reference": reference[0]},
                }
            },
        )
    else:
        assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("accept", "content_type"), [("application/json", "application/json"), ("", "text/html")]
)
def test_a_429_answer_built_here_carries_retry_after_as_json_and_as_a_page(
    rf: RequestFactory, accept: str, content_type: str
):
    request = rf.get("/masuk/", headers={"Accept": accept} if accept else {})
    request.user = AnonymousUser()
    middleware = ApplicationErrorMiddleware(lambda request: HttpResponse())

    response = middleware.process_exception(
        request, RateLimited(details={"retry_after_s": 42}, minutes=1)
    )

    assert response is not None
    assert (response.status_code, response["Retry-After"]) == (429, "42")
    assert response["Content-Type"].startswith(content_type)
    assert "RATE_LIMITED" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (403, "PERMISSION_DENIED"),
        (413, "REQUEST_TOO_LARGE"),
        (414, "URI_TOO_LONG"),
        (431, "REQUEST_HEADERS_TOO_LARGE"),
        (500, "INTERNAL_ERROR"),
        (502, "INTERNAL_ERROR"),
        (418, "BAD_REQUEST"),
    ],
)
def test_any_other_answer_under_api_that_is_not_json_gets_the_contracts_body(
    rf: RequestFactory, status: int, code: str
):
    plain = HttpResponse("<h1>nope</h1>", status=status, content_type="text/html")
    middleware = ApplicationErrorMiddleware(lambda request: plain)

    response = middleware(rf.get("/api/v1/apa-saja"))

    assert (response.status_code, response["Content-Type"]) == (status, "application/json")
    assert json.loads(response.content)["error"]["code"] == code
