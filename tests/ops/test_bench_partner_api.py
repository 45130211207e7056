"""`prakerja bench partner-api` at a smoke size, on whichever database the suite runs on (SQLite, or
PostgreSQL in CI's second run): a real gunicorn on the scratch database, signed calls to the no-op
and to `PUT /trainings/{id}`, one contract JSON line, and every training created."""

import json
import os
import subprocess
import sys

import pytest
from django.urls import Resolver404, resolve

N = 30


def test_bench_partner_api_upserts_n_trainings_through_gunicorn_and_leaves_no_data(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "partner-api", "--n", str(N)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= {
        "bench",
        "n",
        "seconds",
        "per_second",
        "limit_seconds",
        "ratio_to_limit",
        "database",
        "web_workers",
        "trainings",
        "limit_per_second",
        "throughput_share",
        "p50_ms",
        "p95_ms",
    }
    assert (result["bench"], result["n"], result["web_workers"]) == ("partner-api", N, 2)
    # Counted in the scratch database after the run: every call made its own training.
    assert result["trainings"] == N
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    assert result["throughput_share"] == pytest.approx(
        result["per_second"] / result["limit_per_second"], rel=0.02
    )
    # The scratch database is gone afterwards.
    assert not list(tmp_path.glob("bench-*.sqlite3"))


def test_the_no_op_exists_only_in_the_benchmark_urlconf():
    from prakerja.ops.bench.partner_api_urls import signed_noop

    assert resolve("/api/partner/v1/bench-noop/x", "prakerja.ops.bench.partner_api_urls").func is (
        signed_noop
    )
    with pytest.raises(Resolver404):
        resolve("/api/partner/v1/bench-noop/x")  # the project's URLconf, as `prakerja serve` has it
