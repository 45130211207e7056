"""The sandbox services the system has, for `prakerja sandbox NAME` and for the demo.

Each module named here provides:
    add_arguments(parser)            its own CLI options (besides --host, --port and fault flags)
    build_app(options, data_dir) -> SandboxApp
    prepare_demo(data_dir) -> list[str]   optional: create demo data; returns lines to print
"""

import importlib
from types import ModuleType
from urllib.parse import urlsplit

from prakerja.config import env

# name -> (module, the setting with the URL its adapter calls, or for the platform, where the
# sandbox listens: the system reaches it at each partner's webhook_url)
SANDBOXES: dict[str, tuple[str, str]] = {
    "population": ("prakerja.integrations.population.sandbox", "PRAKERJA_POPULATION_URL"),
    "sms": ("prakerja.integrations.sms.sandbox", "PRAKERJA_SMS_URL"),
    "platform": ("prakerja.integrations.platform.sandbox", "PRAKERJA_PLATFORM_SANDBOX_URL"),
}


def sandbox_module(name: str) -> ModuleType:
    return importlib.import_module(SANDBOXES[name][0])


def sandbox_port(name: str) -> int:
    """The port a sandbox listens on: the one its adapter's URL names, so the two always agree."""
    return urlsplit(env.get(SANDBOXES[name][1])).port or 80
