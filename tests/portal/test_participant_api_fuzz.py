"""Schemathesis against the participant API's own OpenAPI document (/api/v1/openapi.json): every
operation called with generated requests — examples, boundary values, valid and invalid bodies,
paths and queries — with a participant's bearer token, through Django's test client. All the
checks: no 5xx, documented statuses, content types, headers and bodies, valid data accepted
(positive_data_acceptance) and invalid data refused (negative_data_rejection).

The participant the token belongs to was drawn, bought two trainings (one completed and reviewed)
and has a linked account, so that generated calls also reach real orders and surveys. A smoke size
runs in the suite; PRAKERJA_FUZZ_EXAMPLES=100 asks for at least 100 examples per operation."""

import datetime
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings

from prakerja.catalog.search import search_cache_forget
from prakerja.common.actors import Actor
from prakerja.orders.models import Order
from prakerja.orders.services import order_purchase
from prakerja.registration.models import ApiToken, Registrant
from tests.incentives.kit import completed_and_reviewed, institution
from tests.orders.kit import active_training, platform, scheme_valid_for_a_year

OPENAPI = "/api/v1/openapi.json"
MAX_EXAMPLES = int(os.environ.get("PRAKERJA_FUZZ_EXAMPLES", "8"))
PASSWORD = "Rahasia-Sekali-2020"
TOKEN = "fuzz-token-of-the-participant"  # noqa: S105 - a test's bearer token, made in the fixture


def _document() -> dict[str, Any]:
    response = Client().get(OPENAPI)
    assert response.status_code == 200, response.content
    return response.json()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "base-url": "http://testserver",
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
            # As an outside client configures it: schemathesis sends the token on valid calls and
            # leaves it out or spoils it where it checks that the API refuses that.
            "auth": {"openapi": {"BearerToken": {"bearer": TOKEN}}},
        }
    ),
)


class ParticipantCaller:
    """Sends a generated case through the test client as it was generated."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, case: schemathesis.Case) -> schemathesis.Response:
        prepared = requests.Request(**case.as_transport_kwargs()).prepare()
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {
            name: value
            for name, value in prepared.headers.items()
            if name.lower() not in {"content-type", "content-length"}
        }
        started = time.perf_counter()
        answer = self.client.generic(
            str(prepared.method),
            prepared.path_url,
            body,
            content_type=prepared.headers.get("Content-Type", "application/json"),
            headers=headers,
        )
        prepared.headers.update(headers)
        prepared.body = body
        return schemathesis.Response(
            status_code=answer.status_code,
            headers={name.lower(): [value] for name, value in answer.headers.items()},
            content=answer.content,
            request=prepared,
            elapsed=time.perf_counter() - started,
            verify=False,
        )


@pytest.fixture
def participant_caller(client: Client, db: None) -> ParticipantCaller:
    scheme_valid_for_a_year()
    search_cache_forget()
    institution("ovo")
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
    return ParticipantCaller(client)


def _operation_test(operation_id: str) -> Callable[..., None]:
    @schema.include(operation_id=operation_id).parametrize()
    @settings(
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def test(case: schemathesis.Case, participant_caller: ParticipantCaller) -> None:
        case.validate_response(participant_caller(case))

    return test


OPERATIONS = sorted(
    operation["operationId"]
    for methods in DOCUMENT["paths"].values()
    for operation in methods.values()
)
for _operation_id in OPERATIONS:
    globals()[f"test_{_operation_id}_answers_as_documented"] = _operation_test(_operation_id)
