import json
import os
import subprocess
import sys

import pytest


def test_bench_ledger_prints_one_contract_json_line_and_leaves_no_data(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "ledger", "--n", "300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= {"bench", "n", "seconds", "per_second", "limit_seconds", "ratio_to_limit"}
    assert (result["bench"], result["n"], result["legs"]) == ("ledger", 300, 600)
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    # the scratch database is gone afterwards
    assert not list(tmp_path.glob("bench-*.sqlite3"))


def test_unknown_bench_is_refused(tmp_path):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "nonsense"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "invalid choice: 'nonsense'" in done.stderr


def test_bench_selection_draws_credits_and_notifies_exactly_the_quota(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "selection", "--n", "300", "--quota", "50"],
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
        "quota",
        "selected",
        "messages",
        "phases",
    }
    assert (result["bench"], result["n"], result["quota"]) == ("selection", 300, 50)
    assert (result["selected"], result["messages"]) == (50, 100)
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    assert not list(tmp_path.glob("bench-*.sqlite3"))


def test_quota_is_refused_for_a_bench_without_one(tmp_path):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "ledger", "--n", "10", "--quota", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--quota does not apply to the ledger benchmark" in done.stderr


def test_bench_catalog_search_reports_latency_against_plain_sql_and_leaves_no_data(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "catalog-search", "--n", "300"],
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
        "p50_ms",
        "p95_ms",
        "limit_p50_ms",
        "limit_p95_ms",
        "p95_ratio_to_limit",
        "p95_ms_by_kind",
    }
    assert (result["bench"], result["n"], result["queries"]) == ("catalog-search", 300, 400)
    assert set(result["p95_ms_by_kind"]) == {"text", "filters", "sorts", "distance"}
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    assert result["p95_ratio_to_limit"] == pytest.approx(
        result["p95_ms"] / result["limit_p95_ms"], rel=0.01
    )
    assert not list(tmp_path.glob("bench-*.sqlite3"))
