"""The demo's supervisor stops every child it started, however its block is left: a child that
would not start, or a SIGTERM while it is still starting the others."""

import os
import signal
import subprocess
import sys
import time

import pytest

from prakerja.ops.processes import Service, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _started(supervisor: Supervisor, name: str) -> subprocess.Popen[bytes]:
    supervisor.start(Service(name, SLEEPER, ""))
    process = supervisor.services[-1].process
    assert process is not None and process.poll() is None
    return process


def test_a_failure_while_starting_stops_the_children_already_started(tmp_path):
    with pytest.raises(RuntimeError, match="would not start"), Supervisor(tmp_path) as supervisor:
        first, second = _started(supervisor, "one"), _started(supervisor, "two")
        raise RuntimeError("the third child would not start")
    assert (first.poll(), second.poll()) == (-signal.SIGTERM, -signal.SIGTERM)


def test_sigterm_while_starting_stops_the_children_and_restores_the_handler(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), Supervisor(tmp_path) as supervisor:
        child = _started(supervisor, "one")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # interrupted by the signal long before
    assert child.poll() == -signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
