"""prakerja simulate --scale S --seed N [--workers W]: the 2020 program through the system."""

import datetime
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.simulation.report import report_text
from prakerja.simulation.run import SimulationRefused, simulate


class Command(BaseCommand):
    help = (
        "Simulate the 2020 program day by day through the system's services, then print "
        "figures.md's funnel beside the simulated one and the bad actors caught. Exits 1 when a "
        "share is more than 1 point off, a bad actor got money, or the money does not reconcile. "
        "Run it on a new database; run it again with the same scale and seed to resume."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, default=0.001, help="1:N of 2020 (0.01 = 1:100)."
        )
        parser.add_argument("--seed", type=int, default=2020)
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="Start this many `prakerja worker` processes on Redis (PostgreSQL only).",
        )
        parser.add_argument(
            "--stop-after",
            type=datetime.date.fromisoformat,
            default=None,
            help="Stop after this simulated day (YYYY-MM-DD); run again to resume.",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        scale = options["scale"]
        if not 0 < scale <= 1:
            raise CommandError("--scale must be above 0 and at most 1")
        shown = not options["no_progress"]
        began = time.monotonic()  # the wall clock: the simulated one is in 2020

        def progress(done: int, total: int, status: str) -> None:
            if shown:
                filled = round(30 * done / total)
                bar = "#" * filled + "." * (30 - filled)
                spent = time.monotonic() - began
                sys.stderr.write(f"\r[{bar}] {done}/{total} days, {spent:.0f} s · {status}   ")
                sys.stderr.flush()

        def log(line: str) -> None:
            sys.stderr.write(f"\r{line}\n" if shown else f"{line}\n")

        try:
            outcome = simulate(
                scale=scale,
                seed=options["seed"],
                workers=options["workers"],
                log=log,
                progress=progress,
                stop_after=options["stop_after"],
            )
        except SimulationRefused as refused:
            raise CommandError(str(refused)) from None
        finally:
            if shown:
                sys.stderr.write("\n")
        if outcome is None:
            self.stdout.write(f"stopped after {options['stop_after']}; run again to resume")
            return
        self.stdout.write(report_text(outcome.report, scale, options["seed"]))
        self.stderr.write(f"elapsed: {outcome.elapsed_s:.0f} s for {outcome.days} days")
        if not outcome.report.ok:
            sys.exit(1)
