"""`prakerja demo` as a newcomer starts it — embedded default, sandboxes, logins printed — on free
ports, for the tests that need the whole running system (demo, browser)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Tests that started no demo because the suite runs on PostgreSQL (see skip_on_postgresql).
LEFT_TO_SQLITE: list[str] = []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningDemo:
    port: int
    base: str
    population: str
    sms: str
    printed: str
    platform: str = ""
    banks: dict[str, str] = field(default_factory=dict)


def skip_on_postgresql(test: str) -> None:
    """The tests start the demo as a newcomer does, on the embedded default (running_demo removes
    DATABASE_URL from its environment), so the suite's run on PostgreSQL would only repeat the
    SQLite run's demo tests: there they are skipped, and the summary says so (tests/conftest.py)."""
    from django.conf import settings

    if "sqlite" not in settings.DATABASES["default"]["ENGINE"]:
        LEFT_TO_SQLITE.append(test)
        pytest.skip("starts `prakerja demo` on the embedded SQLite default: the SQLite run has it")


@contextmanager
def running_demo(data_dir: Path, *, simulation: bool = False) -> Iterator[RunningDemo]:
    """The demo; with `simulation` it first simulates its 2020 (a minute), as it does by default
    for a newcomer; tests that do not look at 2020 skip it."""
    skip_on_postgresql(os.environ.get("PYTEST_CURRENT_TEST", "a demo test").split(" ")[0])
    web, population, sms, platform = free_port(), free_port(), free_port(), free_port()
    banks = {code: f"http://127.0.0.1:{free_port()}" for code in ("bni", "linkaja", "ovo", "gopay")}
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        PRAKERJA_DATA_DIR=str(data_dir),
        PRAKERJA_POPULATION_URL=f"http://127.0.0.1:{population}",
        PRAKERJA_SMS_URL=f"http://127.0.0.1:{sms}",
        PRAKERJA_PLATFORM_SANDBOX_URL=f"http://127.0.0.1:{platform}",
        PRAKERJA_BANK_URLS=",".join(f"{code}={url}" for code, url in banks.items()),
        PRAKERJA_PUBLIC_URL=f"http://127.0.0.1:{web}",
        PRAKERJA_DEMO_SIMULATION="true" if simulation else "false",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "prakerja.cli", "demo", "--port", str(web)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    printed: list[str] = []
    deadline = time.monotonic() + 300  # migrations, the simulated 2020, the sandboxes
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        if "Ctrl-C" in line:
            break
    try:
        yield RunningDemo(
            web,
            f"http://127.0.0.1:{web}",
            f"http://127.0.0.1:{population}",
            f"http://127.0.0.1:{sms}",
            "".join(printed),
            f"http://127.0.0.1:{platform}",
            banks,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
