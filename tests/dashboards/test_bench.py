"""`prakerja bench dashboards` at smoke size: it seeds a small simulated 2020 in a scratch
database, refreshes the facts, and prints the contract's JSON line with each page's times."""

import json
import os
import subprocess
import sys

import pytest


def test_bench_dashboards_times_every_page_against_the_plain_sql(tmp_path, db):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "dashboards", "--n", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["bench"], result["n"], result["in_place"]) == ("dashboards", 2, False)
    pages = {"index", "pendaftaran", "gelombang", "dana", "penyaluran", "survei", "transparansi"}
    assert set(result["pages"]) == pages
    assert result["requests"] == 2 * len(pages)
    assert result["refresh_full"] is True
    assert result["fact_rows"]["funnel"] > 0 and result["fact_rows"]["waves"] > 0
    assert result["max_page_ms"] == max(p["max_ms"] for p in result["pages"].values())
    assert result["ratio_to_limit"] == pytest.approx(
        result["seconds"] / result["limit_seconds"], rel=0.01
    )
    assert not list(tmp_path.glob("bench-*.sqlite3"))


def test_in_place_is_refused_for_a_bench_that_builds_its_own_data(tmp_path):
    env = {**os.environ, "PRAKERJA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "bench", "ledger", "--n", "10", "--in-place"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--in-place does not apply to the ledger benchmark" in done.stderr
