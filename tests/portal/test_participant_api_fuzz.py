"""Schemathesis against the participant API's own OpenAPI document (/api/v1/openapi.json): every
operation called with generated requests — examples, boundary values, valid and invalid bodies,
paths and queries — through Django's WSGI application. Every check schemathesis has: no 5xx,
documented statuses, content types, headers and bodies, valid data accepted
(positive_data_acceptance), invalid data refused (negative_data_rejection), a missing or spoilt
bearer token refused.

The participant whose token is configured (as an outside client configures it) was drawn, bought
two trainings (one completed and reviewed) and may link an account with `ovo`, so that generated
calls also reach real orders, surveys and accounts. A smoke size runs in the suite;
PRAKERJA_FUZZ_EXAMPLES=100 asks for at least 100 examples per operation and phase."""

import datetime
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.hashers import make_password
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from prakerja.catalog.search import search_cache_forget
from prakerja.common.actors import Actor
from prakerja.incentives.entitlements import entitlements_after_account_verified
from prakerja.incentives.models import PaymentAccount
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase
from prakerja.registration import limits as registration_services
from prakerja.registration.models import ApiToken, Registrant
from prakerja.throttle.services import Limit
from tests.fuzz_figures import Calls, count_call, report_after
from tests.incentives.kit import completed_and_reviewed, institution
from tests.orders.kit import active_training, platform, scheme_valid_for_a_year

OPENAPI = "/api/v1/openapi.json"
MAX_EXAMPLES = int(os.environ.get("PRAKERJA_FUZZ_EXAMPLES", "8"))
PASSWORD = "Rahasia-Sekali-2020"
TOKEN = "fuzz-token-of-the-participant"


def _document() -> dict[str, Any]:
    response = Client().get(OPENAPI)
    assert response.status_code == 200, response.content
    return response.json()


DOCUMENT = _document()
# Through Django's WSGI application, in the test's thread and database transaction: the checks that
# send a request again (the token left out or spoilt) go the same way.
schema = schemathesis.openapi.from_wsgi(
    OPENAPI,
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
            "auth": {"openapi": {"BearerToken": {"bearer": TOKEN}}},
        }
    ),
)


CALLS: Calls = Counter()


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from report_after(request, CALLS, title="participant API fuzzing", examples=MAX_EXAMPLES)


@pytest.fixture
def participant(db: None, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    # Hundreds of sign-ups: argon2's deliberate cost is what the timing tests measure, not this.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Limits the run would reach in seconds (five sign-ups an hour per email or NIK; hypothesis
    # draws the same small values again and again) are lifted, so that the bodies are tried:
    # the limits have tests of their own (tests/registration/test_no_enumeration.py).
    for name, limit in vars(registration_services).items():
        if isinstance(limit, Limit):
            monkeypatch.setattr(registration_services, name, Limit(10**9, limit.seconds))
    scheme_valid_for_a_year()
    search_cache_forget()
    ovo, _ = institution("ovo")
    [person] = completed_and_reviewed(1)
    seller, _ = platform("fuzzplat")
    other = active_training(seller, "fuzz-2", price=200_000)
    order_purchase(
        participant=person, training=other, actor=Actor.participant(person.registrant_id)
    )
    Order.objects.filter(participant=person).update(
        issued_at=timezone.now() - datetime.timedelta(hours=1)
    )
    Registrant.objects.filter(pk=person.registrant_id).update(password=make_password(PASSWORD))
    ApiToken.objects.create(
        registrant_id=person.registrant_id, token_hash=hashlib.sha256(TOKEN.encode()).hexdigest()
    )
    # The document's examples reach real objects: its example account number is this person's
    # phone, and survey 1 is open (a verified account granted the incentives).
    Registrant.objects.filter(pk=person.registrant_id).update(phone="+6281234567890")
    PaymentAccount.objects.create(
        participant=person,
        institution=ovo,
        account_type="e_wallet",
        account_number="+6281234567890",
        status="verified",
        checked_at=timezone.now(),
    )
    entitlements_after_account_verified(participant_id=person.pk)
    # As Django's test client does: a request through the WSGI handler must not close the test's
    # database connection (its transaction holds the fixture).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _operation_test(operation_id: str) -> Callable[..., None]:
    @schema.include(operation_id=operation_id).parametrize()
    @hypothesis_settings(
        deadline=None,
        database=None,  # each run draws afresh: a failure replayed from an old run misleads
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def test(case: schemathesis.Case, participant: None) -> None:
        response = case.call_and_validate()
        count_call(CALLS, case, response.status_code)

    return test


OPERATIONS = sorted(
    operation["operationId"]
    for methods in DOCUMENT["paths"].values()
    for operation in methods.values()
)
for _operation_id in OPERATIONS:
    globals()[f"test_{_operation_id}_answers_as_documented"] = _operation_test(_operation_id)
