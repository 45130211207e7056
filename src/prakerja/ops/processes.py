"""Start the demo's child processes (web server, sandbox services), wait until each answers, and
stop them all together."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Service:
    name: str
    argv: list[str]
    health_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None


def prakerja_argv(*args: str) -> list[str]:
    """The `prakerja` command in this interpreter, whether or not its script is on PATH."""
    return [sys.executable, "-m", "prakerja.cli", *args]


def wait_until_up(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own localhost URL
                if answer.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


class Supervisor:
    """Children write their output to one log file each under `log_dir`, so the terminal keeps
    only what the person needs: URLs and logins. Used as a context manager: SIGTERM reads as
    Ctrl-C inside the block, and leaving it stops every child started."""

    def __init__(self, log_dir: Path) -> None:
        self.services: list[Service] = []
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> "Supervisor":
        # SIGTERM as Ctrl-C from the first child on: a demo stopped while it is still starting its
        # children (or failing to) stops those it started instead of leaving them running.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def start(self, service: Service) -> None:
        service.log_path = self.log_dir / f"{service.name}.log"
        with service.log_path.open("ab") as log:
            service.process = subprocess.Popen(
                service.argv, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT
            )
        self.services.append(service)
        if service.health_url:
            wait_until_up(service.health_url, process=service.process)

    def start_background(self, service: Service) -> None:
        """A child without an HTTP face (the scheduler): started, not waited for."""
        self.start(service)

    def wait(self) -> None:
        """Block until one child exits or we are asked to stop (Ctrl-C or SIGTERM); leaving the
        supervisor's block then stops the others."""
        try:
            while all(s.process is not None and s.process.poll() is None for s in self.services):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        for service in reversed(self.services):
            if service.process is not None and service.process.poll() is None:
                service.process.terminate()
        for service in self.services:
            if service.process is not None:
                try:
                    service.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    service.process.kill()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt
