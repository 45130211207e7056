from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.waves.inputs import selection_inputs_chunks
from prakerja.waves.models import Wave
from prakerja.waves.priority_lists import priority_list_import


def _refusal(error: ApplicationError) -> str:
    problems = "; ".join(f"{field}: {problem}" for field, problem in error.details.items())
    if isinstance(error, ValidationFailed) and problems:
        return f"{error.code} ({problems})"
    return f"{error.code}: {error.message('en')}"


class Command(BaseCommand):
    help = (
        "Waves. `prakerja waves inputs --wave N [--out FILE]` writes a drawn wave's published "
        "selection inputs; `prakerja waves priority-import GROUP FILE.csv` imports a priority list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        inputs = sub.add_parser(
            "inputs",
            help="Write inputs.json of a drawn wave, the file tools/verify_selection.py checks.",
        )
        inputs.add_argument("--wave", type=int, required=True, help="The wave's number.")
        inputs.add_argument("--out", default=None, help="File to write (default: standard output).")
        load = sub.add_parser(
            "priority-import",
            help="Import a CSV with a header row and a nik column as priority list GROUP. Invalid "
            "NIKs are counted as rejected, never stored; NIKs already listed are not added again.",
        )
        load.add_argument("group", help="The list's name, a slug such as phk-tekstil-2020.")
        load.add_argument("file", help="Path of the CSV file (UTF-8).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "inputs":
            self.inputs(number=options["wave"], out=options["out"])
        else:
            self.priority_import(group=options["group"], path=Path(options["file"]))

    def inputs(self, *, number: int, out: str | None) -> None:
        wave = Wave.objects.select_related("scheme").filter(number=number).first()
        if wave is None:
            raise CommandError(f"there is no wave {number}")
        try:
            # Refuses a wave not drawn yet before any file is created.
            chunks = selection_inputs_chunks(wave)
        except ApplicationError as error:
            raise CommandError(f"wave {number}: {_refusal(error)}") from None
        if out is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        with Path(out).open("w", encoding="utf-8") as target:
            target.writelines(chunks)
        self.stderr.write(f"wrote the inputs of wave {number} to {out}")

    def priority_import(self, *, group: str, path: Path) -> None:
        if not path.is_file():
            raise CommandError(f"cannot import {path}: no such file")
        # errors="replace": a stray byte then fails its row's NIK check, not the whole file
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
            try:
                result = priority_list_import(
                    stream=stream, group=group, actor=Actor.system("cli.waves-priority-import")
                )
            except ApplicationError as error:
                raise CommandError(f"cannot import {path}: {_refusal(error)}") from None
        reasons = ", ".join(f"{reason} {n}" for reason, n in result.rejected_reasons.items())
        self.stdout.write(
            f"priority list {result.group} from {path.name}: {result.rows_read} rows read, "
            f"{result.rows_added} added, {result.rows_duplicate} already listed, "
            f"{result.rows_rejected} rejected" + (f" ({reasons})" if reasons else "")
        )
