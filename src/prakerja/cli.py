"""The `prakerja` console command: Django's management commands under the program's name.

Our own commands: demo, serve, worker, bench, ledger, envtable (and later issues add more);
every Django command (migrate, createsuperuser, shell, …) works too. `prakerja help` lists them all.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prakerja.config.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["prakerja", *args])


if __name__ == "__main__":
    main()
