import inspect
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.ops.bench import BENCHMARKS, runner
from prakerja.ops.bench.scratch import scratch_database


class Command(BaseCommand):
    help = (
        "Run one benchmark in a scratch database and print one JSON line: "
        "bench, n, seconds, per_second, limit_seconds, ratio_to_limit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(BENCHMARKS))
        parser.add_argument("--n", type=int, default=None)
        parser.add_argument(
            "--quota",
            type=int,
            default=None,
            help="Wave quota, for the selection benchmark only (default: the scheme's wave quota).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Worker processes taking the chunks, for benchmarks of batch work (orders).",
        )
        parser.add_argument("--keep-db", action="store_true", help="Keep the scratch database.")
        parser.add_argument(
            "--in-place",
            action="store_true",
            help="Run in the configured database, on the data it holds (benchmarks that read: "
            "dashboards), instead of a scratch database.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        n = options["n"] or BENCHMARKS[name][1]
        if n < 1:
            raise CommandError("--n must be at least 1")
        run = runner(name)
        settings = _bench_settings(run, name, quota=options["quota"], workers=options["workers"])

        def log(line: str) -> None:
            print(f"[bench {name}] {line}", file=sys.stderr, flush=True)

        if options["in_place"]:
            if "in_place" not in inspect.signature(run).parameters:
                raise CommandError(f"--in-place does not apply to the {name} benchmark")
            result = run(n, log, in_place=True, **settings)
            self.stdout.write(json.dumps(result.as_contract(name, n)))
            return
        with scratch_database(keep=options["keep_db"]) as database:
            log(f"scratch database {database}")
            result = run(n, log, **settings)
        self.stdout.write(json.dumps(result.as_contract(name, n)))


def _bench_settings(run: Any, name: str, **given: int | None) -> dict[str, int]:
    """The options given on the command line, each refused unless this benchmark takes it (checked
    before the scratch database is made)."""
    accepted = inspect.signature(run).parameters
    settings = {option: value for option, value in given.items() if value is not None}
    for option, value in settings.items():
        if option not in accepted:
            raise CommandError(f"--{option} does not apply to the {name} benchmark")
        if value < 1:
            raise CommandError(f"--{option} must be at least 1")
    return settings
