import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from prakerja.config.celery import app


class Command(BaseCommand):
    help = (
        "Run the periodic jobs of settings.PERIODIC_JOBS on their intervals: inline without a broker "
        "(embedded default), or queued to the workers with one (use `celery beat` in production)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        app.loader.import_default_modules()  # registers every app's tasks
        due = {name: 0.0 for name in settings.PERIODIC_JOBS}
        while True:
            now = time.monotonic()
            for name, (task_name, seconds) in settings.PERIODIC_JOBS.items():
                if now >= due[name]:
                    try:
                        app.tasks[task_name].delay()
                    except Exception as error:
                        self.stderr.write(f"periodic job {name} failed: {error}")
                    due[name] = now + seconds
            if options["once"]:
                return
            time.sleep(1)
