"""Finance console for incentives (program.md §5): disbursement runs with their results, the
failures by reason, institutions' statements with an upload page, and read-only lists of payment
accounts, entitlements and transfer instructions.

Nothing here is edited through the admin's generic forms: runs are prepared, approved and
cancelled, statements reconciled, only through the services (incentives/console.py's pages). No
NIK is shown anywhere: a participant appears as their card number.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from prakerja.common.admin import ReadOnlyAdmin
from prakerja.incentives import console
from prakerja.incentives.admin_lists import InstitutionFilter, wib_column  # registers the lists
from prakerja.incentives.console_selectors import (
    STATEMENT_ITEMS_SHOWN,
    RunResults,
    run_page,
    runs_results,
    statement_page,
)
from prakerja.incentives.live_state import disbursement_live_state
from prakerja.incentives.models import DisbursementRun, Statement

# --- disbursement runs ----------------------------------------------------------------------------


@admin.register(DisbursementRun)
class DisbursementRunAdmin(ReadOnlyAdmin):
    list_display = (
        "run_date",
        "status_shown",
        "instructions_count",
        "amount",
        "prepared_by",
        "approved_by",
        "paid",
        "failed",
        "awaiting",
    )
    list_filter = ("status",)
    ordering = ("-run_date", "-pk")
    date_hierarchy = "run_date"
    fields = (
        "run_date",
        "status_shown",
        "instructions_count",
        "amount",
        "prepared_by",
        "prepared_time",
        "approved_by",
        "approved_time",
        "finished_time",
    )
    readonly_fields = fields
    change_form_template = "admin/incentives/disbursementrun/change_form.html"
    change_list_template = "admin/incentives/disbursementrun/change_list.html"

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The maker and the checker see the runs they act on without a separate view right.
        return (
            super().has_view_permission(request, obj)
            or console.may_prepare(request)
            or console.may_approve(request)
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        own = [
            path(
                "prepare/",
                wrap(lambda request: console.prepare_view(self, request)),
                name="incentives_disbursementrun_prepare",
            ),
            path(
                "failures/",
                wrap(lambda request: console.failures_view(self, request)),
                name="incentives_disbursementrun_failures",
            ),
            path(
                "<path:object_id>/approve/",
                wrap(lambda request, object_id: console.approve_view(self, request, object_id)),
                name="incentives_disbursementrun_approve",
            ),
            path(
                "<path:object_id>/cancel/",
                wrap(lambda request, object_id: console.cancel_view(self, request, object_id)),
                name="incentives_disbursementrun_cancel",
            ),
        ]
        return [*own, *super().get_urls()]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # The page's results in one grouped query; the runs are cached on the page's queryset.
        runs = list(changelist.result_list)
        results = runs_results(run.pk for run in runs)
        for run in runs:
            run.results = results.get(run.pk, RunResults())
        return changelist

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "may_prepare": console.may_prepare(request),
            "prepare_url": reverse("admin:incentives_disbursementrun_prepare"),
            "failures_url": reverse("admin:incentives_disbursementrun_failures"),
        }
        return super().changelist_view(request, extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if run is not None and self.has_view_permission(request, run):
            extra.update(self._page(request, run))
        return super().change_view(request, object_id, form_url, extra)

    def _page(self, request: HttpRequest, run: DisbursementRun) -> dict[str, Any]:
        page = run_page(run)
        prepared = run.status == "prepared"
        return {
            "run": run,
            "results": page.results,
            "batches": [
                {
                    "batch_id": b.batch_id,
                    "institution": b.institution_name,
                    "institution_code": b.institution_code,
                    "control_count": b.control_count,
                    "control_sum": console.rupiah(b.control_sum_idr),
                    "status": console.status_label(b.status),
                    "send_attempts": b.send_attempts,
                    "refusal": b.refusal,
                }
                for b in page.batches
            ],
            "by_status": [
                {
                    "status": row.key,
                    "label": console.status_label(row.key),
                    "count": row.count,
                    "amount": console.rupiah(row.amount_idr),
                }
                for row in page.by_status
            ],
            "failures": [
                {
                    "reason": row.key,
                    "label": console.reason_label(row.key),
                    "count": row.count,
                    "amount": console.rupiah(row.amount_idr),
                }
                for row in page.failures
            ],
            "live": _live(run),
            "amount_shown": console.rupiah(run.amount_idr),
            "approve_url": (
                reverse("admin:incentives_disbursementrun_approve", args=[run.pk])
                if prepared and console.may_approve(request)
                else ""
            ),
            "cancel_url": (
                reverse("admin:incentives_disbursementrun_cancel", args=[run.pk])
                if prepared and console.may_prepare(request)
                else ""
            ),
            "failures_url": reverse("admin:incentives_disbursementrun_failures"),
            "instructions_url": reverse("admin:incentives_transferinstruction_changelist")
            + f"?batch__run__id__exact={run.pk}",
        }

    @admin.display(description=_("status"), ordering="status")
    def status_shown(self, run: DisbursementRun) -> str:
        return console.status_label(run.status)

    @admin.display(description=_("amount"), ordering="amount_idr")
    def amount(self, run: DisbursementRun) -> str:
        return console.rupiah(run.amount_idr)

    def _results(self, run: DisbursementRun) -> RunResults:
        results = getattr(run, "results", None)
        return results if results is not None else runs_results([run.pk]).get(run.pk, RunResults())

    @admin.display(description=_("paid"))
    def paid(self, run: DisbursementRun) -> int:
        return self._results(run).paid

    @admin.display(description=_("failed"))
    def failed(self, run: DisbursementRun) -> int:
        return self._results(run).failed

    @admin.display(description=_("awaiting"))
    def awaiting(self, run: DisbursementRun) -> int:
        return self._results(run).awaiting

    prepared_time = wib_column("prepared_at", _("prepared at (WIB)"))

    approved_time = wib_column("approved_at", _("approved at (WIB)"))

    finished_time = wib_column("finished_at", _("finished at (WIB)"))


def _live(run: DisbursementRun) -> dict[str, Any]:
    """The run's live state (live_state.py) as the page shows it: labels in the officer's
    language, rupiah formatted, reason codes with their meaning."""
    state = disbursement_live_state(run.pk)

    def rows(groups: Any, label: Any) -> list[dict[str, Any]]:
        return [
            {
                "key": row.key,
                "label": label(row.key),
                "count": row.count,
                "amount": console.rupiah(row.amount_idr),
            }
            for row in groups
        ]

    def one(row: Any) -> dict[str, Any]:
        return {"count": row.count, "amount": console.rupiah(row.amount_idr)}

    return {
        "batches": rows(state.batches, console.status_label),
        "in_flight": rows(state.in_flight, console.status_label),
        "outcome_unknown": one(state.outcome_unknown),
        "outcome_unknown_oldest_s": state.outcome_unknown_oldest_s,
        "awaiting_results": one(state.awaiting_results),
        "awaiting_results_oldest_s": state.awaiting_results_oldest_s,
        "paid": one(state.paid),
        "failed": rows(state.failed, console.reason_label),
        "failed_total": one(state.failed_total),
        "held": rows(state.held, console.reason_label),
        "held_total": one(state.held_total),
    }


# --- statements -----------------------------------------------------------------------------------


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = (
        "statement_date",
        "institution",
        "source",
        "lines_count",
        "matched",
        "missing_here",
        "missing_there",
        "amount_mismatch",
        "received_by",
        "received_time",
    )
    list_filter = (InstitutionFilter, "source")
    list_select_related = ("institution",)
    ordering = ("-received_at", "-pk")
    date_hierarchy = "statement_date"
    fields = (
        "institution",
        "statement_date",
        "source",
        "received_by",
        "received_time",
        "lines_count",
        "matched",
        "missing_here",
        "missing_there",
        "amount_mismatch",
    )
    readonly_fields = fields
    change_form_template = "admin/incentives/statement/change_form.html"
    change_list_template = "admin/incentives/statement/change_list.html"

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_view_permission(request, obj) or console.may_reconcile(request)

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload/",
            self.admin_site.admin_view(lambda request: console.upload_view(self, request)),
            name="incentives_statement_upload",
        )
        return [upload, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "may_upload": console.may_reconcile(request),
            "upload_url": reverse("admin:incentives_statement_upload"),
        }
        return super().changelist_view(request, extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        statement = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if statement is not None and self.has_view_permission(request, statement):
            page = statement_page(statement)
            extra.update(
                {
                    "statement": statement,
                    "by_outcome": [
                        {"outcome": o, "label": console.status_label(o), "count": n}
                        for o, n in page.by_outcome
                    ],
                    "items": [
                        {
                            "outcome": console.status_label(item.outcome),
                            "instruction_id": item.instruction_id,
                            "amount_here": _amount(item.amount_here_idr),
                            "amount_there": _amount(item.amount_there_idr),
                            "status_here": item.status_here or "—",
                            "status_there": item.status_there or "—",
                        }
                        for item in page.items
                    ],
                    "items_total": page.items_total,
                    "items_shown": STATEMENT_ITEMS_SHOWN,
                }
            )
        return super().change_view(request, object_id, form_url, extra)

    received_time = wib_column("received_at", _("received at (WIB)"), ordering="received_at")


def _amount(amount: int | None) -> str:
    return console.rupiah(amount) if amount is not None else "—"
