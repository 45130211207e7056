import datetime

import pytest
from django.db import connection, transaction

from prakerja.audit.models import AuditEvent
from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.common.immutable import AppendOnlyError
from prakerja.waves.models import ProgramScheme

pytestmark = pytest.mark.django_db


def test_an_event_records_actor_type_subject_and_details():
    scheme = ProgramScheme.objects.get(code="2020")
    event = audit_record(
        actor=Actor("user", 3, "user:finance"),
        event_type="test.happened",
        subject=scheme,
        details={"why": "because"},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_kind, stored.actor_id, stored.actor_label) == ("user", 3, "user:finance")
    assert (stored.subject_type, stored.subject_id) == ("waves.programscheme", str(scheme.pk))
    assert stored.details == {"why": "because"}
    assert stored.occurred_at.tzinfo is not None


def test_events_are_append_only():
    event = audit_record(actor=Actor.system("tests"), event_type="x")
    event.event_type = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET event_type = 'rewritten'")
    assert AuditEvent.objects.get().event_type == "x"


@pytest.mark.django_db
def test_audit_record_many_writes_the_rows_audit_record_writes_in_their_order():
    from prakerja.audit.services import AuditNew, audit_record_many

    at = datetime.datetime(2020, 4, 11, 2, 30, 15, 123456, tzinfo=datetime.UTC)
    user = Actor(kind="user", id=7, label="user:finance")
    events = [
        AuditNew(user, "order.bought", "orders.order", "41", {"price_idr": 350_000}),
        AuditNew(Actor.system("daily"), "order.expired", "orders.order", "42", {}),
        AuditNew(user, "wave.applied", "waves.waveapplication", "9", {"wave": 3, "n": [1, "x"]}),
    ]
    assert audit_record_many(occurred_at=at, events=iter(events)) == 3
    assert audit_record_many(occurred_at=at, events=[]) == 0
    rows = list(
        AuditEvent.objects.order_by("id").values_list(
            "occurred_at",
            "actor_kind",
            "actor_id",
            "actor_label",
            "event_type",
            "subject_type",
            "subject_id",
            "details",
        )
    )
    assert rows == [
        (
            at,
            "user",
            7,
            "user:finance",
            "order.bought",
            "orders.order",
            "41",
            {"price_idr": 350_000},
        ),
        (at, "system", None, "system:daily", "order.expired", "orders.order", "42", {}),
        (
            at,
            "user",
            7,
            "user:finance",
            "wave.applied",
            "waves.waveapplication",
            "9",
            {"wave": 3, "n": [1, "x"]},
        ),
    ]
