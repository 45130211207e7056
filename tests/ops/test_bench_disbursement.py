"""`prakerja bench disbursement` at a smoke size: the contract's JSON line and the whole day's work
done (every payment paid, settled by the statements and equal to the sandbox banks' totals — the
benchmark checks that against the database before it reports)."""

import json
import os
import subprocess
import sys

import pytest

from tests.ops.test_worker import redis_reachable


def test_bench_disbursement_pays_and_settles_every_payment_against_the_raw_copy(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "disbursement", "--n", "600"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["bench"], result["n"], result["paid"], result["amount_idr"]) == (
        "disbursement",
        600,
        600,
        360_000_000,
    )
    assert (result["institutions"], result["batches"]) == (4, 4)
    assert set(result["phases"]) == {"prepare", "send_and_results", "settle"}
    assert set(result["limit_phases"]) == {"instructions", "http"}
    assert result["seconds"] == pytest.approx(sum(result["phases"].values()), abs=0.01)
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    # Two Celery workers on PostgreSQL with a broker (Redis); inline on SQLite or without one.
    expected_workers = 2 if result["database"] == "postgresql" and redis_reachable() else 0
    assert result["workers"] == expected_workers
    assert not list(tmp_path.glob("bench-*.sqlite3"))
