"""The two tables a simulation ends with, counted from the system's own records, and the verdict.

Table 1 sets figures.md beside the simulation: the published count scaled, the simulated count, and
both as shares of the stage's base (registrants, participants, survey answers). A share more than
one percentage point off fails the run. Money and daily transfers are shown beside the published
figures but not judged by the point: they follow from the calendar the simulation assumes.

Table 2 counts the bad actors injected and how many the system caught; any of them paid an
incentive (or, for those the system should have kept out, made a participant) fails the run, as
does a ledger that does not balance or a sandbox bank whose paid total differs from the ledger's.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Max, Sum

from prakerja.incentives.models import (
    Entitlement,
    EntitlementKind,
    EntitlementStatus,
    PaymentAccount,
    SurveyResponse,
    TransferInstruction,
)
from prakerja.ledger.models import AccountKind, Balance
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.registration.models import Registrant
from prakerja.registration.selectors import funnel_totals
from prakerja.simulation import figures as F
from prakerja.simulation.models import InjectedActor
from prakerja.waves.models import Participant

TOLERANCE_PP = 1.0


@dataclass(frozen=True)
class Row:
    stage: str
    published: float  # the 2020 count (or rupiah)
    scaled: float
    simulated: float
    base_published: float
    base_simulated: float
    judged: bool = True

    @property
    def share_published(self) -> float:
        return 100 * self.published / self.base_published if self.base_published else 0.0

    @property
    def share_simulated(self) -> float:
        return 100 * self.simulated / self.base_simulated if self.base_simulated else 0.0

    @property
    def off(self) -> bool:
        return self.judged and abs(self.share_published - self.share_simulated) > TOLERANCE_PP


@dataclass(frozen=True)
class BadRow:
    kind: str
    injected: int
    caught: int
    paid: int
    how: str


@dataclass
class Report:
    rows: list[Row]
    bad: list[BadRow]
    money: dict[str, int]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def report_build(scale: float, banks_paid_idr: int) -> Report:
    rows = _funnel(scale)
    bad = _bad_actors()
    money = _money(banks_paid_idr)
    problems = [
        f"{r.stage}: {r.share_simulated:.1f}% against {r.share_published:.1f}%"
        for r in rows
        if r.off
    ]
    problems += [f"{b.kind}: {b.paid} of {b.injected} got money" for b in bad if b.paid]
    integrity = ledger_integrity_report()
    if not integrity.ok:
        problems.append(f"ledger check failed: {integrity}")
    if money["banks_success_idr"] != money["ledger_paid_idr"]:
        problems.append(
            f"sandbox banks paid Rp{money['banks_success_idr']} but the ledger recorded "
            f"Rp{money['ledger_paid_idr']}"
        )
    if money["ledger_paid_out_idr"] != money["ledger_paid_idr"]:
        problems.append(
            f"statements settled Rp{money['ledger_paid_out_idr']} of Rp{money['ledger_paid_idr']} paid"
        )
    return Report(rows=rows, bad=bad, money=money, problems=problems)


def _funnel(scale: float) -> list[Row]:
    funnel = funnel_totals()
    registered = funnel["registered"]
    participants = Participant.objects.count()
    bought = Order.objects.values("participant_id").distinct().count()
    completed = (
        Order.objects.filter(status=OrderStatus.COMPLETED)
        .values("participant_id")
        .distinct()
        .count()
    )
    paid = Entitlement.objects.filter(kind=EntitlementKind.INCENTIVE, status=EntitlementStatus.PAID)
    recipients = paid.values("participant_id").distinct().count()
    disbursed = paid.aggregate(total=Sum("amount_idr"))["total"] or 0
    R, P = F.REGISTRANTS, F.PARTICIPANTS

    def row(
        stage: str,
        published: float,
        simulated: float,
        base_pub: float,
        base_sim: float,
        judged: bool = True,
    ) -> Row:
        return Row(stage, published, published * scale, simulated, base_pub, base_sim, judged)

    rows = [
        row("registered on the website", R, registered, R, registered),
        row("email verified", F.EMAIL_VERIFIED, funnel["email"], R, registered),
        row("NIK validated", F.NIK_VALIDATED, funnel["nik"], R, registered),
        row("phone verified by SMS OTP", F.PHONE_VERIFIED, funnel["phone"], R, registered),
        row("participants (selected)", P, participants, P, participants),
        row("bought a training", F.BOUGHT, bought, P, participants),
        row("completed a training", F.COMPLETED, completed, P, participants),
        row("received an incentive", F.RECEIVED_INCENTIVE, recipients, P, participants),
        row(
            "incentive disbursed (Rp)",
            F.INCENTIVE_DISBURSED_IDR,
            disbursed,
            P,
            participants,
            judged=False,
        ),
        row(
            "quota left of the target",
            F.QUOTA_TARGET - P,
            F.QUOTA_TARGET * scale - participants,
            F.QUOTA_TARGET,
            F.QUOTA_TARGET * scale,
            judged=False,
        ),
    ]
    answers = list(SurveyResponse.objects.values_list("answers", flat=True).iterator())
    n = len(answers)

    def said(question: str, answer: str) -> int:
        return sum(1 for a in answers if a.get(question) == answer)

    survey = [
        ("survey: training effective", F.SURVEY_EFFECTIVE, said("training_effective", "yes")),
        (
            "survey: unemployed",
            F.SURVEY_EMPLOYMENT["unemployed"],
            said("employment_status", "unemployed"),
        ),
        (
            "survey: employee / labourer",
            F.SURVEY_EMPLOYMENT["employee"],
            said("employment_status", "employee"),
        ),
        (
            "survey: business owner",
            F.SURVEY_EMPLOYMENT["business_owner"],
            said("employment_status", "business_owner"),
        ),
        ("survey: eased life in the pandemic", F.SURVEY_HELPED, said("training_helped", "yes")),
    ]
    for stage, share, count in survey:
        rows.append(Row(stage, share * 1000, share * 1000, count, 1000, n, judged=n > 0))
    return rows


def _bad_actors() -> list[BadRow]:
    rows = []
    injected = InjectedActor.objects.values_list("kind", "email")
    by_kind: dict[str, list[str]] = {}
    for kind, email in injected:
        by_kind.setdefault(kind, []).append(email)

    def participants_of(emails: list[str]) -> list[int]:
        return list(
            Participant.objects.filter(registrant__email__in=emails).values_list("pk", flat=True)
        )

    def paid(ids: list[int]) -> int:
        return (
            Entitlement.objects.filter(participant_id__in=ids, status=EntitlementStatus.PAID)
            .values("participant_id")
            .distinct()
            .count()
        )

    emails = by_kind.get("duplicate_nik", [])
    # A sign-up with a NIK another account holds is answered as any other (docs/security.md) but
    # never claims the NIK: caught is holding no NIK.
    accepted = Registrant.objects.filter(email__in=emails, nik_index__isnull=False).count()
    rows.append(
        BadRow(
            "duplicate_nik",
            len(emails),
            len(emails) - accepted,
            accepted,
            "the NIK stays with its first account (NIK_TAKEN)",
        )
    )

    families = by_kind.get("kk_third", [])
    kk = dict(Registrant.objects.filter(email__in=families).values_list("email", "kk_index"))
    groups: dict[str, int] = {}
    for email in families:
        groups.setdefault(kk.get(email, email), 0)
    selected = (
        Participant.objects.filter(registrant__kk_index__in=list(groups))
        .values("registrant__kk_index")
        .annotate(n=Count("pk"))
    )
    over = sum(1 for s in selected if s["n"] > 2)
    members = len(families)
    drawn = Participant.objects.filter(registrant__email__in=families).count()
    rows.append(
        BadRow(
            "kk_third",
            len(groups),
            len(groups) - over,
            over,
            f"family-card limit at the draw: {drawn} of {members} members drawn",
        )
    )

    emails = by_kind.get("excluded_before", [])
    excluded = Registrant.objects.filter(email__in=emails, eligibility_reason="EXCLUDED").count()
    made = len(participants_of(emails))
    rows.append(
        BadRow(
            "excluded_before",
            len(emails),
            excluded,
            made,
            "eligibility layer: on an exclusion list",
        )
    )

    for kind, how in (
        ("excluded_after", "payout re-check: entitlements held EXCLUDED"),
        ("review_ring", "identical review texts flagged; entitlements held"),
        ("fast_completion", "completion faster than the training flagged; entitlements held"),
        ("wallet_other_nik", "account inquiry: NIK_MISMATCH"),
    ):
        emails = by_kind.get(kind, [])
        ids = participants_of(emails)
        caught = (
            {
                "excluded_after": Entitlement.objects.filter(
                    participant_id__in=ids, hold_reason="EXCLUDED"
                ),
                "review_ring": Review.objects.filter(
                    order__participant_id__in=ids, flag_identical_text=True
                ),
                "fast_completion": Order.objects.filter(
                    participant_id__in=ids, flag_fast_completion=True
                ),
                "wallet_other_nik": PaymentAccount.objects.filter(
                    participant_id__in=ids, reason_code="NIK_MISMATCH"
                ),
            }[kind]
            .values("participant_id" if kind != "review_ring" else "order__participant_id")
            .distinct()
            .count()
        )
        rows.append(BadRow(kind, len(emails), caught, paid(ids), how))
    return rows


def _money(banks: int) -> dict[str, int]:
    paid = Entitlement.objects.filter(status=EntitlementStatus.PAID)
    ledger_paid = paid.aggregate(total=Sum("amount_idr"))["total"] or 0
    paid_out = (
        Balance.objects.filter(account__kind=AccountKind.PAID_OUT).aggregate(total=Sum("amount"))[
            "total"
        ]
        or 0
    )
    per_day = (
        (
            TransferInstruction.objects.filter(status="success")
            .values("batch__run__run_date")
            .annotate(n=Count("pk"))
            .aggregate(most=Max("n"))["most"]
        )
        or 0
    )
    return {
        "ledger_paid_idr": int(ledger_paid),
        "banks_success_idr": banks,
        "ledger_paid_out_idr": int(paid_out),
        "transfers_most_in_a_day": int(per_day),
        "survey_incentives_idr": int(
            paid.filter(kind=EntitlementKind.SURVEY).aggregate(total=Sum("amount_idr"))["total"]
            or 0
        ),
    }


def _number(value: float) -> str:
    return f"{round(value):,}".replace(",", ".")


def report_text(report: Report, scale: float, seed: int) -> str:
    lines = [
        f"Simulated Kartu Prakerja 2020 — scale {scale:g}, seed {seed}, {F.START:%d %b} – {F.END:%d %b %Y}",
        "",
        f"{'stage':38} {'published':>17} {'share':>7} {'scaled':>13} {'simulated':>13} "
        f"{'share':>7} {'Δ pp':>6}",
    ]
    for r in report.rows:
        survey = r.stage.startswith("survey")
        published = "" if survey else _number(r.published)
        scaled_v = "" if survey else _number(r.scaled)
        if r.judged:
            delta = r.share_simulated - r.share_published
            shares = f"{r.share_published:6.1f}% {scaled_v:>13} {_number(r.simulated):>13} "
            shares += f"{r.share_simulated:6.1f}% {delta:+6.2f}{' !' if r.off else ''}"
        else:
            ratio = r.simulated / r.scaled if r.scaled else 0.0
            shares = f"{'':>7} {scaled_v:>13} {_number(r.simulated):>13} "
            shares += f"{'':>7} {'':>6}  ({ratio:.2f}× the scaled figure; not judged)"
        lines.append(f"{r.stage:38} {published:>17} {shares}")
    m = report.money
    lines += [
        "",
        f"transfers in the busiest day: {_number(m['transfers_most_in_a_day'])} "
        f"(2020: {_number(F.TRANSFERS_PER_DAY[0])}–{_number(F.TRANSFERS_PER_DAY[1])}, "
        f"scaled {_number(F.TRANSFERS_PER_DAY[0] * scale)}–{_number(F.TRANSFERS_PER_DAY[1] * scale)})",
        f"paid by the sandbox banks: Rp{_number(m['banks_success_idr'])}; recorded paid in the ledger: "
        f"Rp{_number(m['ledger_paid_idr'])} (of which survey incentives "
        f"Rp{_number(m['survey_incentives_idr'])}); "
        f"settled by statements: Rp{_number(m['ledger_paid_out_idr'])}",
        "",
        f"{'bad actors':18} {'injected':>9} {'caught':>7} {'got money':>10}  how",
    ]
    for b in report.bad:
        lines.append(f"{b.kind:18} {b.injected:>9} {b.caught:>7} {b.paid:>10}  {b.how}")
    lines.append("")
    if report.ok:
        lines.append("Result: every share within 1 point, no bad actor paid, the money reconciles.")
    else:
        lines.append("Result: FAILED")
        lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)
