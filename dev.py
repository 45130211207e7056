#!/usr/bin/env python3
"""Quick start for a machine with only Python 3.11+.

    python3 dev.py demo     # install, migrate, seed, start the demo and its sandboxes, print logins
    python3 dev.py test     # install with test tools, run the whole test suite (SQLite by default;
                            # DATABASE_URL=postgres://… runs it on PostgreSQL)

Anything else is passed to the `prakerja` command inside the project's .venv, e.g.
`python3 dev.py bench ledger --n 20000`. The first run creates .venv and installs the pinned
versions from constraints.txt; later runs reinstall only when pyproject.toml or constraints.txt
change.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_installed(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under any python3 to say so
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    stamp = VENV / f".installed-{extras or 'runtime'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing prakerja{f'[{extras}]' if extras else ''} into .venv …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.check_call([*pip, "--upgrade", "pip"])
    target = f".[{extras}]" if extras else "."
    subprocess.check_call([*pip, "-c", "constraints.txt", "-e", target], cwd=ROOT)
    stamp.write_text(digest)


def main(args: list[str]) -> int:
    command = args[0] if args else "help"
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    if command == "test":
        ensure_installed("dev")
        env = os.environ.copy()
        env.setdefault("PRAKERJA_DATA_DIR", str(ROOT / "var" / "test"))
        database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
        print(f"Running the test suite on {database}", flush=True)
        return run([str(PYTHON), "-m", "pytest", *args[1:]], env)
    ensure_installed("dev" if (VENV / ".installed-dev").exists() else "")
    return run([str(PYTHON), "-m", "prakerja.cli", *args], os.environ.copy())


def run(argv: list[str], env: dict[str, str]) -> int:
    """Become the command (POSIX), so Ctrl-C and SIGTERM reach it and its exit code is ours."""
    os.chdir(ROOT)
    if os.name == "posix":
        os.execve(argv[0], argv, env)
    return subprocess.call(argv, env=env)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
