from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from prakerja.config import env
from prakerja.ops.demo import demo_seed
from prakerja.ops.processes import Service, Supervisor, prakerja_argv


class Command(BaseCommand):
    help = "Migrate, seed demo data, start the web server and every sandbox service, print logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=env.get("PRAKERJA_HOST"))
        parser.add_argument("--port", type=int, default=env.get_int("PRAKERJA_PORT"))

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            f"Database: {connection.vendor} ({settings.DATABASES['default']['NAME']})"
        )
        call_command("migrate", interactive=False, verbosity=0)
        logins = demo_seed()
        connection.close()  # the children open their own connections

        base = f"http://{options['host']}:{options['port']}"
        supervisor = Supervisor(settings.DATA_DIR / "logs")
        supervisor.start(
            Service(
                "web",
                prakerja_argv("serve", "--host", options["host"], "--port", str(options["port"])),
                f"{base}/healthz",
            )
        )
        lines = [
            "",
            "Prakerja demo is running / Demo Prakerja berjalan",
            f"  Portal (participants):   {base}/",
            f"  Admin (program office):  {base}/admin/",
            "Logins:",
            *(f"  {login.role}: {login.username} / {login.password}" for login in logins),
            f"Logs: {supervisor.log_dir}/",
            "Press Ctrl-C to stop. / Tekan Ctrl-C untuk berhenti.",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        supervisor.wait()
