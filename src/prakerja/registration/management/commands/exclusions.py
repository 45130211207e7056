import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.registration.exclusions import exclusion_list_import


def _data_lines(path: Path) -> int:
    """Lines after the header, for the progress bar's total (quoted line breaks make it a guess)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # the last line has no line break
    return max(lines - 1, 0)


class Command(BaseCommand):
    help = (
        "Exclusion lists. `prakerja exclusions import FILE --category NAME` imports a CSV of NIKs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "import",
            help="Import a CSV with a header row: nik, and optionally category, source and date "
            "(YYYY-MM-DD or DD/MM/YYYY). Invalid NIKs are counted as rejected, never stored; "
            "NIKs already on the list under the same category are not added again.",
        )
        load.add_argument("file", help="Path of the CSV file (UTF-8).")
        load.add_argument(
            "--category",
            default=None,
            help="Category of every row, e.g. bansos, pns, dprd, perangkat-desa. Required unless "
            "the file has a category column; when given it overrides that column.",
        )
        load.add_argument("--source", default="", help="Where the list came from.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"cannot import {path}: no such file")
        bar = tqdm(total=_data_lines(path), unit=" rows", file=sys.stderr)
        try:
            # errors="replace": a stray byte then fails its row's NIK check, not the whole file
            with (
                bar,
                path.open(encoding="utf-8-sig", errors="replace", newline="") as stream,
            ):
                result = exclusion_list_import(
                    stream=stream,
                    file_name=path.name,
                    category=options["category"],
                    source=options["source"],
                    actor=Actor.system("cli.exclusions-import"),
                    progress=bar.update,
                )
        except ValidationFailed as error:
            problems = "; ".join(f"{field}: {problem}" for field, problem in error.details.items())
            raise CommandError(f"cannot import {path}: {problems or error.message('en')}") from None
        self.stdout.write(
            f"imported {options['file']}: {result.rows_read} rows read, "
            f"{result.rows_added} added, {result.rows_rejected} rejected"
        )
