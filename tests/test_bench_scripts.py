"""The benchmark scripts still run against the current core (they are not part of the app)."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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


def test_handler_cpu_bench_runs_small():
    out = run("bench/load/handler_cpu.py", "--requests", "50", "--rounds", "1", "--threads", "4")
    assert "Django's ASGIHandler" in out and "SyncChainASGIHandler" in out


def test_evaluate_runs_small():
    out = run("bench/evaluate.py", "--series", "2", "--weeks", "2.5", "--jobs", "1", "--verbose")
    assert "core " in out and "zscore60" in out and "recall by outage size" in out


def test_live_path_runs_small_and_keeps_its_promises():
    out = run("bench/live_path.py", "--rates", "2", "--seeds", "2")
    assert "| 2 | 1 (max 1) | 14 (max 14) |" in out
    assert "worst: detected after 1 min, resolved after 14 min" in out


def test_evaluate_oracle_flags_a_sharp_outage_at_once_and_a_slow_ramp_late():
    """The oracle (true rate and dispersion, the core's floors) sets the least delay any
    detector of this kind could have: a sharp outage at its first minute, a slow ramp only
    once enough of it has come; an outage within the noise never."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from evaluate import oracle
    finally:
        sys.path.remove(str(ROOT / "bench"))
    from detection.core import DetectorConfig

    rate = np.full(600, 5.0)
    values = rate.copy()
    values[100:130] += 40.0  # sharp: +40 a minute from its first
    values[300:360] += np.linspace(0.0, 6.0, 60)  # a ramp to +6 a minute
    values[500:505] += 1.0  # within the noise
    series = SimpleNamespace(
        minutes=np.arange(600), values=values, base_rate=rate, spec=SimpleNamespace(dispersion=0.0)
    )
    config = DetectorConfig()

    def outage(start: int, end: int) -> SimpleNamespace:
        return SimpleNamespace(start=start, end=end)

    p_sharp, sharp = oracle(series, outage(100, 130), config)
    p_ramp, ramp = oracle(series, outage(300, 360), config)
    p_noise, noise = oracle(series, outage(500, 505), config)
    assert sharp == 0 and p_sharp < 1e-20
    assert ramp is not None and 5 < ramp < 60 and p_ramp <= config.scoring.p_outage
    assert noise is None and p_noise > config.scoring.p_outage


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


def test_check_clocks_finds_every_zone_agreeing_with_zoneinfo():
    out = run("bench/check_clocks.py", "--first", "2026", "--last", "2026", "--jobs", "1")
    zones, changes = re.search(r"(\d+) zones, 2026-2026: (\d+) clock changes", out).groups()
    assert int(zones) > 300 and int(changes) > 100  # each country's zones, their 2026 changes
    assert " 0 disagreements with zoneinfo" in out


def run_failing(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None):
    """A bench script run that is expected to stop: its exit status and standard error."""
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )
    return done.returncode, done.stderr


def test_evaluate_real_help_gives_every_option_its_help_and_default():
    options = run("bench/evaluate_real.py", "--help").split("options:")[1]
    flat = re.sub(r"-\s+", "-", " ".join(options.split()))  # argparse wraps at hyphens
    for option in ("--data DIR", "--scorer FILE", "--out DIR", "--jobs J", "--set NAME=JSON"):
        assert re.search(re.escape(option) + r" +\w", options), option  # a help text follows
    assert "(default: 2)" in flat and "nab_score.py (default: " in flat
    assert "nab-realtweets-dev" in flat and "a clone elsewhere names both" in flat


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "p_outage=abc"], "--set 'p_outage=abc': 'abc' is not a JSON value"),
        (["--set", "p_outage"], "--set 'p_outage': expected NAME=JSON"),
        (["--set", "nosuch=1"], "unknown detector setting(s): nosuch"),
        (["--timezone", "Mars/X"], "--timezone: no time zone named 'Mars/X'"),
        (["--jobs", "0"], "argument --jobs: 0 is not at least 1"),
        (["--jobs", "-2"], "argument --jobs: -2 is not at least 1"),
    ],
)
def test_evaluate_real_refuses_a_bad_option_with_a_usage_error(args, message):
    status, err = run_failing("bench/evaluate_real.py", *args)
    assert status == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"evaluate_real.py: error: {message}")


@pytest.mark.parametrize("jobs", ["0", "two"])
def test_evaluate_refuses_a_pool_of_no_workers_with_a_usage_error(jobs):
    status, err = run_failing("bench/evaluate.py", "--jobs", jobs)
    assert status == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("evaluate.py: error: argument --jobs: ")


def test_evaluate_real_refuses_an_out_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    status, err = run_failing("bench/evaluate_real.py", "--out", str(afile))
    assert status == 2 and "Traceback" not in err
    assert err.splitlines()[-1].endswith(
        f"--out {afile}: is a file; name a folder (created if missing)"
    )


@pytest.mark.parametrize("layout", ["missing", "empty", "no_labelled_file"])
def test_evaluate_real_names_what_a_data_folder_lacks_in_one_line(tmp_path, layout):
    root = tmp_path / "nab"
    if layout != "missing":
        root.mkdir()
    if layout == "no_labelled_file":
        (root / "labels").mkdir()
        (root / "labels" / "combined_windows.json").write_text('{"realTweets/X.csv": []}')
    # A scorer of its own: the default one is found only beside shared/, which a clone
    # elsewhere (CI's) is not.
    scorer = tmp_path / "nab_score.py"
    scorer.write_text("")
    status, err = run_failing(
        "bench/evaluate_real.py", "--data", str(root), "--scorer", str(scorer)
    )
    assert status != 0 and "Traceback" not in err and len(err.splitlines()) == 1
    expected = {
        "missing": f"{root}: no such folder; pass --data DIR, a NAB root holding",
        "empty": f"{root}/labels/combined_windows.json: not found, so {root} is no NAB root",
        "no_labelled_file": f"{root}/data: none of the 1 files labelled",
    }[layout]
    assert err.startswith(expected)


def test_evaluate_real_in_a_clone_elsewhere_says_which_option_to_pass(tmp_path):
    """The defaults assume the clone sits beside shared/; a clone elsewhere is told which
    option names the data and the scorer, and what each expects."""
    bench = tmp_path / "clone" / "bench"
    bench.mkdir(parents=True)
    for name in ("evaluate_real.py", "evaluate.py"):
        (bench / name).write_text((ROOT / "bench" / name).read_text())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the app's modules, from this checkout
    script = str(bench / "evaluate_real.py")

    status, err = run_failing(script, cwd=tmp_path, env=env)
    default_data = tmp_path / "shared" / "data" / "nab-realtweets-dev"
    assert status != 0 and "Traceback" not in err
    assert err.strip() == (
        f"{default_data}: no such folder; pass --data DIR, a NAB root holding"
        " data/<category>/<file>.csv and labels/combined_windows.json"
        " (the default assumes this clone sits beside shared/)"
    )
    _nab_layout(tmp_path / "nab")
    status, err = run_failing(script, "--data", str(tmp_path / "nab"), cwd=tmp_path, env=env)
    assert status != 0 and "Traceback" not in err
    assert err.strip() == (
        f"{tmp_path / 'shared' / 'eval' / 'nab_score.py'}: NAB scorer not found; pass --scorer"
        " FILE, the shared nab_score.py (the default assumes this clone sits beside shared/)"
    )
