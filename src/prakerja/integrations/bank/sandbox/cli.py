"""`prakerja sandbox bank`: its command-line options, and the app built from them."""

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prakerja.config import env
from prakerja.integrations.bank.client import ACCOUNT_TYPES, REASON_CODES, bank_urls
from prakerja.integrations.bank.sandbox.app import BankConfig
from prakerja.integrations.bank.sandbox.faults import BankFaults
from prakerja.integrations.bank.sandbox.records import MODES
from prakerja.integrations.bank.sandbox.routes import create_app
from prakerja.integrations.sandbox import SandboxApp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    urls = bank_urls()
    parser.add_argument(
        "--name",
        dest="institution",  # "name" is the sandbox command's own choice of sandbox
        default=next(iter(urls), "bni"),
        help="Institution code (bni, linkaja, ovo, gopay); the port is its PRAKERJA_BANK_URLS one.",
    )
    parser.add_argument("--account-type", choices=ACCOUNT_TYPES, default="")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the hashed fault choices.")
    parser.add_argument(
        "--system-url",
        default=env.get("PRAKERJA_PUBLIC_URL"),
        help="Base URL of the system that receives the callbacks.",
    )
    parser.add_argument("--partner", default="", help="Partner code of callbacks (default: name).")
    parser.add_argument(
        "--secret",
        default="",
        help="Signing secret of callbacks. Prefer PRAKERJA_BANK_SANDBOX_SECRET_<NAME>: a command "
        "line is visible to other users of the machine.",
    )
    parser.add_argument("--callback-workers", type=int, default=4)
    _add_fault_arguments(parser)


def _add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default=BankFaults.mode)
    parser.add_argument(
        "--fail-rate",
        action="append",
        default=[],
        metavar="REASON=SHARE",
        help=f"Fail that share of transfers with REASON ({', '.join(REASON_CODES)}); repeatable.",
    )
    parser.add_argument("--callback-delay-ms", type=int, default=BankFaults.callback_delay_ms)
    parser.add_argument("--callback-batch", action="store_true")
    for rate in ("duplicate-callback", "late-callback", "lost-callback", "lost-answer"):
        parser.add_argument(f"--{rate}-rate", type=float, default=0.0)
    parser.add_argument("--late-callback-ms", type=int, default=BankFaults.late_callback_ms)
    parser.add_argument("--hang-s", type=float, default=BankFaults.hang_s)
    parser.add_argument("--accept-unknown-accounts", action="store_true")


def faults_from_options(options: Mapping[str, Any]) -> BankFaults:
    values: dict[str, Any] = {}
    for name in (
        "mode",
        "callback_delay_ms",
        "callback_batch",
        "duplicate_callback_rate",
        "late_callback_rate",
        "late_callback_ms",
        "lost_callback_rate",
        "lost_answer_rate",
        "hang_s",
        "accept_unknown_accounts",
    ):
        if options.get(name) is not None:
            values[name] = options[name]
    rates: dict[str, float] = {}
    for item in options.get("fail_rate") or []:
        code, separator, share = str(item).partition("=")
        if not separator:
            raise ValueError(f"--fail-rate {item!r}: expected REASON=SHARE")
        rates[code.strip().upper()] = float(share)
    values["fail_rates"] = rates
    return BankFaults().updated(values)


def default_port(options: Mapping[str, Any]) -> int:
    """The port of the institution's URL in PRAKERJA_BANK_URLS, so sandbox and adapter agree."""
    urls = bank_urls()
    name = options.get("institution") or next(iter(urls), "bni")
    if name not in urls:
        raise ValueError(f"no URL for {name!r} in PRAKERJA_BANK_URLS: add one or pass --port")
    return urlsplit(urls[name]).port or 80


def _signing_secret(name: str, partner: str, given: str) -> str:
    # Named per institution, so these variables cannot be rows of env.TABLE; they are optional.
    secret = given or os.environ.get(f"PRAKERJA_BANK_SANDBOX_SECRET_{name.upper()}", "")
    if secret:
        return secret
    from django.db import DatabaseError

    from prakerja.common.errors import NotFound
    from prakerja.partners.selectors import partner_credentials

    try:
        return partner_credentials(partner).secret
    except (NotFound, DatabaseError):
        return ""  # callbacks are then given up, and /_callbacks says why


def build_app(options: dict[str, Any], data_dir: Path) -> SandboxApp:
    """Keeps everything in memory (a restart forgets transfers and the book), so `data_dir` is
    unused."""
    name = str(options.get("institution") or "bni")
    partner = str(options.get("partner") or name)
    config = BankConfig(
        name=name,
        account_type=str(options.get("account_type") or ""),
        seed=int(options.get("seed") or 0),
        system_url=str(options.get("system_url") or env.get("PRAKERJA_PUBLIC_URL")),
        partner=partner,
        secret=_signing_secret(name, partner, str(options.get("secret") or "")),
        callback_workers=int(options.get("callback_workers") or 4),
    )
    return create_app(config, faults_from_options(options))
