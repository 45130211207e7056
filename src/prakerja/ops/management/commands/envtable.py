from typing import Any

from django.core.management.base import BaseCommand

from prakerja.config import env


class Command(BaseCommand):
    help = "Print the table of environment variables (the source of docs/settings.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(env.markdown_table(), ending="")
