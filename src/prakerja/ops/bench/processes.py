"""The processes a benchmark starts around its scratch database: the web server, Celery workers,
sandbox services — each on this process's database, logged to a file, stopped on exit."""

import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from prakerja.ops.processes import prakerja_argv, wait_until_up


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    """The URL of the database this process uses now (the scratch one), for its children."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "postgres", safe="")
    password = db.get("PASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = quote(db.get("HOST") or "127.0.0.1", safe="")
    return f"postgres://{auth}@{host}:{db.get('PORT') or 5432}/{quote(db['NAME'], safe='')}"


def child_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PRAKERJA_DATA_DIR": str(settings.DATA_DIR),
        **extra,
    }


@contextmanager
def started(
    name: str,
    argv: list[str],
    env: Mapping[str, str],
    folder: Path,
    log: Callable[[str], None],
    health_url: str = "",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `prakerja ARGV…` until the block ends; with `health_url`, wait until it answers."""
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            prakerja_argv(*argv), env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        if health_url:
            try:
                wait_until_up(health_url, timeout=60, process=process)
            except RuntimeError as failure:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name}: {failure}; log:\n{tail}") from None
        log(f"{name} started (log {log_path})")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def web_server(
    folder: Path, log: Callable[[str], None], *, workers: int, **env: str
) -> Iterator[str]:
    """`prakerja serve` (gunicorn) with `workers` workers on a free port; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with started("web", argv, child_env(**env), folder, log, f"{base}/healthz"):
        yield base
