from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from prakerja.integrations.sandbox import Faults, serve
from prakerja.integrations.sandboxes import SANDBOXES, sandbox_module, sandbox_port


class Command(BaseCommand):
    help = "Run one sandbox service (population registry, SMS gateway, …) as a real HTTP service."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="name", required=True)
        for name in SANDBOXES:
            one = sub.add_parser(name)
            one.add_argument("--host", default="127.0.0.1")
            one.add_argument(
                "--port", type=int, default=None, help="Default: the port of its adapter's URL."
            )
            one.add_argument(
                "--outage", action="store_true", help="Start in outage (every call 503)."
            )
            one.add_argument("--latency-ms", type=int, default=0)
            one.add_argument("--error-rate", type=float, default=0.0)
            one.add_argument("--timeout-rate", type=float, default=0.0)
            sandbox_module(name).add_arguments(one)

    def handle(self, *args: Any, **options: Any) -> None:
        faults = Faults(
            outage=options["outage"],
            latency_ms=options["latency_ms"],
            error_rate=options["error_rate"],
            timeout_rate=options["timeout_rate"],
        )
        app = sandbox_module(options["name"]).build_app(options, settings.DATA_DIR)
        app.faults = faults
        port = options["port"]
        if port is None:
            port = sandbox_port(options["name"], options)
        serve(app, options["host"], port)
