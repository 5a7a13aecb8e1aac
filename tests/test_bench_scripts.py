"""The benchmark scripts still run against the current core (they are not part of the app)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout


def test_bench_tick_runs_small():
    out = run("bench/bench_tick.py", "--series", "200", "--repeat", "2", "--rows", "3000")
    assert "tick over 200 series" in out and "ratio tick / plain" in out
    assert "detect_series on" in out


def test_evaluate_runs_small():
    out = run("bench/evaluate.py", "--series", "2", "--weeks", "2.5", "--jobs", "1", "--verbose")
    assert "core " in out and "zscore60" in out and "recall by outage size" in out
