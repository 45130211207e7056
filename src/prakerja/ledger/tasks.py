from typing import Any

from celery import shared_task

from prakerja.ledger.selectors import ledger_integrity_report


@shared_task(name="prakerja.ledger.check")
def ledger_check_task() -> dict[str, Any]:
    """The integrity check as a background job (e.g. nightly); returns the report as plain data."""
    report = ledger_integrity_report()
    return {
        "ok": report.ok,
        "accounts": report.accounts,
        "transactions": report.transactions,
        "problems": [str(problem) for problem in report.problems],
    }
