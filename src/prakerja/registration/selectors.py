"""Reads of registration: a person's layers as they should see them, and the funnel as the program
office counts it (program.md §6: registered → email → NIK → phone → eligible → face checked)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from prakerja.common.timeutil import WIB
from prakerja.registration.models import LAYER_ORDER, Layer, LayerStatus, Registrant
from prakerja.registration.reasons import REASONS, reason_text

LAYER_NAMES = {
    Layer.EMAIL: ("Verifikasi email", "Email verification"),
    Layer.NIK: ("Validasi NIK (Dukcapil)", "NIK validation (population registry)"),
    Layer.PHONE: ("Verifikasi nomor ponsel", "Phone verification"),
    Layer.ELIGIBILITY: ("Kelayakan", "Eligibility"),
    Layer.FACE: ("Pengenalan wajah", "Face check"),
}


@dataclass(frozen=True)
class LayerView:
    layer: str
    name: str
    status: str  # passed | failed | pending
    reason: str
    message: str
    todo: str
    can_retry: bool
    at: datetime.datetime | None


def registrant_layers(registrant: Registrant, *, language: str = "id") -> list[LayerView]:
    views = []
    for layer in LAYER_ORDER:
        status = getattr(registrant, f"{layer.value}_status")
        reason = getattr(registrant, f"{layer.value}_reason")
        params = _reason_params(registrant, layer)
        message, todo = reason_text(reason, language, **params) if reason else ("", "")
        name_id, name_en = LAYER_NAMES[layer]
        views.append(
            LayerView(
                layer=layer.value,
                name=name_en if language.startswith("en") else name_id,
                status=status,
                reason=reason,
                message=message,
                todo=todo,
                can_retry=bool(reason)
                and REASONS.get(reason) is not None
                and REASONS[reason].can_retry,
                at=getattr(registrant, f"{layer.value}_at"),
            )
        )
    return views


def _reason_params(registrant: Registrant, layer: Layer) -> dict[str, object]:
    if layer != Layer.ELIGIBILITY:
        return {}
    step = (
        registrant.steps.filter(layer=layer)
        .order_by("-at")
        .values_list("details", flat=True)
        .first()
    )
    details = step or {}
    return {"min_age": details.get("min_age", ""), "category": details.get("category", "")}


def registrant_fully_verified(registrant: Registrant) -> bool:
    return all(
        getattr(registrant, f"{layer.value}_status") == LayerStatus.PASSED for layer in LAYER_ORDER
    )


# --- funnel --------------------------------------------------------------------------------------

FUNNEL_STAGES = ("registered", "email", "nik", "phone", "eligibility", "face")


@dataclass(frozen=True)
class FunnelRow:
    day: datetime.date  # in WIB
    province_code: str
    stage: str
    count: int


def funnel_totals() -> dict[str, int]:
    """Exact counts per stage: registered, and passed per layer (current state)."""
    counts = Registrant.objects.aggregate(
        registered=Count("pk"),
        **{
            layer.value: Count("pk", filter=Q(**{f"{layer.value}_status": LayerStatus.PASSED}))
            for layer in LAYER_ORDER
        },
    )
    return {stage: counts[stage] for stage in FUNNEL_STAGES}


def funnel_by_day_and_province(
    *, start: datetime.date | None = None, end: datetime.date | None = None
) -> list[FunnelRow]:
    """Counts per stage by the WIB day a person reached it and the province they live in."""
    rows: list[FunnelRow] = []
    stages = [("registered", "created_at", Q())] + [
        (layer.value, f"{layer.value}_at", Q(**{f"{layer.value}_status": LayerStatus.PASSED}))
        for layer in LAYER_ORDER
    ]
    for stage, field, condition in stages:
        query = Registrant.objects.filter(condition).annotate(day=TruncDate(field, tzinfo=WIB))
        if start is not None:
            query = query.filter(day__gte=start)
        if end is not None:
            query = query.filter(day__lte=end)
        for item in query.values("day", "province_code").annotate(n=Count("pk")).order_by():
            rows.append(FunnelRow(item["day"], item["province_code"], stage, item["n"]))
    return sorted(rows, key=lambda r: (r.day, r.province_code, FUNNEL_STAGES.index(r.stage)))
