import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from prakerja.catalog.demo import demo_catalog_seed
from prakerja.config import env
from prakerja.dashboards.facts import facts_refresh
from prakerja.incentives.demo import demo_books_fill, demo_institutions_seed
from prakerja.integrations.bank import bank_urls
from prakerja.integrations.sandboxes import SANDBOXES, sandbox_module, sandbox_port
from prakerja.ops.demo import Login, demo_seed
from prakerja.ops.demo_program import demo_program_seed
from prakerja.ops.processes import Service, Supervisor, prakerja_argv
from prakerja.simulation.demo import demo_simulation_seed


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
        program_lines = demo_simulation_seed(lambda line: self.stdout.write(line))
        program_lines += demo_program_seed()
        catalog = demo_catalog_seed()
        program_lines.append(
            f"  catalog: {catalog.trainings} trainings from {catalog.platforms} platforms "
            "(search them at /pelatihan/)"
        )
        program_lines += _demo_platform_sandbox()
        demo_institutions_seed()
        # Every dashboard has figures on first start; the scheduler refreshes them from then on.
        facts_refresh()
        connection.close()  # the children open their own connections

        base = f"http://{options['host']}:{options['port']}"
        # Links in emails point at this demo's own address unless one is configured.
        os.environ.setdefault("PRAKERJA_PUBLIC_URL", base)
        # Leaving the block (stopped, or a child that would not start) stops every child started.
        with Supervisor(settings.DATA_DIR / "logs") as supervisor:
            try:
                self._serve(supervisor, base, options, logins, program_lines)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM before everything had started
                self.stdout.write("Stopped. / Dihentikan.")

    def _serve(
        self,
        supervisor: Supervisor,
        base: str,
        options: dict[str, Any],
        logins: list[Login],
        program_lines: list[str],
    ) -> None:
        """Start the sandboxes, the web server and the scheduler, print where they are, and wait."""
        sandbox_lines: list[str] = []
        for name in SANDBOXES:
            sandbox = sandbox_module(name)
            if hasattr(sandbox, "prepare_demo"):
                sandbox_lines += sandbox.prepare_demo(settings.DATA_DIR)
            for label, argv, port in _sandbox_processes(name):
                supervisor.start(
                    Service(
                        label,
                        prakerja_argv("sandbox", name, *argv, "--port", str(port)),
                        f"http://127.0.0.1:{port}/healthz",
                    )
                )
        sandbox_lines += demo_books_fill(bank_urls())
        connection.close()
        supervisor.start(
            Service(
                "web",
                prakerja_argv("serve", "--host", options["host"], "--port", str(options["port"])),
                f"{base}/healthz",
            )
        )
        supervisor.start_background(Service("scheduler", prakerja_argv("scheduler"), ""))
        lines = [
            "",
            "Prakerja demo is running / Demo Prakerja berjalan",
            f"  Portal (participants):   {base}/",
            f"  Admin (program office):  {base}/admin/",
            f"  Register:                {base}/daftar/",
            f"  Email inbox (sandbox):   {base}/sandbox/email/",
            f"  SMS inbox (sandbox):     http://127.0.0.1:{sandbox_port('sms')}/inbox",
            f"  Participant API:         {base}/api/v1/docs",
            "Logins:",
            *(f"  {login}" for login in logins),
            *program_lines,
            *sandbox_lines,
            f"Logs: {supervisor.log_dir}/",
            "Press Ctrl-C to stop. / Tekan Ctrl-C untuk berhenti.",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        supervisor.wait()


def _demo_platform_sandbox() -> list[str]:
    """The sandbox platform plays the first demo platform with active trainings: it receives that
    platform's events, signs its calls with that platform's secret (read from the database by the
    sandbox), and as a learner redeems and completes every voucher a participant buys there."""
    from prakerja.catalog.models import TrainingStatus
    from prakerja.common.actors import Actor
    from prakerja.partners.models import Partner
    from prakerja.partners.services import partner_webhook_set

    platforms = Partner.objects.filter(kind="platform").order_by("pk")
    partner = platforms.filter(trainings__status=TrainingStatus.ACTIVE).first() or platforms.first()
    if partner is None:
        return []
    url = env.get("PRAKERJA_PLATFORM_SANDBOX_URL").rstrip("/") + "/webhooks"
    if partner.webhook_url != url:
        partner_webhook_set(partner=partner, url=url, actor=Actor.system("demo-seed"))
    os.environ.setdefault("PRAKERJA_PLATFORM_SANDBOX_PARTNER", partner.code)
    os.environ.setdefault("PRAKERJA_PLATFORM_SANDBOX_LEARNER", "true")
    return [
        f"  partner API: /api/partner/v1/docs; the sandbox platform plays {partner.code} "
        f"(credentials: prakerja partners credentials {partner.code} --json)",
        f"  a training of {partner.code} bought in the portal is redeemed and completed by the "
        f"sandbox platform within seconds: {env.get('PRAKERJA_PLATFORM_SANDBOX_URL')}/learner",
    ]


def _sandbox_processes(name: str) -> list[tuple[str, list[str], int]]:
    """(label, extra arguments, port) of each process a sandbox runs as: one per financial
    institution for the bank, one otherwise."""
    if name != "bank":
        return [(f"sandbox-{name}", [], sandbox_port(name))]
    return [
        (f"sandbox-bank-{code}", ["--name", code], sandbox_port("bank", {"institution": code}))
        for code in bank_urls()
    ]
