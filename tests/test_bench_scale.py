"""bench/scale/bench_tick_db.py runs end to end at a tiny size on SQLite (no PostgreSQL
feature needed): fill, detect_minute in a fresh process, bucketing, the table."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_on_sqlite(script: str, *args: str, database: str = "sqlite:///unused.sqlite3") -> str:
    """The script's output, run to its end on SQLite (it must succeed). The default database
    only picks --db sqlite (each run makes its own); a script that keeps its data between runs
    names one."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATABASE_URL"] = database
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_bench_tick_db_runs_tiny_on_sqlite():
    out = run_on_sqlite(
        "bench/scale/bench_tick_db.py",
        *("--series", "30", "--per-service", "5", "--repeat", "2", "--history-days", "1"),
        *("--gap", "0.1"),
        *("--reports", "500", "--report-minutes", "2", "--bucket-series", "30"),
    )
    assert "run 2, warm: 30 series" in out and "states from memory" in out
    assert "run 4, primed (primed in" in out
    assert "| detect_minute, 30 series (sqlite) |" in out
    assert "| bucketing 500 reports (sqlite) |" in out


def test_bench_outages_runs_tiny_on_sqlite():
    """bench/scale/bench_outages.py: both ways of counting agree minute by minute (it stops
    otherwise) and the table comes out."""
    out = run_on_sqlite(
        "bench/scale/bench_outages.py",
        *("--giant-reports", "3000", "--giant-networks", "1000", "--per-minute", "100"),
        *("--outages", "4", "--minutes", "3"),
    )
    assert out.count("the same counts") == 3
    assert "| kept and extended, 3,300-report outage + 4 more (sqlite) |" in out
    assert "| recounted from each onset (reference) |" in out
    # The regions panel gives the same answer with and without its index (it stops otherwise).
    assert out.count("without the index") == 3
    assert "| with report_region_recent, 10% of 3,300 reports name a region |" in out


def test_bench_vacuum_runs_tiny_on_postgresql():
    """bench/scale/bench_vacuum.sh (PostgreSQL's autovacuum, so PostgreSQL only): both tables
    filled, the setting on one, the panel's read on each."""
    from django.db import connection

    if connection.vendor != "postgresql" or shutil.which("psql") is None:
        pytest.skip("PostgreSQL's autovacuum, through psql")
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/postgres"
    )
    tiny = {"ROWS": "2000", "BATCH": "100", "ROUNDS": "1", "PAUSE": "0"}
    done = subprocess.run(
        ["bash", "bench/scale/bench_vacuum.sh"],
        cwd=ROOT,
        env={**os.environ, "BENCH_PG_URL": url, **tiny},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== r_default (2000 rows, then 100 new)" in done.stdout
    assert "== r_sooner (2000 rows, then 100 new)" in done.stdout
    assert done.stdout.count("Execution Time") == 6


def test_bench_service_locks_runs_tiny_on_sqlite(tmp_path):
    """bench/scale/bench_service_locks.py fills, then times both kinds of minute and the
    lock against none (SQLite has no row locks: the code paths only)."""
    database = f"sqlite:///{tmp_path / 'locks.sqlite3'}"

    def run(*args: str) -> str:
        return run_on_sqlite("bench/scale/bench_service_locks.py", *args, database=database)

    assert "20 services" in run("--fill", "20")
    out = run("--services", "20", "--shares", "0.2", "--repeat", "1")
    assert "\t20\t0.20\topening\t" in out and "\t20\t0.20\tongoing\t" in out
    assert "the lock alone" in run("--services", "20", "--shares", "0.2", "--repeat", "1", "--lock")
