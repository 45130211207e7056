"""The sandbox services the system has, for `prakerja sandbox NAME` and for the demo.

Each module named here provides:
    add_arguments(parser)            its own CLI options (besides --host, --port and fault flags)
    build_app(options, data_dir) -> SandboxApp
    prepare_demo(data_dir) -> list[str]   optional: create demo data; returns lines to print
    default_port(options) -> int          optional: the port when its setting holds more than one
                                          URL (the bank sandbox: one process per institution)
"""

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from prakerja.config import env

# name -> (module, the setting with the URL its adapter calls, or for the platform, where the
# sandbox listens: the system reaches it at each partner's webhook_url)
SANDBOXES: dict[str, tuple[str, str]] = {
    "population": ("prakerja.integrations.population.sandbox", "PRAKERJA_POPULATION_URL"),
    "sms": ("prakerja.integrations.sms.sandbox", "PRAKERJA_SMS_URL"),
    "platform": ("prakerja.integrations.platform.sandbox", "PRAKERJA_PLATFORM_SANDBOX_URL"),
    "bank": ("prakerja.integrations.bank.sandbox", "PRAKERJA_BANK_URLS"),
}


def sandbox_module(name: str) -> ModuleType:
    return importlib.import_module(SANDBOXES[name][0])


def sandbox_port(name: str, options: Mapping[str, Any] | None = None) -> int:
    """The port a sandbox listens on: the one its adapter's URL names, so the two always agree.
    `options` are the sandbox's command-line options (the bank's --name picks its URL)."""
    module = sandbox_module(name)
    if hasattr(module, "default_port"):
        return int(module.default_port(options or {}))
    return urlsplit(env.get(SANDBOXES[name][1])).port or 80
