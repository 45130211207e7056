"""Each dashboard as one table (its rows, a total row, the chart's series) built from figures at
the facts' grain, so the page, its CSV and its XLSX show the same numbers, and a test can build
the same table from the live counts and compare."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from prakerja.dashboards.selectors import (
    CountAmount,
    DisbursementKey,
    FunnelKey,
    MoneyKey,
    SurveyKey,
    WaveKey,
)
from prakerja.partners.models import Partner
from prakerja.registration.regions import region
from prakerja.registration.selectors import FUNNEL_STAGES
from prakerja.waves.models import ProgramScheme


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # text | int | rupiah | percent


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None
    chart: dict[str, Any] = field(default_factory=dict)

    def all_rows(self) -> list[list[Any]]:
        """The rows as exported: the total last."""
        return self.rows + ([self.total] if self.total is not None else [])


def _share(part: int, whole: int) -> float:
    """A percentage with one decimal (0 when there is no whole)."""
    return round(100 * part / whole, 1) if whole else 0.0


def _chart(
    kind: str, labels: list[str], series: dict[str, list[Any]], money: bool = False
) -> dict[str, Any]:
    return {
        "type": kind,
        "labels": labels,
        "series": [{"name": name, "values": values} for name, values in series.items()],
        "money": money,
    }


def province_name(code: str) -> str:
    found = region(code)
    return found.name if found else code


# --- funnel --------------------------------------------------------------------------------------

STAGE_LABELS = {
    "registered": gettext_lazy("Registered"),
    "email": gettext_lazy("Email verified"),
    "nik": gettext_lazy("NIK validated"),
    "phone": gettext_lazy("Phone verified"),
    "eligibility": gettext_lazy("Eligible"),
    "face": gettext_lazy("Face checked"),
}


def funnel_table(figures: dict[FunnelKey, int], *, by: str = "day") -> Table:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FUNNEL_STAGES, 0))
    for (day, province, stage), count in figures.items():
        sums[day.isoformat() if by == "day" else province][stage] += count
    keys = sorted(sums)
    first: list[Column] = (
        [Column("day", _("Day (WIB)"), "text")]
        if by == "day"
        else [Column("province", _("Province code"), "text"), Column("name", _("Province"), "text")]
    )
    columns = first + [Column(stage, str(STAGE_LABELS[stage])) for stage in FUNNEL_STAGES]
    rows = [
        ([key] if by == "day" else [key, province_name(key)])
        + [sums[key][stage] for stage in FUNNEL_STAGES]
        for key in keys
    ]
    total = ([_("Total")] if by == "day" else [_("Total"), ""]) + [
        sum(sums[key][stage] for key in keys) for stage in FUNNEL_STAGES
    ]
    chart = _chart(
        "line" if by == "day" else "bar",
        keys,
        {str(STAGE_LABELS[s]): [sums[k][s] for k in keys] for s in FUNNEL_STAGES[:4]},
    )
    return Table(columns, rows, total, chart)


# --- waves ---------------------------------------------------------------------------------------

WAVE_MEASURES = ("participants", "buyers", "completers", "incentive_recipients", "revoked")
WAVE_LABELS = {
    "participants": gettext_lazy("Participants"),
    "buyers": gettext_lazy("Bought a training"),
    "completers": gettext_lazy("Completed a training"),
    "incentive_recipients": gettext_lazy("Received an incentive"),
    "revoked": gettext_lazy("Revoked"),
}


def waves_table(figures: dict[WaveKey, int]) -> Table:
    sums: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(WAVE_MEASURES, 0))
    for (_day, wave, _province, measure), count in figures.items():
        sums[wave][measure] += count
    waves = sorted(sums)
    columns = [Column("wave", _("Wave"), "text")]
    columns += [Column(m, str(WAVE_LABELS[m])) for m in WAVE_MEASURES]
    columns += [
        Column("buyers_pct", _("Bought, % of participants"), "percent"),
        Column("completers_pct", _("Completed, % of participants"), "percent"),
        Column("recipients_pct", _("Received an incentive, % of participants"), "percent"),
    ]

    def row(label: str, values: dict[str, int]) -> list[Any]:
        return (
            [label]
            + [values[m] for m in WAVE_MEASURES]
            + [
                _share(values["buyers"], values["participants"]),
                _share(values["completers"], values["participants"]),
                _share(values["incentive_recipients"], values["participants"]),
            ]
        )

    totals = {m: sum(sums[w][m] for w in waves) for m in WAVE_MEASURES}
    chart = _chart(
        "bar",
        [str(w) for w in waves],
        {str(WAVE_LABELS[m]): [sums[w][m] for w in waves] for m in WAVE_MEASURES},
    )
    return Table(columns, [row(str(w), sums[w]) for w in waves], row(_("Total"), totals), chart)


# --- money ---------------------------------------------------------------------------------------

# Ledger transaction kinds (and incentive transfers by entitlement kind) as the office reads them.
MONEY_MEASURES = {
    "credited": "training_credit",
    "spent": "order_purchase",
    "refunded": "order_expire",
    "lapsed": "balance_lapse",
    "revoked": "training_revoke",
    "incentives_paid": "incentive_transfer:incentive",
    "survey_incentives_paid": "incentive_transfer:survey",
}
MONEY_LABELS = {
    "credited": gettext_lazy("Training balance credited"),
    "spent": gettext_lazy("Spent on trainings"),
    "refunded": gettext_lazy("Refunded (vouchers expired)"),
    "lapsed": gettext_lazy("Lapsed to the treasury"),
    "revoked": gettext_lazy("Returned at revocation"),
    "incentives_paid": gettext_lazy("Incentives paid"),
    "survey_incentives_paid": gettext_lazy("Survey incentives paid"),
}


def money_table(figures: dict[MoneyKey, CountAmount]) -> Table:
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (day, measure), (count, amount) in figures.items():
        by_day[day.isoformat()][measure] += amount
        if measure.startswith("incentive_transfer:"):
            by_day[day.isoformat()]["transfers"] += count
    days = sorted(by_day)
    columns = [Column("day", _("Day (WIB)"), "text")]
    columns += [Column(key, str(MONEY_LABELS[key]), "rupiah") for key in MONEY_MEASURES]
    columns.append(Column("transfers", _("Transfers paid")))
    keys = [*MONEY_MEASURES.values(), "transfers"]
    rows = [[day] + [by_day[day][k] for k in keys] for day in days]
    total = [_("Total")] + [sum(by_day[day][k] for day in days) for k in keys]
    chart = _chart(
        "line",
        days,
        {
            str(MONEY_LABELS[key]): [by_day[d][kind] for d in days]
            for key, kind in MONEY_MEASURES.items()
        },
        money=True,
    )
    return Table(columns, rows, total, chart)


# --- disbursement --------------------------------------------------------------------------------

STATUS_ORDER = ("ready", "sent", "accepted", "success", "failed")
STATUS_LABELS = {
    "ready": gettext_lazy("Ready to send"),
    "sent": gettext_lazy("Sent"),
    "accepted": gettext_lazy("Accepted, awaiting the result"),
    "success": gettext_lazy("Paid"),
    "failed": gettext_lazy("Failed"),
}


def _institutions(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    return {
        pk: (code, name)
        for pk, code, name in Partner.objects.filter(pk__in=list(ids)).values_list(
            "pk", "code", "name"
        )
    }


def disbursement_table(figures: dict[DisbursementKey, CountAmount]) -> Table:
    sums: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (_day, institution, status, reason), (count, amount) in figures.items():
        sums[(institution, status, reason)][0] += count
        sums[(institution, status, reason)][1] += amount
    names = _institutions({key[0] for key in sums})

    def order(key: tuple[int, str, str]) -> tuple[Any, ...]:
        status_rank = STATUS_ORDER.index(key[1]) if key[1] in STATUS_ORDER else len(STATUS_ORDER)
        return (names.get(key[0], ("", ""))[0], status_rank, -sums[key][0], key[2])

    keys = sorted(sums, key=order)
    columns = [
        Column("institution", _("Institution"), "text"),
        Column("status", _("Status"), "text"),
        Column("reason", _("Failure reason"), "text"),
        Column("count", _("Transfers")),
        Column("amount", _("Amount"), "rupiah"),
    ]
    rows = [
        [
            names.get(institution, (str(institution), ""))[0],
            str(STATUS_LABELS.get(status, status)),
            reason,
            *sums[(institution, status, reason)],
        ]
        for institution, status, reason in keys
    ]
    total = [_("Total"), "", "", sum(v[0] for v in sums.values()), sum(v[1] for v in sums.values())]
    codes = sorted({names.get(k[0], (str(k[0]), ""))[0] for k in sums})
    per_status: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (institution, status, _reason), (count, _amount) in sums.items():
        per_status[status][names.get(institution, (str(institution), ""))[0]] += count
    chart = _chart(
        "bar",
        codes,
        {
            str(STATUS_LABELS[status]): [per_status[status][code] for code in codes]
            for status in ("success", "failed")
        },
    )
    return Table(columns, rows, total, chart)


# --- surveys -------------------------------------------------------------------------------------


def _question_texts() -> dict[str, tuple[str, dict[str, str]]]:
    """Question code -> (its text, answer code -> text) in the reader's language, from the schemes."""
    english = (get_language() or "id").startswith("en")
    texts: dict[str, tuple[str, dict[str, str]]] = {}
    for questions in ProgramScheme.objects.order_by("-is_active", "-pk").values_list(
        "survey_questions", flat=True
    ):
        for q in questions or []:
            if q.get("code") in texts:
                continue
            choices = {
                c["code"]: c.get("text_en" if english else "text_id", c["code"])
                for c in q.get("choices", [])
            }
            texts[q["code"]] = (q.get("text_en" if english else "text_id", q["code"]), choices)
    return texts


def surveys_table(figures: dict[SurveyKey, int], *, sequence: int | None = None) -> Table:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_day, number, question, answer), count in figures.items():
        if sequence is None or number == sequence:
            sums[question][answer] += count
    texts = _question_texts()
    order = list(texts) + sorted(q for q in sums if q not in texts)
    columns = [
        Column("question", _("Question"), "text"),
        Column("answer", _("Answer"), "text"),
        Column("count", _("Answers")),
        Column("share", _("Share of the question's answers, %"), "percent"),
    ]
    rows, labels, shares = [], [], []
    for question in order:
        if question not in sums:
            continue
        text, choices = texts.get(question, (question, {}))
        answers = list(choices) + sorted(a for a in sums[question] if a not in choices)
        whole = sum(sums[question].values())
        for answer in answers:
            count = sums[question].get(answer, 0)
            rows.append([text, choices.get(answer, answer), count, _share(count, whole)])
            labels.append(f"{choices.get(answer, answer)} ({question})")
            shares.append(_share(count, whole))
    chart = _chart("bar", labels, {_("Share, %"): shares})
    return Table(columns, rows, None, chart)


def headline_shares(figures: dict[SurveyKey, int]) -> dict[str, float]:
    """The published survey figures: effective %, helped %, and the employment status shares."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_day, _number, question, answer), count in figures.items():
        sums[question][answer] += count

    def share(question: str, answer: str) -> float:
        return _share(sums[question].get(answer, 0), sum(sums[question].values()))

    return {
        "effective": share("training_effective", "yes"),
        "helped": share("training_helped", "yes"),
        "unemployed": share("employment_status", "unemployed"),
        "employee": share("employment_status", "employee"),
        "business_owner": share("employment_status", "business_owner"),
    }
