"""The participant look-up's timeline (issue 9): everything that happened to one registrant, in
order, with summary blocks. Each section is read in one or two queries, so its cost does not grow
with the number of orders, entitlements or transfers."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prakerja.common.money import format_rupiah
from prakerja.grievances.models import Complaint
from prakerja.grievances.selectors import complaints_for_registrant
from prakerja.incentives.console import reason_label, status_label
from prakerja.incentives.models import Entitlement, PaymentAccount, TransferInstruction
from prakerja.ledger.models import AccountKind, Balance
from prakerja.orders.models import Order
from prakerja.registration.models import Registrant, VerificationStep
from prakerja.registration.reasons import reason_text
from prakerja.registration.selectors import LAYER_NAMES
from prakerja.waves.models import ApplicationOutcome, Participant, WaveApplication
from prakerja.waves.selectors import application_result


class Section(TextChoices):
    REGISTRATION = "registration", gettext_lazy("Registration")
    WAVE = "wave", gettext_lazy("Wave")
    PARTICIPANT = "participant", gettext_lazy("Participant")
    ORDER = "order", gettext_lazy("Order")
    REVIEW = "review", gettext_lazy("Review")
    ENTITLEMENT = "entitlement", gettext_lazy("Entitlement")
    ACCOUNT = "account", gettext_lazy("Payment account")
    TRANSFER = "transfer", gettext_lazy("Transfer")
    COMPLAINT = "complaint", gettext_lazy("Complaint")


@dataclass(frozen=True)
class Entry:
    """One dated fact. Holds no personal data: the summary blocks show those, masked or not."""

    at: datetime.datetime
    section: str
    title: str
    detail: str = ""

    @property
    def section_label(self) -> str:
        return str(Section(self.section).label)


@dataclass
class Timeline:
    registrant: Registrant
    steps: list[VerificationStep]
    applications: list[WaveApplication]
    participant: Participant | None
    training_balance_idr: int
    incentive_payable_idr: int
    orders: list[Order]
    entitlements: list[Entitlement]
    transfers: list[TransferInstruction]
    accounts: list[PaymentAccount]
    complaints: list[Complaint]
    entries: list[Entry] = field(default_factory=list)


_OUTCOMES = {
    "passed": gettext_lazy("passed"),
    "failed": gettext_lazy("failed"),
    "pending": gettext_lazy("pending"),
}
RESULT_LABELS = {
    "waiting": gettext_lazy("Waiting for the draw"),
    "selected": gettext_lazy("Selected"),
    "not_selected": gettext_lazy("Not selected"),
    "ineligible": gettext_lazy("Not eligible at the draw"),
    "cancelled": gettext_lazy("Wave cancelled"),
}
ORDER_STATUSES = {
    "issued": gettext_lazy("Voucher issued"),
    "redeemed": gettext_lazy("Redeemed on the platform"),
    "completed": gettext_lazy("Completed"),
    "expired": gettext_lazy("Expired unredeemed (price returned)"),
    "refunded": gettext_lazy("Refunded"),
    "cancelled": gettext_lazy("Cancelled"),
}
ENTITLEMENT_STATUSES = {
    "due": gettext_lazy("Due"),
    "held": gettext_lazy("Held"),
    "paid": gettext_lazy("Paid"),
}
ACCOUNT_STATUSES = {
    "checking": gettext_lazy("Being checked with the institution"),
    "verified": gettext_lazy("Verified"),
    "rejected": gettext_lazy("Rejected by the institution"),
    "unlinked": gettext_lazy("Unlinked"),
}
PARTICIPANT_STATUSES = {
    "active": gettext_lazy("Active"),
    "revoked": gettext_lazy("Revoked: no purchase within the window"),
}
ENTITLEMENT_KINDS = {
    "incentive": gettext_lazy("Monthly incentive"),
    "survey": gettext_lazy("Survey incentive"),
}


def label(labels: dict[str, Any], code: str) -> str:
    return str(labels.get(code, code))


def _layer_name(layer: str, language: str) -> str:
    names = LAYER_NAMES.get(layer)  # type: ignore[call-overload]
    if names is None:
        return layer
    return str(names[1] if language.startswith("en") else names[0])


def _step_reason(step: VerificationStep, language: str) -> str:
    if not step.reason:
        return ""
    details = step.details or {}
    happened, _todo = reason_text(
        step.reason,
        language,
        min_age=details.get("min_age", ""),
        category=details.get("category", ""),
    )
    return f"{step.reason}: {happened}" if happened != step.reason else step.reason


def participant_timeline(registrant_id: int, *, language: str = "id") -> Timeline | None:
    """Everything recorded about one registrant, in a fixed number of queries (about ten)."""
    registrant = (
        Registrant.objects.filter(pk=registrant_id)
        .select_related("participant", "participant__wave", "participant__scheme")
        .first()
    )
    if registrant is None:
        return None
    participant: Participant | None = getattr(registrant, "participant", None)
    steps = list(VerificationStep.objects.filter(registrant=registrant).order_by("at", "pk"))
    applications = list(
        WaveApplication.objects.filter(registrant=registrant)
        .select_related("wave", "carried_from")
        .order_by("applied_at", "pk")
    )
    orders: list[Order] = []
    entitlements: list[Entitlement] = []
    transfers: list[TransferInstruction] = []
    accounts: list[PaymentAccount] = []
    balances: dict[str, int] = {}
    if participant is not None:
        balances = dict(
            Balance.objects.filter(
                account__owner_id=participant.pk,
                account__kind__in=[AccountKind.TRAINING_BALANCE, AccountKind.INCENTIVE_PAYABLE],
            ).values_list("account__kind", "amount")
        )
        orders = list(
            Order.objects.filter(participant=participant)
            .select_related("training", "platform", "review")
            .order_by("issued_at", "pk")
        )
        entitlements = list(
            Entitlement.objects.filter(participant=participant).order_by(
                "created_at", "kind", "sequence"
            )
        )
        transfers = list(
            TransferInstruction.objects.filter(entitlement__participant=participant)
            .select_related("batch", "batch__run", "institution", "entitlement")
            .order_by("batch__run__prepared_at", "pk")
        )
        accounts = list(
            PaymentAccount.objects.filter(participant=participant)
            .select_related("institution")
            .order_by("created_at", "pk")
        )
    complaints = list(complaints_for_registrant(registrant.pk))
    timeline = Timeline(
        registrant=registrant,
        steps=steps,
        applications=applications,
        participant=participant,
        training_balance_idr=balances.get(AccountKind.TRAINING_BALANCE, 0),
        incentive_payable_idr=balances.get(AccountKind.INCENTIVE_PAYABLE, 0),
        orders=orders,
        entitlements=entitlements,
        transfers=transfers,
        accounts=accounts,
        complaints=complaints,
    )
    timeline.entries = timeline_entries(timeline, language=language)
    return timeline


def timeline_entries(timeline: Timeline, *, language: str) -> list[Entry]:
    """All sections' dated facts, oldest first. Facts at the same moment keep the order of the
    program's steps (registration before the wave, an order before the first purchase it makes)."""
    entries: list[Entry] = []
    add = entries.append
    registrant = timeline.registrant
    add(Entry(registrant.created_at, Section.REGISTRATION, _("Registered")))
    for step in timeline.steps:
        add(
            Entry(
                step.at,
                Section.REGISTRATION,
                f"{_layer_name(step.layer, language)}: {label(_OUTCOMES, step.outcome)}",
                _step_reason(step, language),
            )
        )
    for application in timeline.applications:
        _application_entries(application, timeline.participant, add)
    for order in timeline.orders:
        _order_entries(order, add)
    if timeline.participant is not None:
        _participant_entries(timeline.participant, add)
    for entitlement in timeline.entitlements:
        _entitlement_entries(entitlement, add)
    for account in timeline.accounts:
        _account_entries(account, add)
    for transfer in timeline.transfers:
        _transfer_entries(transfer, add)
    for complaint in timeline.complaints:
        _complaint_entries(complaint, add)
    # sorted() is stable: equal times keep the order above.
    return sorted(entries, key=lambda entry: entry.at)


Add = Any  # list.append of entries


def _application_entries(
    application: WaveApplication, participant: Participant | None, add: Add
) -> None:
    wave = application.wave
    if application.carried_from:
        title = _("Applied to wave %(number)s (carried over from wave %(from)s)") % {
            "number": wave.number,
            "from": application.carried_from.number,
        }
    else:
        title = _("Applied to wave %(number)s") % {"number": wave.number}
    add(Entry(application.applied_at, Section.WAVE, title))
    result = application_result(application)
    if result == "waiting":
        return
    at = wave.selected_at or wave.closes_at
    if (
        application.outcome == ApplicationOutcome.SELECTED
        and participant is not None
        and participant.application_id == application.pk
    ):
        at = participant.selected_at
    add(
        Entry(
            at,
            Section.WAVE,
            _("Wave %(number)s: %(result)s")
            % {"number": wave.number, "result": label(RESULT_LABELS, result)},
            application.outcome_reason,
        )
    )


def _participant_entries(participant: Participant, add: Add) -> None:
    if participant.credited_at:
        add(
            Entry(
                participant.credited_at,
                Section.PARTICIPANT,
                _("Training balance credited"),
                format_rupiah(participant.scheme.training_balance_idr),
            )
        )
    if participant.first_purchase_at:
        add(Entry(participant.first_purchase_at, Section.PARTICIPANT, _("First training bought")))
    if participant.revoked_at:
        add(
            Entry(
                participant.revoked_at,
                Section.PARTICIPANT,
                _("Membership revoked: no purchase within the window"),
            )
        )


def _order_entries(order: Order, add: Add) -> None:
    what = {"order": order.pk, "training": order.training.title}
    add(
        Entry(
            order.issued_at,
            Section.ORDER,
            _("Order %(order)s: bought %(training)s") % what,
            _("Voucher %(code)s, %(price)s")
            % {"code": order.voucher_code, "price": format_rupiah(order.price_idr)},
        )
    )
    if order.redeemed_at:
        add(
            Entry(
                order.redeemed_at,
                Section.ORDER,
                _("Order %(order)s: voucher redeemed on %(platform)s")
                % {**what, "platform": order.platform.name},
            )
        )
    if order.completed_at:
        detail = _("Score %(score)s, certificate %(certificate)s") % {
            "score": "—" if order.final_score is None else order.final_score,
            "certificate": order.certificate_number or "—",
        }
        if order.flag_fast_completion:
            detail += " · " + _("completed faster than the training's duration")
        add(
            Entry(order.completed_at, Section.ORDER, _("Order %(order)s: completed") % what, detail)
        )
    if order.ended_at:
        add(
            Entry(
                order.ended_at,
                Section.ORDER,
                _("Order %(order)s: %(status)s")
                % {**what, "status": label(ORDER_STATUSES, order.status)},
            )
        )
    review = getattr(order, "review", None)
    if review is not None:
        flags = []
        if review.flag_identical_text:
            flags.append(_("identical to another account's review"))
        if review.flag_burst:
            flags.append(_("one of a burst of reviews"))
        add(
            Entry(
                review.created_at,
                Section.REVIEW,
                _("Reviewed %(training)s: %(stars)s of 5 stars")
                % {"training": order.training.title, "stars": review.stars},
                "; ".join(flags),
            )
        )


def _entitlement_name(entitlement: Entitlement) -> str:
    return f"{label(ENTITLEMENT_KINDS, entitlement.kind)} {entitlement.sequence}"


def _entitlement_entries(entitlement: Entitlement, add: Add) -> None:
    detail = _("%(amount)s, due %(due)s") % {
        "amount": format_rupiah(entitlement.amount_idr),
        "due": entitlement.due_on.isoformat(),
    }
    if entitlement.hold_reason:
        detail += " · " + _("held: %(reason)s") % {
            "reason": f"{entitlement.hold_reason} ({reason_label(entitlement.hold_reason)})"
        }
    add(
        Entry(
            entitlement.created_at,
            Section.ENTITLEMENT,
            _("Granted: %(name)s") % {"name": _entitlement_name(entitlement)},
            detail,
        )
    )
    if entitlement.paid_at:
        add(
            Entry(
                entitlement.paid_at,
                Section.ENTITLEMENT,
                _("Paid: %(name)s") % {"name": _entitlement_name(entitlement)},
                format_rupiah(entitlement.amount_idr),
            )
        )


def _account_entries(account: PaymentAccount, add: Add) -> None:
    what = {"institution": account.institution.name, "type": account.get_account_type_display()}
    add(Entry(account.created_at, Section.ACCOUNT, _("Linked %(type)s at %(institution)s") % what))
    if account.checked_at:
        add(
            Entry(
                account.checked_at,
                Section.ACCOUNT,
                _("Checked by %(institution)s: %(status)s")
                % {**what, "status": label(ACCOUNT_STATUSES, account.status)},
                account.reason_code,
            )
        )
    if account.ended_at:
        add(
            Entry(
                account.ended_at,
                Section.ACCOUNT,
                _("Account ended: %(status)s")
                % {"status": label(ACCOUNT_STATUSES, account.status)},
                account.reason_code,
            )
        )


def _transfer_entries(transfer: TransferInstruction, add: Add) -> None:
    what = {
        "id": transfer.instruction_id,
        "name": _entitlement_name(transfer.entitlement),
        "amount": format_rupiah(transfer.amount_idr),
    }
    add(
        Entry(
            transfer.batch.run.prepared_at,
            Section.TRANSFER,
            _("Transfer %(id)s prepared: %(name)s, %(amount)s") % what,
            _("Run of %(date)s, %(institution)s")
            % {
                "date": transfer.batch.run.run_date.isoformat(),
                "institution": transfer.institution.name,
            },
        )
    )
    if transfer.batch.sent_at:
        add(Entry(transfer.batch.sent_at, Section.TRANSFER, _("Transfer %(id)s sent") % what))
    if transfer.result_at:
        reason = transfer.reason_code
        add(
            Entry(
                transfer.result_at,
                Section.TRANSFER,
                _("Transfer %(id)s: %(status)s")
                % {**what, "status": status_label(transfer.status)},
                f"{reason} ({reason_label(reason)})" if reason else "",
            )
        )
    if transfer.reconciled_at:
        add(
            Entry(
                transfer.reconciled_at,
                Section.TRANSFER,
                _("Transfer %(id)s matched on the institution's statement") % what,
            )
        )


def _complaint_entries(complaint: Complaint, add: Add) -> None:
    what = {"id": complaint.pk, "category": complaint.get_category_display()}
    add(
        Entry(
            complaint.filed_at,
            Section.COMPLAINT,
            _("Complaint %(id)s filed: %(category)s") % what,
            _("Now: %(status)s") % {"status": complaint.get_status_display()},
        )
    )
    if complaint.closed_at:
        add(
            Entry(
                complaint.closed_at,
                Section.COMPLAINT,
                _("Complaint %(id)s closed: %(status)s")
                % {**what, "status": complaint.get_status_display()},
            )
        )
