"""Reads of complaints for the participant's pages, the API and the support console."""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from prakerja.common import clock
from prakerja.grievances.errors import ComplaintNotFound
from prakerja.grievances.models import OPEN_STATUSES, Complaint, ComplaintEvent, Status


def complaints_for_registrant(registrant_id: int) -> list[Complaint]:
    """A participant's complaints, newest first (the attachment's bytes are not loaded)."""
    return list(
        Complaint.objects.filter(registrant_id=registrant_id)
        .defer("attachment")
        .order_by("-filed_at", "-id")
    )


def complaint_of_registrant(registrant_id: int, complaint_id: int) -> Complaint:
    """One of the participant's own complaints; another's is not found, exactly like none."""
    found = (
        Complaint.objects.filter(pk=complaint_id, registrant_id=registrant_id)
        .defer("attachment")
        .first()
    )
    if found is None:
        raise ComplaintNotFound(details={"complaint_id": complaint_id})
    return found


def complaint_attachment(complaint_id: int) -> tuple[bytes, str, str] | None:
    """(bytes, file name, content type) of a complaint's attachment, or None."""
    row = (
        Complaint.objects.filter(pk=complaint_id, attachment__isnull=False)
        .values_list("attachment", "attachment_name", "attachment_type")
        .first()
    )
    if row is None:
        return None
    return bytes(row[0] or b""), row[1], row[2]


def complaint_events(complaint_id: int) -> list[ComplaintEvent]:
    return list(
        ComplaintEvent.objects.filter(complaint_id=complaint_id)
        .select_related("actor_user")
        .order_by("at", "id")
    )


def overdue_q(now: datetime.datetime) -> Q:
    """Open and past its next due time: the first response while new, the resolution after."""
    return Q(status=Status.NEW, first_response_due_at__lt=now) | Q(
        status__in=OPEN_STATUSES, resolution_due_at__lt=now
    )


def complaints_overdue(queryset: QuerySet, now: datetime.datetime | None = None) -> QuerySet:
    return queryset.filter(overdue_q(now or clock.now()))


def complaints_on_time(queryset: QuerySet, now: datetime.datetime | None = None) -> QuerySet:
    return queryset.filter(status__in=OPEN_STATUSES).exclude(overdue_q(now or clock.now()))


@dataclass(frozen=True)
class Timer:
    """The service-level clock a complaint runs on now: which one, when it is due, and the time
    left (negative: overdue). None `due` for a closed complaint."""

    clock: str  # "first_response", "resolution" or "closed"
    due: datetime.datetime | None
    left: datetime.timedelta | None

    @property
    def overdue(self) -> bool:
        return self.left is not None and self.left < datetime.timedelta(0)


def complaint_timer(complaint: Complaint, now: datetime.datetime | None = None) -> Timer:
    moment = now or clock.now()
    if complaint.status == Status.NEW:
        # The first response is always due before the resolution (sla.SLA).
        due = complaint.first_response_due_at
        return Timer("first_response", due, due - moment)
    if complaint.status in OPEN_STATUSES:
        return Timer(
            "resolution", complaint.resolution_due_at, complaint.resolution_due_at - moment
        )
    return Timer("closed", None, None)


def handlers() -> QuerySet:
    """The operators a complaint may be assigned to (services.is_handler, as a query)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(
        content_type__app_label="grievances", codename="change_complaint"
    )
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__in=permission)
            | Q(groups__permissions__in=permission)
        )
        .distinct()
        .order_by("username")
    )
