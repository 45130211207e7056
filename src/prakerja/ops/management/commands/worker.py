from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.config.celery import app


class Command(BaseCommand):
    help = "Run a Celery worker that takes background work from the broker (CELERY_BROKER_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--queues", default="celery", help="Comma-separated queue names.")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CELERY_BROKER_URL:
            raise CommandError(
                "CELERY_BROKER_URL belum diatur: tanpa broker, tugas berjalan langsung di proses "
                "pemanggil. / CELERY_BROKER_URL is not set: without a broker, tasks run inline in "
                "the caller. Example: CELERY_BROKER_URL=redis://127.0.0.1:6379/0 prakerja worker"
            )
        app.worker_main(
            [
                "worker",
                f"--loglevel={options['loglevel']}",
                f"--concurrency={options['concurrency']}",
                f"--queues={options['queues']}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
