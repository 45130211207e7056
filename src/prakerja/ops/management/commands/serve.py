from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from gunicorn.app.base import BaseApplication

from prakerja.config import env


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from prakerja.config.wsgi import application

        return application


class Command(BaseCommand):
    help = "Run the web server (gunicorn) for the portal, the admin and the APIs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=env.get("PRAKERJA_HOST"))
        parser.add_argument("--port", type=int, default=env.get_int("PRAKERJA_PORT"))
        parser.add_argument("--workers", type=int, default=env.get_int("PRAKERJA_WEB_WORKERS"))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: Any, **options: Any) -> None:
        _Gunicorn(
            {
                "bind": f"{options['host']}:{options['port']}",
                "workers": options["workers"],
                "threads": options["threads"],
                # gthread, answering gunicorn's own refusals in the contract's JSON body
                "worker_class": "prakerja.ops.gunicorn_worker.JsonRefusalWorker",
                "accesslog": "-",
                "timeout": 60,
                "graceful_timeout": 10,
            }
        ).run()
