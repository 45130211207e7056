"""`prakerja bench orders` at a smoke size: the contract's JSON line, the work done in full (checked
by the benchmark against the database before it reports), and no data left behind."""

import json
import os
import subprocess
import sys

import pytest


def test_bench_orders_buys_redeems_and_completes_every_order_against_the_raw_copy(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "orders", "--n", "400"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
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
        "chunk",
        "participants",
        "phases",
        "limit_phases",
    }
    assert (result["bench"], result["n"], result["chunk"], result["participants"]) == (
        "orders",
        400,
        1000,
        100,
    )
    # Counted in the database after the run: every order completed, two ledger transactions and
    # four legs per order, one voucher.issued event and three audit events per order.
    assert (
        result["orders"],
        result["transactions"],
        result["legs"],
        result["events"],
        result["audit_events"],
    ) == (400, 800, 1600, 400, 1200)
    assert result["platforms"] == 8
    assert set(result["phases"]) == {"purchase", "redeem", "complete"}
    assert set(result["limit_phases"]) == {
        "orders",
        "transactions",
        "legs",
        "events",
        "audit_events",
        "commit",
    }
    without_events = sum(result["limit_phases"][k] for k in ("orders", "transactions", "legs"))
    assert result["ratio_to_orders_and_ledger_only"] == pytest.approx(
        result["seconds"] / (without_events + result["limit_phases"]["commit"]), rel=0.01
    )
    assert result["seconds"] == pytest.approx(sum(result["phases"].values()), abs=0.01)
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    assert not list(tmp_path.glob("bench-*.sqlite3"))


def test_bench_orders_refuses_a_quota(tmp_path):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "orders", "--n", "8", "--quota", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--quota does not apply to the orders benchmark" in done.stderr
