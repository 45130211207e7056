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
        parser.add_argument("--keep-db", action="store_true", help="Keep the scratch database.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        n = options["n"] or BENCHMARKS[name][1]
        if n < 1:
            raise CommandError("--n must be at least 1")

        def log(line: str) -> None:
            print(f"[bench {name}] {line}", file=sys.stderr, flush=True)

        with scratch_database(keep=options["keep_db"]) as database:
            log(f"scratch database {database}")
            result = runner(name)(n, log)
        self.stdout.write(json.dumps(result.as_contract(name, n)))
