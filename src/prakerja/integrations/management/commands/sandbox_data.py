"""`prakerja sandbox-data vouchers --platform CODE --n 5 [--json]`: vouchers issued to synthetic
participants, for a platform's engineers to test their redeem, progress and completion calls
against (see prakerja.integrations.platform.sandbox_data). Only in a sandbox setting."""

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.common.money import format_rupiah
from prakerja.integrations.platform.sandbox_data import (
    MAX_N,
    SandboxDataRefused,
    sandbox_vouchers_issue,
)


class Command(BaseCommand):
    help = "Sandbox data for partner engineers: vouchers issued to synthetic participants."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        vouchers = sub.add_parser(
            "vouchers",
            help="n synthetic participants drawn and credited, each buying one active training "
            "of the platform; prints their vouchers",
        )
        vouchers.add_argument("--platform", required=True, metavar="CODE", help="Partner code.")
        vouchers.add_argument("--n", type=int, default=5, help=f"How many (1 to {MAX_N}).")
        vouchers.add_argument(
            "--json", action="store_true", help="One JSON object instead of a table."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = sandbox_vouchers_issue(
                platform_code=options["platform"],
                n=options["n"],
                actor=Actor.system("cli:sandbox-data"),
            )
        except SandboxDataRefused as refusal:
            raise CommandError(f"{refusal} (nothing was written)") from None
        except ApplicationError as error:
            details = f" {error.details}" if error.details else ""
            raise CommandError(f"{error.code}: {error}{details} (nothing was written)") from None
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "platform": issued.platform,
                        "vouchers": [asdict(voucher) for voucher in issued.vouchers],
                    },
                    ensure_ascii=False,
                )
            )
            return
        header = ("voucher_code", "order_id", "training_external_id", "price", "participant_ref")
        rows = [header] + [
            (
                v.voucher_code,
                str(v.order_id),
                v.training_external_id,
                format_rupiah(v.price_idr),
                v.participant_ref,
            )
            for v in issued.vouchers
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        expires = {v.expires_at for v in issued.vouchers}
        lines += [
            "",
            f"{len(issued.vouchers)} vouchers of platform {issued.platform} (synthetic participants "
            f"of wave {issued.wave}); expire {', '.join(sorted(expires))}.",
            "voucher.issued events go to the platform's webhook URL.",
        ]
        self.stdout.write("\n".join(line.rstrip() for line in lines))
