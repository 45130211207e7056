"""The console's participant look-up (issue 9): a search by NIK, phone, email or card number, and
one registrant's timeline, with personal data masked.

An operator who may unmask posts a reason and the fields wanted; the answer to that POST shows them
and nothing remembers it, so the next page is masked again. Every search, every opened timeline and
every unmasking is in the audit log, by kind of key and field name, never by value.
"""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from prakerja.common import crypto
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.common.form_text import one_line_text
from prakerja.console import masking
from prakerja.console.access import operator_required
from prakerja.console.lookup import KeyKind, registrants_find
from prakerja.console.lookup_audit import (
    UNMASKABLE_FIELDS,
    participant_lookup_record,
    participant_unmask,
    participant_view_record,
)
from prakerja.console.timeline import (
    ACCOUNT_STATUSES,
    ENTITLEMENT_STATUSES,
    ORDER_STATUSES,
    PARTICIPANT_STATUSES,
    RESULT_LABELS,
    Timeline,
    label,
    participant_timeline,
)
from prakerja.incentives.console import reason_label
from prakerja.registration.models import LAYER_ORDER, Registrant
from prakerja.registration.reasons import reason_text
from prakerja.registration.selectors import LAYER_NAMES
from prakerja.waves.selectors import application_result

LOOKUP = "console.lookup_participant"
UNMASK = "console.unmask_personal_data"

FIELD_LABELS = {
    "full_name": gettext_lazy("Name"),
    "nik": gettext_lazy("NIK"),
    "birth_date": gettext_lazy("Birth date"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone number"),
    "card_number": gettext_lazy("Card number"),
    "accounts": gettext_lazy("Payment account numbers and holder names"),
}
LAYER_STATUSES = {
    "passed": gettext_lazy("Passed"),
    "failed": gettext_lazy("Failed"),
    "pending": gettext_lazy("Pending"),
}


class SearchForm(forms.Form):
    q = forms.CharField(
        validators=[one_line_text],
        label=gettext_lazy("NIK, phone number, email or card number"),
        max_length=254,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=KeyKind.choices, initial=KeyKind.AUTO, required=False
    )


class UnmaskForm(forms.Form):
    reason = forms.CharField(
        validators=[one_line_text],
        label=gettext_lazy("Reason (for the audit log)"),
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        max_length=500,
        required=False,  # the service refuses a missing reason with its own code
    )
    shown = forms.MultipleChoiceField(
        label=gettext_lazy("Show"),
        choices=[(name, FIELD_LABELS[name]) for name in UNMASKABLE_FIELDS],
        initial=list(UNMASKABLE_FIELDS),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


@dataclass(frozen=True)
class PersonShown:
    """A registrant's personal data as this response may show it."""

    full_name: str
    nik: str
    birth_date: str
    email: str
    phone: str
    card_number: str
    unmasked: frozenset[str]


def person_shown(registrant: Registrant, *, unmasked: frozenset[str] = frozenset()) -> PersonShown:
    nik = crypto.decrypt(registrant.nik_encrypted)
    participant = getattr(registrant, "participant", None)
    card = participant.card_number if participant is not None else ""

    def shown(name: str, value: str, masked: str) -> str:
        return value if name in unmasked else masked

    return PersonShown(
        full_name=shown("full_name", registrant.full_name, masking.mask_name(registrant.full_name)),
        nik=shown("nik", nik, masking.mask_nik(nik)),
        birth_date=shown(
            "birth_date",
            registrant.birth_date.isoformat(),
            masking.mask_birth_date(registrant.birth_date),
        ),
        email=shown("email", registrant.email, masking.mask_email(registrant.email)),
        phone=shown("phone", registrant.phone or "", masking.mask_phone(registrant.phone)),
        card_number=shown("card_number", card, masking.mask_card(card) if card else ""),
        unmasked=unmasked,
    )


def _language() -> str:
    return get_language() or "id"


def _refusal(error: ApplicationError) -> str:
    """The refusal's stable code, its message in the operator's language, and the reason codes it
    names (which field, which rule)."""
    text = f"{error.code} — {error.message(_language())}"
    if error.details:
        text += " (" + "; ".join(f"{key}: {value}" for key, value in error.details.items()) + ")"
    return text


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> HttpResponse:
    return TemplateResponse(
        request, template, {**admin.site.each_context(request), **context}, status=status
    )


@operator_required(LOOKUP)
@require_http_methods(["GET", "POST"])
def search_view(request: HttpRequest) -> HttpResponseBase:
    """The key comes by POST: in a URL it would stay in access logs and the browser's history."""
    form = SearchForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"title": _("Participant look-up"), "form": form}
    if form.is_bound and form.is_valid():
        key, kind = form.cleaned_data["q"], form.cleaned_data["kind"] or KeyKind.AUTO
        try:
            result = registrants_find(key=key, kind=kind)
        except ApplicationError as error:
            context["problem"] = _refusal(error)
            return _page(request, "console/lookup_search.html", status=error.http_status, **context)
        participant_lookup_record(
            actor=Actor.for_user(request.user),
            kind=result.kind + ("+card" if result.card_searched else ""),
            found=[registrant.pk for registrant in result.registrants],
        )
        context.update(
            # Not echoed back: the page of results shows only masked data.
            form=SearchForm(initial={"kind": kind}),
            searched=True,
            kind_label=label(dict(KeyKind.choices), result.kind),
            card_searched=result.card_searched,
            note=result.note,
            rows=[_result_row(registrant) for registrant in result.registrants],
        )
    return _page(request, "console/lookup_search.html", **context)


def _result_row(registrant: Registrant) -> dict[str, Any]:
    participant = getattr(registrant, "participant", None)
    return {
        "id": registrant.pk,
        "person": person_shown(registrant),
        "is_active": registrant.is_active,
        "layers_passed": sum(
            getattr(registrant, f"{layer.value}_status") == "passed" for layer in LAYER_ORDER
        ),
        "participant_status": label(PARTICIPANT_STATUSES, participant.status)
        if participant
        else "",
    }


@operator_required(LOOKUP)
@require_http_methods(["GET", "POST"])
def timeline_view(request: HttpRequest, registrant_id: int) -> HttpResponseBase:
    if request.method == "POST" and not request.user.has_perm(UNMASK):
        raise PermissionDenied
    timeline = participant_timeline(registrant_id, language=_language())
    if timeline is None:
        raise Http404(_("There is no registrant with id %(id)s.") % {"id": registrant_id})
    actor = Actor.for_user(request.user)
    may_unmask = request.user.has_perm(UNMASK)
    unmasked: frozenset[str] = frozenset()
    status = 200
    problem = ""
    if request.method == "POST":
        form = UnmaskForm(request.POST)
        form.is_valid()  # every field is optional: the service judges reason and fields
        try:
            chosen = participant_unmask(
                actor=actor,
                registrant=timeline.registrant,
                reason=form.cleaned_data.get("reason", ""),
                fields=list(form.cleaned_data.get("shown", [])),
            )
        except ApplicationError as error:
            problem, status = _refusal(error), error.http_status
        else:
            unmasked = frozenset(chosen)
            form = UnmaskForm()  # the next unmasking needs its own reason
    else:
        participant_view_record(actor=actor, registrant=timeline.registrant)
        form = UnmaskForm()
    context = _timeline_context(timeline, unmasked=unmasked)
    context.update(
        title=_("Participant #%(id)s") % {"id": timeline.registrant.pk},
        may_unmask=may_unmask,
        unmask_form=form,
        problem=problem,
    )
    response = _page(request, "console/lookup_timeline.html", status=status, **context)
    # An unmasked page must not outlive its response in a cache or the browser's history.
    response["Cache-Control"] = "no-store"
    return response


def _timeline_context(timeline: Timeline, *, unmasked: frozenset[str]) -> dict[str, Any]:
    registrant = timeline.registrant
    language = _language()
    accounts_unmasked = "accounts" in unmasked
    return {
        "registrant": registrant,
        "person": person_shown(registrant, unmasked=unmasked),
        "unmasked_labels": [
            str(FIELD_LABELS[name]) for name in UNMASKABLE_FIELDS if name in unmasked
        ],
        "layers": _layers(timeline, language),
        "applications": [
            {
                "application": application,
                "result": label(RESULT_LABELS, application_result(application)),
            }
            for application in timeline.applications
        ],
        "participant": timeline.participant,
        "participant_status": label(PARTICIPANT_STATUSES, timeline.participant.status)
        if timeline.participant
        else "",
        "training_balance_idr": timeline.training_balance_idr,
        "incentive_payable_idr": timeline.incentive_payable_idr,
        "orders": [
            {"order": order, "status": label(ORDER_STATUSES, order.status)}
            for order in timeline.orders
        ],
        "entitlements": [
            {
                "entitlement": entitlement,
                "status": label(ENTITLEMENT_STATUSES, entitlement.status),
                "hold": reason_label(entitlement.hold_reason) if entitlement.hold_reason else "",
            }
            for entitlement in timeline.entitlements
        ],
        "transfers": timeline.transfers,
        "accounts": [
            {
                "account": account,
                "status": label(ACCOUNT_STATUSES, account.status),
                "number": account.account_number
                if accounts_unmasked
                else masking.mask_account_number(account.account_number),
                "holder": account.holder_name
                if accounts_unmasked
                else masking.mask_name(account.holder_name),
            }
            for account in timeline.accounts
        ],
        "complaints": timeline.complaints,
        "entries": timeline.entries,
    }


def _layers(timeline: Timeline, language: str) -> list[dict[str, Any]]:
    registrant = timeline.registrant
    last_details: dict[str, dict[str, Any]] = {}
    for step in timeline.steps:
        last_details[step.layer] = step.details or {}
    rows = []
    for layer in LAYER_ORDER:
        reason = getattr(registrant, f"{layer.value}_reason")
        details = last_details.get(layer.value, {})
        message = (
            reason_text(
                reason,
                language,
                min_age=details.get("min_age", ""),
                category=details.get("category", ""),
            )[0]
            if reason
            else ""
        )
        name_id, name_en = LAYER_NAMES[layer]
        rows.append(
            {
                "name": name_en if language.startswith("en") else name_id,
                "status": getattr(registrant, f"{layer.value}_status"),
                "status_label": label(LAYER_STATUSES, getattr(registrant, f"{layer.value}_status")),
                "reason": reason,
                "message": message if message != reason else "",
                "at": getattr(registrant, f"{layer.value}_at"),
            }
        )
    return rows
