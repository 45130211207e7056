"""The finance console's own pages for disbursement (program.md §5), wired into the admin by
incentives/admin.py: preparing a run (the maker), approving or cancelling it (the checker, the
maker), failures by reason with their CSV, and uploading an institution's statement.

Each page parses its input, calls one service with the officer as actor and shows what it did — or
the service's refusal, code and message in the officer's language, with nothing changed. Real money
moves on approval, so every page checks its own permission, not only the admin's view permission.
"""

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import format_wib
from prakerja.incentives.console_selectors import failures_csv, failures_report
from prakerja.incentives.models import DisbursementRun, Statement
from prakerja.incentives.reconciliation import (
    CSV_HEADER,
    statement_lines_from_csv,
    statement_reconcile,
)
from prakerja.incentives.runs import run_approve, run_cancel, run_prepare
from prakerja.partners.models import Partner, PartnerKind

PREPARE = "incentives.prepare_run"
APPROVE = "incentives.approve_run"
RECONCILE = "incentives.reconcile_statement"

MAX_STATEMENT_BYTES = 100 * 1024 * 1024  # a day of ~1 million lines of ~80 bytes

# Reason codes of partner-api.md, run cancellation and holds, as finance reads them.
REASON_LABELS = {
    "NIK_MISMATCH": gettext_lazy("The account holder's NIK differs"),
    "NOT_UPGRADED": gettext_lazy("E-wallet not upgraded (KYC)"),
    "ACCOUNT_INACTIVE": gettext_lazy("Account inactive"),
    "ACCOUNT_NOT_FOUND": gettext_lazy("Account not found"),
    "LIMIT_REACHED": gettext_lazy("Wallet balance or monthly limit reached"),
    "PHONE_CHANGED": gettext_lazy("Phone number changed"),
    "TEMPORARY_FAILURE": gettext_lazy("Temporary failure (tried again in a later run)"),
    "CANCELLED": gettext_lazy("Run cancelled before sending"),
    "NO_ACCOUNT": gettext_lazy("No verified payment account"),
    "ATTEMPTS_EXHAUSTED": gettext_lazy("Transfer failed too many times"),
    "EXCLUDED": gettext_lazy("On an exclusion list"),
    "REPLACED": gettext_lazy("Replaced by a newer account"),
    "FAST_COMPLETION": gettext_lazy("Completion faster than the training: being checked"),
    "REVIEW_FLAGGED": gettext_lazy("Review identical to another account's: being checked"),
}

# The models' status labels are English; these are what the console shows in either language.
STATUS_LABELS = {
    "prepared": gettext_lazy("Prepared, awaiting approval"),
    "approved": gettext_lazy("Approved, sending"),
    "done": gettext_lazy("Sent; results recorded"),
    "cancelled": gettext_lazy("Cancelled"),
    "ready": gettext_lazy("Ready to send"),
    "sending": gettext_lazy("Being sent (outcome to be confirmed)"),
    "sent": gettext_lazy("Sent"),
    "refused": gettext_lazy("Refused whole by the institution"),
    "accepted": gettext_lazy("Accepted, awaiting the result"),
    "success": gettext_lazy("Paid"),
    "failed": gettext_lazy("Failed"),
    "matched": gettext_lazy("Matched"),
    "missing_here": gettext_lazy("On the statement, not here"),
    "missing_there": gettext_lazy("Here, not on the statement"),
    "amount_mismatch": gettext_lazy("Amounts differ"),
    "status_mismatch": gettext_lazy("Statuses differ"),
}


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, ""))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def rupiah(amount: int | None) -> str:
    return format_rupiah(int(amount or 0))


def wib(moment: datetime.datetime | None) -> str:
    return format_wib(moment, language=get_language() or "id") if moment else "—"


def refusal(error: ApplicationError) -> str:
    """The service's refusal as the officer reads it: its stable code, its message in their
    language, and the facts it names (a validation's field, a CSV's row)."""
    text = f"{error.code} — {error.message(get_language() or 'id')}"
    if error.details:
        text += " (" + "; ".join(f"{key}: {value}" for key, value in error.details.items()) + ")"
    return text


def may_prepare(request: HttpRequest) -> bool:
    return request.user.has_perm(PREPARE)


def may_approve(request: HttpRequest) -> bool:
    return request.user.has_perm(APPROVE)


def may_reconcile(request: HttpRequest) -> bool:
    return request.user.has_perm(RECONCILE)


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def _run_url(run: DisbursementRun) -> str:
    return reverse("admin:incentives_disbursementrun_change", args=[run.pk])


# --- runs -------------------------------------------------------------------------------------------


class PrepareForm(forms.Form):
    run_date = forms.DateField(
        label=gettext_lazy("Run date"),
        help_text=gettext_lazy(
            "Entitlements due on or before this date (WIB) are paid, oldest first, up to the "
            "daily capacity. One run per date."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def prepare_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponseBase:
    """The maker's page: a date (today in WIB unless changed) → `run_prepare` → the run's page."""
    if not may_prepare(request):
        raise PermissionDenied
    form = PrepareForm(request.POST or None, initial={"run_date": clock.today()})
    if request.method == "POST" and form.is_valid():
        try:
            run = run_prepare(
                run_date=form.cleaned_data["run_date"], actor=Actor.for_user(request.user)
            )
        except ApplicationError as error:
            form.add_error(None, refusal(error))
        else:
            messages.success(
                request,
                _("Run of %(date)s prepared: %(count)d transfers, %(amount)s.")
                % {
                    "date": run.run_date.isoformat(),
                    "count": run.instructions_count,
                    "amount": rupiah(run.amount_idr),
                },
            )
            return HttpResponseRedirect(_run_url(run))
    context = _context(model_admin, request, title=_("Prepare a disbursement run"), form=form)
    return TemplateResponse(request, "admin/incentives/disbursementrun/prepare.html", context)


def _run_or_404(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> Any:
    run = model_admin.get_object(request, unquote(object_id))
    if run is None:
        raise Http404(_("There is no disbursement run with id %(id)s.") % {"id": object_id})
    return run


def approve_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponseBase:
    """The checker approves (`run_approve`); the batches are sent once it commits."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not may_approve(request):
        raise PermissionDenied
    run = _run_or_404(model_admin, request, object_id)
    try:
        run = run_approve(run=run, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        messages.error(request, _("Not approved: %(refusal)s") % {"refusal": refusal(error)})
    else:
        messages.success(
            request,
            _("Run of %(date)s approved: %(count)d transfers, %(amount)s are being sent.")
            % {
                "date": run.run_date.isoformat(),
                "count": run.instructions_count,
                "amount": rupiah(run.amount_idr),
            },
        )
    return HttpResponseRedirect(_run_url(run))


def cancel_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponseBase:
    """The maker cancels a run not yet approved (`run_cancel`): its entitlements are free again."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not may_prepare(request):
        raise PermissionDenied
    run = _run_or_404(model_admin, request, object_id)
    try:
        run = run_cancel(run=run, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        messages.error(request, _("Not cancelled: %(refusal)s") % {"refusal": refusal(error)})
    else:
        messages.success(
            request, _("Run of %(date)s cancelled.") % {"date": run.run_date.isoformat()}
        )
    return HttpResponseRedirect(_run_url(run))


def failures_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponseBase:
    """Failed transfers by institution × reason code and held entitlements by hold reason; the
    same rows as CSV with ?format=csv."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    report = failures_report()
    if request.GET.get("format") == "csv":
        today = clock.today().isoformat()
        response = HttpResponse(failures_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="kegagalan-{today}.csv"'
        return response
    context = _context(
        model_admin,
        request,
        title=_("Failures by reason"),
        transfers=[
            {
                "institution": row.institution_name,
                "institution_code": row.institution_code,
                "reason": row.reason_code,
                "label": reason_label(row.reason_code),
                "count": row.count,
                "amount": rupiah(row.amount_idr),
            }
            for row in report.transfers
        ],
        holds=[
            {
                "reason": row.key,
                "label": reason_label(row.key),
                "count": row.count,
                "amount": rupiah(row.amount_idr),
            }
            for row in report.holds
        ],
        transfers_total={
            "count": report.transfers_total.count,
            "amount": rupiah(report.transfers_total.amount_idr),
        },
        holds_total={
            "count": report.holds_total.count,
            "amount": rupiah(report.holds_total.amount_idr),
        },
        csv_url=f"{request.path}?format=csv",
    )
    return TemplateResponse(request, "admin/incentives/failures.html", context)


# --- statements -------------------------------------------------------------------------------------


class StatementUploadForm(forms.Form):
    institution = forms.ModelChoiceField(
        label=gettext_lazy("Financial institution"),
        queryset=Partner.objects.filter(kind=PartnerKind.INSTITUTION).order_by("code"),
        to_field_name="code",
    )
    statement_date = forms.DateField(
        label=gettext_lazy("Statement date"),
        help_text=gettext_lazy("The day (WIB) the statement covers."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    file = forms.FileField(label=gettext_lazy("CSV file"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("Header row: %(header)s") % {
            "header": ",".join(CSV_HEADER)
        }

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise forms.ValidationError(
                _("The file exceeds %(megabytes)d MB.")
                % {"megabytes": MAX_STATEMENT_BYTES // (1024 * 1024)}
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None


def upload_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponseBase:
    """An institution's statement as CSV → `statement_lines_from_csv` (a malformed file is refused
    whole, naming its row, before anything is written) → `statement_reconcile` → its page."""
    if not may_reconcile(request):
        raise PermissionDenied
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        actor = Actor.for_user(request.user)
        try:
            lines = statement_lines_from_csv(form.cleaned_data["file"])
            statement = statement_reconcile(
                institution=form.cleaned_data["institution"],
                statement_date=form.cleaned_data["statement_date"],
                lines=lines,
                source="csv",
                actor=actor,
            )
        except ValidationFailed as error:
            form.add_error("file", refusal(error))
            if "row" in error.details:
                form.add_error(
                    "file",
                    _(
                        "Row %(row)s of the file is not valid: it needs an instruction_id, "
                        "amount_idr in whole rupiah, status success or failed, and "
                        "partner_reference (may be empty)."
                    )
                    % {"row": error.details["row"]},
                )
        except ApplicationError as error:
            form.add_error(None, refusal(error))
        else:
            messages.success(request, reconciled_text(statement))
            return HttpResponseRedirect(
                reverse("admin:incentives_statement_change", args=[statement.pk])
            )
    context = _context(
        model_admin,
        request,
        title=_("Upload a statement CSV"),
        form=form,
        header=",".join(CSV_HEADER),
    )
    return TemplateResponse(request, "admin/incentives/statement/upload.html", context)


def reconciled_text(statement: Statement) -> str:
    return _(
        "Statement of %(date)s reconciled: %(lines)d lines; %(matched)d matched, "
        "%(missing_here)d missing here, %(missing_there)d missing there, "
        "%(amount_mismatch)d amount mismatches."
    ) % {
        "date": statement.statement_date.isoformat(),
        "lines": statement.lines_count,
        "matched": statement.matched,
        "missing_here": statement.missing_here,
        "missing_there": statement.missing_there,
        "amount_mismatch": statement.amount_mismatch,
    }
