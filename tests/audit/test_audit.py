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
