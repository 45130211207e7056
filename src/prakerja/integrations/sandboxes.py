"""The sandbox services the system has, for `prakerja sandbox NAME` and for the demo.

Each module named here provides:
    add_arguments(parser)            its own CLI options (besides --host, --port and fault flags)
    build_app(options, data_dir) -> SandboxApp
    prepare_demo(data_dir) -> list[str]   optional: create demo data; returns lines to print
"""

import importlib
from types import ModuleType

# name -> (module, default port)
SANDBOXES: dict[str, tuple[str, int]] = {
    "population": ("prakerja.integrations.population.sandbox", 8101),
    "sms": ("prakerja.integrations.sms.sandbox", 8102),
}


def sandbox_module(name: str) -> ModuleType:
    return importlib.import_module(SANDBOXES[name][0])
