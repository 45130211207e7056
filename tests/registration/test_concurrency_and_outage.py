"""Races and partner outages, through real connections: two sign-ups with one NIK at once, and
the population registry sandbox going down and coming back over HTTP."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from prakerja.common.errors import ValidationFailed
from prakerja.integrations.population import use_population_registry
from prakerja.integrations.population.client import HttpPopulationRegistry
from prakerja.integrations.population.sandbox import create_app, ensure_store
from prakerja.integrations.sandbox import start_in_thread
from prakerja.registration import services
from prakerja.registration.models import Registrant
from tests.registration.kit import FakeSms, email_code, sign_up_data

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(attempts: list[services.SignUp]) -> list[str]:
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def sign_up(index: int) -> None:
        try:
            barrier.wait()
            services.registrant_sign_up(data=attempts[index], client_ip=f"10.9.9.{index}")
            outcomes.append("answered")
        except ValidationFailed as refused:
            outcomes.append(f"refused:{refused.details}")
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_simultaneous_sign_ups_with_one_nik_leave_it_with_exactly_one_account(people, sms):
    person = people.make()
    outcomes = _at_once(
        [
            sign_up_data(person, email="first@example.id", phone="081211110001"),
            sign_up_data(person, email="second@example.id", phone="081211110002"),
        ]
    )

    assert outcomes == ["answered", "answered"]  # the same answer: neither learns of the other
    assert Registrant.objects.count() == 2
    assert Registrant.objects.filter(nik_index__isnull=False).count() == 1


def test_two_simultaneous_sign_ups_with_one_email_leave_one_account(people, sms):
    first, second = people.make(), people.make()
    outcomes = _at_once(
        [sign_up_data(first), sign_up_data(second, email=first.email, phone="081211110009")]
    )

    assert outcomes == ["answered", "answered"]
    assert Registrant.objects.count() == 1
    assert Registrant.objects.get().email == first.email


@pytest.fixture
def registry_over_http(tmp_path):
    """The population sandbox as a real HTTP service on a free port, and the HTTP adapter to it."""
    store = ensure_store(tmp_path / "population.sqlite3", 300, 11, datetime.date.today())
    app = create_app(store)
    base_url, stop = start_in_thread(app)
    client = HttpPopulationRegistry(base_url, timeout=2.0)
    with use_population_registry(client):
        yield app, store
    client.close()
    stop()


def test_registry_outage_then_recovery_completes_every_pending_registrant(registry_over_http):
    app, store = registry_over_http
    sms = FakeSms()
    from prakerja.integrations.sms import use_sms_gateway

    people = store.demo_people(3)
    app.faults.update({"outage": True})
    with use_sms_gateway(sms):
        registrants = []
        for i, person in enumerate(people):
            receipt = services.registrant_sign_up(
                data=services.SignUp(
                    email=f"p{i}@example.id",
                    password="Rahasia-Sekali-2020",
                    nik=person.nik,
                    full_name=person.full_name,
                    birth_date=person.birth_date,
                    phone=f"0812555500{i:02d}",
                    regency_code=person.regency_code,
                    education="sma",
                    employment="unemployed",
                    in_school=False,
                ),
                client_ip="10.1.1.1",
            )
            # outside a transaction the on-commit registry check runs at once, as in inline mode
            registrant = services.sign_up_email_verify(
                token=receipt.token, code=email_code(receipt.email), client_ip="x"
            )
            registrants.append(registrant)

        for registrant in registrants:
            registrant.refresh_from_db()
            assert (registrant.nik_status, registrant.nik_reason) == (
                "pending",
                "REGISTRY_RETRYING",
            )

        app.faults.update({"outage": False})
        queued = services.registry_retry_due(now=timezone.now() + datetime.timedelta(minutes=5))

    assert queued == 3
    for registrant in registrants:
        registrant.refresh_from_db()
        assert (registrant.nik_status, registrant.phone_reason) == ("passed", "AWAITING_PHONE_CODE")
    assert sorted(to for to, _, _ in sms.sent) == sorted(r.phone for r in registrants)
