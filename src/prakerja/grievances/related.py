"""What a complaint may point at: one of the complainant's own wave applications, orders or
entitlements, named by type and plain id (grievances reads those apps; they know nothing of it)."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from prakerja.incentives.models import Entitlement
from prakerja.orders.models import Order
from prakerja.waves.models import WaveApplication

APPLICATION = "application"
ORDER = "order"
ENTITLEMENT = "entitlement"
RELATED_TYPES = (APPLICATION, ORDER, ENTITLEMENT)


@dataclass(frozen=True)
class Related:
    type: str
    id: int
    label: str

    @property
    def value(self) -> str:
        return f"{self.type}:{self.id}"


def _owned(registrant_id: int, related_type: str) -> QuerySet:
    if related_type == APPLICATION:
        return WaveApplication.objects.filter(registrant_id=registrant_id)
    if related_type == ORDER:
        return Order.objects.filter(participant__registrant_id=registrant_id)
    return Entitlement.objects.filter(participant__registrant_id=registrant_id)


def related_belongs_to(registrant_id: int, related_type: str, related_id: int) -> bool:
    if related_type not in RELATED_TYPES:
        return False
    return _owned(registrant_id, related_type).filter(pk=related_id).exists()


def related_of_registrant(registrant_id: int) -> list[Related]:
    """The things a participant may complain about, labelled as the portal names them."""
    shown: list[Related] = []
    for application in _owned(registrant_id, APPLICATION).select_related("wave").order_by("pk"):
        label = _("Application to wave %(number)s") % {"number": application.wave.number}
        shown.append(Related(APPLICATION, application.pk, label))
    for order in _owned(registrant_id, ORDER).select_related("training").order_by("pk"):
        label = _("Training: %(title)s (voucher %(code)s)") % {
            "title": order.training.title,
            "code": order.voucher_code,
        }
        shown.append(Related(ORDER, order.pk, label))
    for entitlement in _owned(registrant_id, ENTITLEMENT).order_by("kind", "sequence"):
        if entitlement.kind == "incentive":
            label = _("Incentive %(number)s") % {"number": entitlement.sequence}
        else:
            label = _("Survey %(number)s incentive") % {"number": entitlement.sequence}
        shown.append(Related(ENTITLEMENT, entitlement.pk, label))
    return shown


def related_label(registrant_id: int, related_type: str, related_id: int | None) -> str:
    for item in related_of_registrant(registrant_id):
        if item.type == related_type and item.id == related_id:
            return item.label
    return ""
