"""The benchmark scripts still run against the current core (they are not part of the app)."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "eval" / "nab_score.py"


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


def _nab_layout(root: Path) -> None:
    """Two short 5-minute files with stamps at :53 seconds and one labelled window each."""
    rng = np.random.default_rng(3)
    start = dt.datetime(2015, 2, 26, 21, 42, 53)
    windows = {}
    for name in ("A", "B"):
        values = rng.poisson(20, 1200)
        values[1000:1010] += 200  # a burst inside the labelled window
        stamps = [str(start + dt.timedelta(minutes=5 * i)) for i in range(len(values))]
        path = root / "data" / "realTweets" / f"Twitter_volume_{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{s},{v}\n" for s, v in zip(stamps, values, strict=True))
        path.write_text("timestamp,value\n" + rows)
        windows[f"realTweets/Twitter_volume_{name}.csv"] = [[stamps[980], stamps[1040]]]
    # Labelled but absent (held out elsewhere): skipped, never looked for.
    windows["realTweets/Twitter_volume_HELD.csv"] = [[stamps[10], stamps[20]]]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


@pytest.mark.skipif(not SCORER.exists(), reason=f"shared NAB scorer not at {SCORER}")
def test_evaluate_real_runs_on_a_small_nab_layout(tmp_path):
    pytest.importorskip("pandas")
    _nab_layout(tmp_path / "nab")
    out = run(
        "bench/evaluate_real.py",
        *("--data", str(tmp_path / "nab"), "--out", str(tmp_path / "out"), "--jobs", "1"),
    )
    assert "real data: 2 files" in out and "overall" in out and "(b) NAB lofo" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [f["rel"] for f in summary["files"]] == [
        "realTweets/Twitter_volume_A.csv",
        "realTweets/Twitter_volume_B.csv",
    ]
    decision = (tmp_path / "out" / "decision" / "realTweets" / "Twitter_volume_A.csv").read_text()
    assert decision.splitlines()[:2] == ["timestamp,anomaly_score", "2015-02-26 21:42:53,0"]
