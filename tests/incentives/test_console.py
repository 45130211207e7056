"""The finance console for disbursement, through Django's test client as staff users holding exactly
the permissions of their role: the maker prepares, the checker approves (the batches go out to a
sandbox institution over HTTP), refusals change nothing, the failures page and its CSV say what the
database says, and a statement CSV is reconciled — or, malformed, refused whole."""

import csv
import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.db.models import Count, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.timeutil import WIB
from prakerja.incentives.errors import MakerCannotApprove
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    PaymentAccount,
    Statement,
    StatementItem,
    TransferBatch,
    TransferInstruction,
)
from prakerja.incentives.results import Outcome, transfer_outcomes_record
from prakerja.incentives.runs import run_approve, run_prepare
from prakerja.ledger.models import AccountKind
from tests.incentives.kit import (
    CHECKER,
    MAKER,
    SYSTEM,
    Bank,
    balance,
    completed_and_reviewed,
    link,
    months_ahead,
    nik_of,
    sandbox_bank,
    statuses,
    wallet,
)
from tests.operators import operator_login
from tests.orders.kit import scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

RUNS = "/admin/incentives/disbursementrun/"
PREPARE = "/admin/incentives/disbursementrun/prepare/"
FAILURES = "/admin/incentives/disbursementrun/failures/"
STATEMENTS = "/admin/incentives/statement/"
UPLOAD = "/admin/incentives/statement/upload/"


@pytest.fixture(autouse=True)
def spendable() -> None:
    scheme_valid_for_a_year()


def staff(username: str, *codenames: str, language: str = "") -> Client:
    """A signed-in staff user with exactly these incentives permissions."""
    user = User.objects.create_user(username, f"{username}@prakerja.example", "rahasia-panjang-1")
    user.is_staff = True
    user.save()
    permissions = Permission.objects.filter(
        content_type__app_label="incentives", codename__in=codenames
    )
    assert permissions.count() == len(codenames)
    user.user_permissions.set(permissions)
    client = Client()
    operator_login(client, user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def flashed(response: Any) -> list[str]:
    """The messages this response added (earlier ones wait in the session until shown)."""
    storage = get_messages(response.wsgi_request)
    added = len(storage._queued_messages)
    shown = [str(message) for message in storage]
    return shown[len(shown) - added :]


def cell(page: str, field: str) -> list[str]:
    """The changelist's cells of one column, top to bottom."""
    return re.findall(rf'class="field-{field}[^"]*">(?:<a [^>]*>)?([^<]*)<', page)


def row(page: str, row_id: str) -> list[str]:
    match = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', page, re.S)
    assert match, row_id
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", match.group(1), re.S)
    ]


def snapshot() -> dict[str, Any]:
    """Everything a console action could change."""
    return {
        "runs": list(
            DisbursementRun.objects.order_by("pk").values_list("pk", "status", "approved_by")
        ),
        "batches": list(TransferBatch.objects.order_by("pk").values_list("pk", "status")),
        "instructions": list(
            TransferInstruction.objects.order_by("pk").values_list(
                "pk", "status", "reason_code", "reconciled_at"
            )
        ),
        "entitlements": statuses(),
        "statements": Statement.objects.count(),
        "items": StatementItem.objects.count(),
        "audit": AuditEvent.objects.exclude(event_type="console.action").count(),
        "paid_out": balance(AccountKind.PAID_OUT),
    }


def entitled(bank: Bank, count: int) -> list[Any]:
    people = completed_and_reviewed(count)
    bank.add_accounts([wallet(p) for p in people])
    for person in people:
        link(person, bank)
    return people


def approved(run: DisbursementRun, capture: Any) -> None:
    with capture(execute=True):  # no broker in tests: the batches are sent inline
        run_approve(run=run, actor=CHECKER)


def test_the_maker_prepares_is_refused_approving_and_the_checker_approves(
    monkeypatch, django_capture_on_commit_callbacks
):
    with sandbox_bank("ovo", monkeypatch) as bank:
        entitled(bank, 3)
        # A finance officer holding both roles: the service, not the permission, stops them.
        maker = staff("maker", "prepare_run", "approve_run")
        checker = staff("checker", "approve_run")

        form = maker.get(PREPARE)
        assert form.status_code == 200
        today = timezone.localdate(timezone=WIB).isoformat()
        assert f'value="{today}"' in form.content.decode()

        response = maker.post(PREPARE, {"run_date": months_ahead(4).isoformat()})
        run = DisbursementRun.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "admin:incentives_disbursementrun_change", args=[run.pk]
        )
        assert (run.run_date, run.status, run.instructions_count, run.amount_idr) == (
            months_ahead(4),
            "prepared",
            12,
            7_200_000,
        )
        assert (run.prepared_by, run.prepared_by_user_id) == (
            "user:maker",
            User.objects.get(username="maker").pk,
        )
        batch = TransferBatch.objects.get()
        assert (batch.run_id, batch.control_count, batch.control_sum_idr, batch.status) == (
            run.pk,
            12,
            7_200_000,
            "ready",
        )
        assert flashed(response) == [
            f"Proses pembayaran {months_ahead(4).isoformat()} disiapkan: 12 transfer, Rp7.200.000."
        ]

        page = maker.get(response["Location"]).content.decode()
        assert row(page, f"batch-{batch.batch_id}") == [
            "OVO (ovo)",
            batch.batch_id,
            "12",
            "Rp7.200.000",
            "Siap dikirim",
            "0",
            "—",
        ]
        assert row(page, "status-ready") == ["Siap dikirim", "12", "Rp7.200.000"]
        assert 'id="approve-form"' in page and 'id="cancel-form"' in page

        before = snapshot()
        refused = maker.post(reverse("admin:incentives_disbursementrun_approve", args=[run.pk]))
        assert refused.status_code == 302
        assert flashed(refused) == [
            f"Tidak disetujui: MAKER_CANNOT_APPROVE — {MakerCannotApprove.message_id} "
            "(prepared_by: user:maker)"
        ]
        assert snapshot() == before
        assert DisbursementRun.objects.get(pk=run.pk).status == "prepared"
        assert bank.totals()["received_count"] == 0

        with django_capture_on_commit_callbacks(execute=True):
            done = checker.post(reverse("admin:incentives_disbursementrun_approve", args=[run.pk]))
        assert done.status_code == 302
        run.refresh_from_db()
        assert (run.status, run.approved_by) == ("approved", "user:checker")
        assert bank.totals()["received_count"] == 12
        assert set(TransferInstruction.objects.values_list("status", flat=True)) == {"accepted"}
        assert TransferBatch.objects.get().status == "sent"

        listing = checker.get(RUNS).content.decode()
        assert cell(listing, "amount") == ["Rp7.200.000"]
        assert cell(listing, "instructions_count") == ["12"]
        assert cell(listing, "prepared_by") == ["user:maker"]
        assert cell(listing, "approved_by") == ["user:checker"]
        assert (cell(listing, "paid"), cell(listing, "failed"), cell(listing, "awaiting")) == (
            ["0"],
            ["0"],
            ["12"],
        )
        # The results arrive (here all at once, as the institution reports them).
        ids = list(TransferInstruction.objects.values_list("instruction_id", flat=True))
        transfer_outcomes_record(
            institution_id=bank.partner.pk,
            outcomes=[Outcome(i, "success") for i in ids[:11]]
            + [Outcome(ids[11], "failed", "TEMPORARY_FAILURE")],
            actor=SYSTEM,
        )
        listing = checker.get(RUNS).content.decode()
        assert (cell(listing, "paid"), cell(listing, "failed"), cell(listing, "awaiting")) == (
            ["11"],
            ["1"],
            ["0"],
        )
        assert cell(listing, "status_shown") == ["Terkirim; hasil tercatat"]


def test_the_maker_cancels_a_prepared_run_and_its_entitlements_are_free_again(
    monkeypatch,
):
    with sandbox_bank("ovo", monkeypatch) as bank:
        entitled(bank, 1)
        maker = staff("maker", "prepare_run")
        maker.post(PREPARE, {"run_date": months_ahead(4).isoformat()})
        run = DisbursementRun.objects.get()
        response = maker.post(reverse("admin:incentives_disbursementrun_cancel", args=[run.pk]))
        assert response.status_code == 302
        run.refresh_from_db()
        assert run.status == "cancelled"
        assert list(
            TransferInstruction.objects.values_list("status", "reason_code").distinct()
        ) == [("failed", "CANCELLED")]
        assert statuses() == {"due": 4}
        assert bank.totals()["received_count"] == 0

        before = snapshot()
        again = maker.post(reverse("admin:incentives_disbursementrun_cancel", args=[run.pk]))
        assert flashed(again) == [
            "Tidak dibatalkan: RUN_NOT_PREPARED — Proses pembayaran ini tidak sedang menunggu "
            "persetujuan (status: cancelled). (status: cancelled)"
        ]
        assert snapshot() == before


def test_a_second_run_for_the_same_date_is_refused_on_the_form_and_changes_nothing():
    maker = staff("maker", "prepare_run", language="en")
    date = months_ahead(1).isoformat()
    assert maker.post(PREPARE, {"run_date": date}).status_code == 302
    before = snapshot()
    response = maker.post(PREPARE, {"run_date": date})
    assert response.status_code == 200
    assert (
        f"RUN_EXISTS — A disbursement run for {date} already exists. (run_date: {date})"
        in response.content.decode()
    )
    assert snapshot() == before


ROLES = {
    "no_permission": (),
    "viewer": ("view_disbursementrun", "view_statement"),
    "maker": ("prepare_run",),
    "checker": ("approve_run",),
    "reconciler": ("reconcile_statement",),
}
ALLOWED = {
    "prepare": {"maker"},
    "approve": {"checker"},
    "cancel": {"maker"},
    "upload": {"reconciler"},
    "failures": {"viewer", "maker", "checker"},
}


def _act(client: Client, action: str, run: DisbursementRun) -> Any:
    if action == "prepare":
        return client.post(PREPARE, {"run_date": months_ahead(2).isoformat()})
    if action == "failures":
        return client.get(FAILURES)
    if action == "upload":
        return client.post(
            UPLOAD,
            {
                "institution": "ovo",
                "statement_date": "2020-05-01",
                "file": io.BytesIO(b"instruction_id,amount_idr,status,partner_reference\n"),
            },
        )
    name = f"admin:incentives_disbursementrun_{action}"
    return client.post(reverse(name, args=[run.pk]))


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_the_role_with_the_permission_may_act(role: str, action: str):
    run = run_prepare(run_date=months_ahead(1), actor=MAKER)
    client = staff("staf", *ROLES[role])
    before = snapshot()
    response = _act(client, action, run)
    if role in ALLOWED[action]:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403
        assert snapshot() == before


def test_nobody_edits_or_deletes_a_run_through_the_generic_forms():
    run = run_prepare(run_date=months_ahead(1), actor=MAKER)
    client = staff("staf", "prepare_run", "approve_run", "view_disbursementrun")
    before = snapshot()
    assert client.get(f"{RUNS}add/").status_code == 403
    assert client.post(f"{RUNS}{run.pk}/delete/").status_code == 403
    assert client.post(f"{RUNS}{run.pk}/change/", {"status": "approved"}).status_code == 403
    assert snapshot() == before


def test_the_failures_page_and_its_csv_say_what_the_database_says(
    monkeypatch, django_capture_on_commit_callbacks
):
    with sandbox_bank("ovo", monkeypatch) as bank:
        first, second, _third = entitled(bank, 3)
        run = run_prepare(run_date=months_ahead(4), actor=MAKER)
        approved(run, django_capture_on_commit_callbacks)
        by_participant: dict[int, list[str]] = {}
        for instruction_id, participant_id in TransferInstruction.objects.order_by(
            "pk"
        ).values_list("instruction_id", "entitlement__participant_id"):
            by_participant.setdefault(participant_id, []).append(instruction_id)
        failing = {
            by_participant[first.pk][0]: "NOT_UPGRADED",
            by_participant[second.pk][0]: "TEMPORARY_FAILURE",
            by_participant[second.pk][1]: "TEMPORARY_FAILURE",
        }
        every = [i for ids in by_participant.values() for i in ids]
        transfer_outcomes_record(
            institution_id=bank.partner.pk,
            outcomes=[Outcome(i, "success") for i in every if i not in failing],
            actor=SYSTEM,
        )
        transfer_outcomes_record(
            institution_id=bank.partner.pk,
            outcomes=[Outcome(i, "failed", reason) for i, reason in failing.items()],
            actor=SYSTEM,
        )
        assert statuses() == {"paid": 9, "held:NOT_UPGRADED": 1, "due": 2}

        viewer = staff("viewer", "view_disbursementrun")
        page = viewer.get(FAILURES).content.decode()
        assert row(page, "transfer-ovo-TEMPORARY_FAILURE") == [
            "OVO (ovo)",
            "TEMPORARY_FAILURE",
            "Gagal sementara (dicoba lagi pada proses berikutnya)",
            "2",
            "Rp1.200.000",
        ]
        assert row(page, "transfer-ovo-NOT_UPGRADED") == [
            "OVO (ovo)",
            "NOT_UPGRADED",
            "Dompet digital belum di-upgrade (KYC)",
            "1",
            "Rp600.000",
        ]
        assert row(page, "transfers-total") == ["Total", "3", "Rp1.800.000"]
        assert row(page, "hold-NOT_UPGRADED") == [
            "NOT_UPGRADED",
            "Dompet digital belum di-upgrade (KYC)",
            "1",
            "Rp600.000",
        ]
        assert row(page, "holds-total") == ["Total", "1", "Rp600.000"]

        # The same numbers as the database's own count.
        failed = TransferInstruction.objects.filter(status="failed").aggregate(
            n=Count("pk"), amount=Sum("amount_idr")
        )
        held = Entitlement.objects.filter(status="held").aggregate(
            n=Count("pk"), amount=Sum("amount_idr")
        )
        assert (failed["n"], failed["amount"], held["n"], held["amount"]) == (
            3,
            1_800_000,
            1,
            600_000,
        )
        assert PaymentAccount.objects.get(participant=first).status == "rejected"

        exported = viewer.get(FAILURES, {"format": "csv"})
        assert exported["Content-Type"] == "text/csv; charset=utf-8"
        assert list(csv.reader(io.StringIO(exported.content.decode()))) == [
            ["table", "institution", "reason_code", "count", "amount_idr"],
            ["failed_transfer", "ovo", "TEMPORARY_FAILURE", "2", "1200000"],
            ["failed_transfer", "ovo", "NOT_UPGRADED", "1", "600000"],
            ["held_entitlement", "", "NOT_UPGRADED", "1", "600000"],
        ]

        run_page = viewer.get(
            reverse("admin:incentives_disbursementrun_change", args=[run.pk])
        ).content.decode()
        assert row(run_page, "failure-TEMPORARY_FAILURE")[2:] == ["2", "Rp1.200.000"]
        assert row(run_page, "failure-NOT_UPGRADED")[2:] == ["1", "Rp600.000"]
        assert row(run_page, "status-success") == ["Dibayar", "9", "Rp5.400.000"]
        assert row(run_page, "status-failed") == ["Gagal", "3", "Rp1.800.000"]
        assert 'id="approve-form"' not in run_page  # a viewer, and the run is done


def _statement_csv(lines: list[tuple[str, int, str, str]]) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["instruction_id", "amount_idr", "status", "partner_reference"])
    writer.writerows(lines)
    upload = io.BytesIO(out.getvalue().encode())
    upload.name = "ovo-statement.csv"
    return upload


def test_an_uploaded_statement_is_reconciled_and_a_malformed_one_changes_nothing(
    monkeypatch, django_capture_on_commit_callbacks
):
    with sandbox_bank("ovo", monkeypatch) as bank:
        entitled(bank, 3)
        run = run_prepare(run_date=months_ahead(4), actor=MAKER)
        approved(run, django_capture_on_commit_callbacks)
        transfer_outcomes_record(
            institution_id=bank.partner.pk,
            outcomes=[
                Outcome(i, "success", partner_reference=f"REF-{i}")
                for i in TransferInstruction.objects.values_list("instruction_id", flat=True)
            ],
            actor=SYSTEM,
        )
        paid = list(
            TransferInstruction.objects.order_by("pk").values_list(
                "instruction_id", "amount_idr", "settled_at"
            )
        )
        assert len(paid) == 12
        day = paid[11][2].astimezone(WIB).date()
        assert all(settled.astimezone(WIB).date() == day for _, _, settled in paid)
        reconciler = staff("finance", "reconcile_statement")

        form = reconciler.get(UPLOAD)
        assert form.status_code == 200
        assert '<option value="ovo">OVO (ovo)</option>' in form.content.decode()

        before = snapshot()
        bad = [(i, amount, "success", f"REF-{i}") for i, amount, _ in paid[:3]]
        bad[1] = (bad[1][0], bad[1][1], "paid", "")  # row 3 of the file
        response = reconciler.post(
            UPLOAD,
            {"institution": "ovo", "statement_date": day.isoformat(), "file": _statement_csv(bad)},
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert (
            "VALIDATION_FAILED — Data yang dikirim tidak valid. Periksa kolom yang disebutkan. "
            "(file: CSV_ROW_INVALID; row: 3)" in page
        )
        assert "Baris 3 berkas tidak valid" in page
        assert snapshot() == before

        headless = io.BytesIO(b"id,amount\nPKJ-E1-1,600000\n")
        headless.name = "x.csv"
        response = reconciler.post(
            UPLOAD, {"institution": "ovo", "statement_date": day.isoformat(), "file": headless}
        )
        assert "CSV_HEADER_INVALID" in response.content.decode()
        assert snapshot() == before

        lines = [(i, amount, "success", f"REF-{i}") for i, amount, _ in paid[:10]]
        lines.append((paid[10][0], paid[10][1] + 1, "success", f"REF-{paid[10][0]}"))
        lines.append(("PKJ-E999999-1", 600_000, "success", "REF-X"))
        response = reconciler.post(
            UPLOAD,
            {
                "institution": "ovo",
                "statement_date": day.isoformat(),
                "file": _statement_csv(lines),
            },
        )
        statement = Statement.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "admin:incentives_statement_change", args=[statement.pk]
        )
        assert (
            statement.source,
            statement.received_by,
            statement.lines_count,
            statement.matched,
            statement.missing_here,
            statement.missing_there,
            statement.amount_mismatch,
        ) == ("csv", "user:finance", 12, 10, 1, 1, 1)
        assert sorted(StatementItem.objects.values_list("outcome", "instruction_id")) == sorted(
            [
                ("amount_mismatch", paid[10][0]),
                ("missing_here", "PKJ-E999999-1"),
                ("missing_there", paid[11][0]),
            ]
        )
        assert balance(AccountKind.PAID_OUT) == 10 * 600_000
        assert TransferInstruction.objects.filter(reconciled_at__isnull=False).count() == 10

        page = reconciler.get(response["Location"]).content.decode()
        assert row(page, "count-matched") == ["Cocok", "10"]
        assert row(page, "count-missing_here") == ["Ada di laporan, tidak di sini", "1"]
        assert row(page, "count-missing_there") == ["Ada di sini, tidak di laporan", "1"]
        assert row(page, "count-amount_mismatch") == ["Jumlah berbeda", "1"]
        assert row(page, "count-status_mismatch") == ["Status berbeda", "0"]
        assert paid[11][0] in page and "PKJ-E999999-1" in page

        listing = reconciler.get(STATEMENTS).content.decode()
        assert cell(listing, "matched") == ["10"]
        assert 'id="upload-statement"' in listing


def test_the_read_only_lists_search_and_never_show_a_nik(monkeypatch):
    with sandbox_bank("ovo", monkeypatch) as bank:
        (person,) = entitled(bank, 1)
        run_prepare(run_date=months_ahead(4), actor=MAKER)
        viewer = staff(
            "viewer", "view_paymentaccount", "view_entitlement", "view_transferinstruction"
        )
        registrant = person.registrant
        nik = nik_of(person)
        account = PaymentAccount.objects.get()
        instruction = TransferInstruction.objects.order_by("pk").first()
        assert instruction is not None
        pages = [
            viewer.get("/admin/incentives/paymentaccount/", {"q": registrant.phone}),
            viewer.get(f"/admin/incentives/paymentaccount/{account.pk}/change/"),
            viewer.get("/admin/incentives/entitlement/", {"status__exact": "due"}),
            viewer.get("/admin/incentives/transferinstruction/", {"q": instruction.instruction_id}),
            viewer.get(f"/admin/incentives/transferinstruction/{instruction.pk}/change/"),
        ]
        assert [p.status_code for p in pages] == [200] * 5
        assert cell(pages[0].content.decode(), "account_number") == [registrant.phone]
        assert len(cell(pages[2].content.decode(), "amount")) == 4
        assert cell(pages[3].content.decode(), "instruction_id") == [instruction.instruction_id]
        for page in pages:
            assert nik not in page.content.decode()
