from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from prakerja.dashboards.facts import facts_refresh


class Command(BaseCommand):
    help = "The dashboards' daily facts: `refresh` recomputes the days touched since the last run."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        refresh = actions.add_parser("refresh", help="Bring the daily facts up to date.")
        refresh.add_argument(
            "--full", action="store_true", help="Recompute every day instead of the touched ones."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = facts_refresh(full=options["full"])
        kind = "full" if outcome.full else "incremental"
        days = ", ".join(f"{name} {'all' if n < 0 else n} days" for name, n in outcome.days.items())
        rows = ", ".join(f"{name} {n}" for name, n in outcome.rows.items())
        self.stdout.write(f"dashboards refreshed ({kind}): {days}; rows: {rows}")
