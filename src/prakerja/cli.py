"""The `prakerja` console command: Django's management commands under the program's name.

Our own commands: demo, serve, worker, bench, ledger, envtable (and later issues add more);
every Django command (migrate, createsuperuser, shell, …) works too. `prakerja help` lists them all.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prakerja.config.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    # Command modules are Python names; people type hyphens (`prakerja sandbox-data`).
    for position in (0, 1) if args[:1] == ["help"] else (0,):
        if len(args) > position and not args[position].startswith("-"):
            args[position] = args[position].replace("-", "_")
    execute_from_command_line(["prakerja", *args])


if __name__ == "__main__":
    main()
