from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.ledger.selectors import ledger_integrity_report


class Command(BaseCommand):
    help = "Ledger tools. `prakerja ledger check` verifies balances against legs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "check",
            help="Every balance row equals the sum of its legs and every transaction sums to zero; "
            "exits non-zero naming the accounts on any mismatch.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_integrity_report()
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"MISMATCH {problem}")
            raise CommandError(
                f"ledger check failed: {len(report.problems)} problem(s) in "
                f"{report.accounts} accounts and {report.transactions} transactions"
            )
        self.stdout.write(
            f"ledger check OK: {report.accounts} accounts, {report.transactions} transactions, "
            "every balance equals its legs and every transaction sums to zero"
        )
