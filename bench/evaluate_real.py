"""Score the product's detector on real NAB-layout data with the shared NAB scorer.

    .venv/bin/python bench/evaluate_real.py [--data DIR --scorer FILE --out DIR --jobs J]
                                            [--set NAME=JSON ...] [--timezone ZONE]

The defaults of --data and --scorer are the team's layout: this clone beside shared/ (e.g.
/work/main and /work/shared); a clone elsewhere names both.

DIR is a NAB root (data/<category>/<file>.csv and labels/combined_windows.json); only the
files named in its labels that are present under data/ are read, so a held-out file kept
elsewhere is never touched. Each file goes through `detection.csvio.series_detect`, the
function `manage.py detect_series` calls, with the core's default configuration (the
command adds the settings, whose defaults are the core's; --set stands in for
DETECTOR_OVERRIDES), and its output is written as the command writes it. Two NAB result
sets are scored with ../shared/eval/nab_score.py (standard profile):

- (a) the decision: 1 at the first row of each run of `is_anomaly` (one alert per outage,
  as outage records and emails are), 0 elsewhere, at threshold 0.5;
- (b) the continuous `anomaly_score`, at NAB's in-sample optimised threshold and
  leave-one-file-out (each file at the threshold optimised on the others).

Also counted for (a): alerts starting outside every labelled window, per series-week
(rows x spacing / 10080 minutes, probation rows included).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluate import parse_overrides, positive_int  # noqa: E402  (bench/ is on the path when run)

from detection.core import DetectorConfig  # noqa: E402
from detection.csvio import series_detect, series_write  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nab-realtweets-dev"
DEFAULT_SCORER = ROOT.parent / "shared" / "eval" / "nab_score.py"
# Said when a default is missing: the defaults assume the team's layout, not any clone's.
_DEFAULT_NOTE = " (the default assumes this clone sits beside shared/)"
MINUTES_PER_WEEK = 7 * 1440
PROFILE = "standard"
DECISION_DIR, SCORE_DIR = "decision", "anomaly_score"


@dataclass
class FileRun:
    rel: str
    rows: int
    step_minutes: int
    alerts: int
    alerts_outside: int
    anomaly_rows: int
    saturated_rows: int  # anomaly_score >= 1: rows no threshold can tell apart
    seconds: float

    @property
    def series_weeks(self) -> float:
        return self.rows * self.step_minutes / MINUTES_PER_WEEK


def _micros(text: str) -> int:
    """Epoch microseconds of an ISO stamp (naive = UTC), to place rows in labelled windows."""
    stamp = dt.datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return (stamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def in_windows(stamps: list[str], windows: list[list[str]]) -> np.ndarray:
    """Rows inside any labelled [start, end] window (bounds inclusive, as the scorer)."""
    at = np.asarray([_micros(s) for s in stamps], dtype=np.int64)
    inside = np.zeros(len(at), dtype=bool)
    for start, end in windows:
        inside |= (at >= _micros(start)) & (at <= _micros(end))
    return inside


def alert_onsets(is_anomaly: np.ndarray) -> np.ndarray:
    """1 at the first row of each run of is_anomaly, 0 elsewhere."""
    flags = np.asarray(is_anomaly, dtype=np.int8)
    return ((flags == 1) & (np.r_[0, flags[:-1]] == 0)).astype(np.int8)


def run_file(
    args: tuple[str, Path, Path, list[list[str]], DetectorConfig, str | None],
) -> FileRun:
    rel, data_dir, out, windows, config, zone = args
    t0 = time.perf_counter()
    with (data_dir / rel).open(newline="", encoding="utf-8") as handle:
        series, result = series_detect(handle, config, zone)
    seconds = time.perf_counter() - t0
    # (b) is the command's own output: the scorer reads its anomaly_score column.
    score_path = out / SCORE_DIR / rel
    score_path.parent.mkdir(parents=True, exist_ok=True)
    with score_path.open("w", newline="", encoding="utf-8") as handle:
        series_write(handle, series, result)
    onsets = alert_onsets(result.is_anomaly)
    decision_path = out / DECISION_DIR / rel
    decision_path.parent.mkdir(parents=True, exist_ok=True)
    with decision_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["timestamp", "anomaly_score"])
        writer.writerows(zip(series.timestamps, onsets.tolist(), strict=True))
    inside = in_windows(series.timestamps, windows)
    return FileRun(
        rel=rel,
        rows=len(series.minutes),
        step_minutes=series.step_minutes,
        alerts=int(onsets.sum()),
        alerts_outside=int((onsets.astype(bool) & ~inside).sum()),
        anomaly_rows=int(result.is_anomaly.sum()),
        saturated_rows=int((result.anomaly_score >= 1.0).sum()),
        seconds=seconds,
    )


def load_labels(root: Path) -> dict[str, list[list[str]]]:
    """The NAB root's labelled windows; a one-line SystemExit saying what is missing."""
    expects = "pass --data DIR, a NAB root holding data/<category>/<file>.csv and"
    expects += " labels/combined_windows.json"
    if root == DEFAULT_DATA:
        expects += _DEFAULT_NOTE
    if not root.is_dir():
        missing = "not a folder" if root.exists() else "no such folder"
        raise SystemExit(f"{root}: {missing}; {expects}")
    path = root / "labels" / "combined_windows.json"
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path}: not found, so {root} is no NAB root; {expects}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(labels, dict):
        raise SystemExit(f"{path}: expected an object of file -> windows; {expects}")
    return labels


def load_scorer(path: Path) -> ModuleType:
    if not path.is_file():
        raise SystemExit(
            f"{path}: NAB scorer not found; pass --scorer FILE, the shared nab_score.py"
            f"{_DEFAULT_NOTE if path == DEFAULT_SCORER else ''}"
        )
    spec = importlib.util.spec_from_file_location("nab_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nab_scores(scorer: ModuleType, files: list, scores: list, threshold) -> dict:
    """Overall NAB score and each file's own normalised score at the threshold it was given."""
    overall = scorer.score_detector(files, scores, (PROFILE,), threshold)[PROFILE]
    per_file = []
    for f, s, pf in zip(files, scores, overall["per_file"], strict=True):
        alone = scorer.score_detector([f], [s], (PROFILE,), pf["threshold"])[PROFILE]
        per_file.append({**pf, "score": alone["score"]})
    return {**overall, "per_file": per_file}


def score_all(scorer: ModuleType, nab_root: Path, out: Path, rels: list[str]) -> dict:
    files = scorer.load_corpus(str(nab_root), ",".join(rels))
    decision = scorer.load_results(str(out / DECISION_DIR), files)
    ranked = scorer.load_results(str(out / SCORE_DIR), files)
    results = {
        "decision@0.5": nab_scores(scorer, files, decision, 0.5),
        "score@optimised": nab_scores(scorer, files, ranked, None),
    }
    if len(files) > 1:  # leave-one-file-out needs another file to optimise on
        results["score@lofo"] = nab_scores(scorer, files, ranked, "lofo")
    return results


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' (uncommitted changes)' if dirty else ''}" if head else "unknown"


def table(runs: list[FileRun], results: dict) -> list[list[str]]:
    names = list(results)
    header = ["file", "rows", "(a) NAB", "windows hit", "alerts", "outside", "per week"]
    header += [f"(b) NAB {n.split('@')[1]}" for n in names[1:]] + ["score=1 rows"]
    rows = [header]
    for k, run in enumerate(runs):
        a = results[names[0]]["per_file"][k]
        rows.append(
            [
                Path(run.rel).name,
                str(run.rows),
                f"{a['score']:.1f}",
                f"{a['detected']}/{a['windows']}",
                str(run.alerts),
                str(run.alerts_outside),
                f"{run.alerts_outside / run.series_weeks:.2f}",
                *(f"{results[n]['per_file'][k]['score']:.1f}" for n in names[1:]),
                f"{run.saturated_rows / run.rows:.1%}",
            ]
        )
    a = results[names[0]]
    weeks = sum(r.series_weeks for r in runs)
    outside = sum(r.alerts_outside for r in runs)
    rows.append(
        [
            "overall",
            str(sum(r.rows for r in runs)),
            f"{a['score']:.1f}",
            f"{a['detected']}/{a['windows']}",
            str(sum(r.alerts for r in runs)),
            str(outside),
            f"{outside / weeks:.2f}",
            *(f"{results[n]['score']:.1f}" for n in names[1:]),
            f"{sum(r.saturated_rows for r in runs) / sum(r.rows for r in runs):.1%}",
        ]
    )
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The defaults of --data and --scorer assume this clone sits beside shared/ "
        "(the team's layout); a clone elsewhere names both.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        metavar="DIR",
        help="NAB root: data/<category>/<file>.csv and labels/combined_windows.json; only the "
        "labelled files present are read (default: %(default)s)",
    )
    parser.add_argument(
        "--scorer",
        type=Path,
        default=DEFAULT_SCORER,
        metavar="FILE",
        help="the shared NAB scorer, shared/eval/nab_score.py (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the result files and summary.json (created if missing; default: a "
        "new temporary folder)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=2,
        metavar="J",
        help="files scored in parallel (default: %(default)s)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a detector setting for this run, as in DETECTOR_OVERRIDES (repeatable; "
        "bench/README.md, 'Detector settings'), e.g. --set p_outage=1e-3; default: the core's "
        "defaults",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the IANA zone every file's reporters live by (detect_series --timezone); by "
        "default none: clock changes are inferred from the counts",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, DetectorConfig]:
    """The options, each checked here so that a bad one is a usage error, not a traceback
    from a worker halfway through the run."""
    parser = build_parser()
    opts = parser.parse_args(argv)
    try:
        config = parse_overrides(opts.set)
    except ValueError as exc:
        parser.error(str(exc))
    if opts.timezone:
        try:
            ZoneInfo(opts.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            parser.error(f"--timezone: no time zone named {opts.timezone!r}")
    if opts.out is not None and opts.out.exists() and not opts.out.is_dir():
        parser.error(f"--out {opts.out}: is a file; name a folder (created if missing)")
    return opts, config


def main() -> None:
    opts, config = parse_args()
    labels = load_labels(opts.data)
    scorer = load_scorer(opts.scorer)
    data_dir = opts.data / "data"
    rels = sorted(rel for rel in labels if (data_dir / rel).is_file())
    if not rels:
        raise SystemExit(
            f"{data_dir}: none of the {len(labels)} files labelled in labels/"
            "combined_windows.json is present (expected data/<category>/<file>.csv)"
        )
    out = opts.out or Path(tempfile.mkdtemp(prefix="evaluate_real-"))

    started = time.perf_counter()
    tasks = [(rel, data_dir, out, labels[rel], config, opts.timezone) for rel in rels]
    with Pool(max(1, min(opts.jobs, len(tasks)))) as pool:
        runs = pool.map(run_file, tasks, chunksize=1)
    results = score_all(scorer, opts.data, out, rels)
    wall = time.perf_counter() - started

    steps = sorted({r.step_minutes for r in runs})
    print(
        f"real data: {len(runs)} files from {opts.data}, {results['decision@0.5']['windows']}"
        f" scorable windows, {'/'.join(map(str, steps))}-minute spacing,"
        f" {sum(r.series_weeks for r in runs):.1f} series-weeks; commit {commit()},"
        f" {dt.date.today()}; NAB {PROFILE} profile"
    )
    rows = table(runs, results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    thresholds = ", ".join(f"{n} {results[n]['threshold']:.4g}" for n in results)
    print(f"thresholds: {thresholds} (lofo: median over files)")
    print(
        "(a) decision: 1 at the first row of each is_anomaly run; outside: alerts starting in"
        " no labelled window; per week: outside / series-weeks. (b) anomaly_score as written."
    )
    summary = {
        "commit": commit(),
        "data": str(opts.data),
        "overrides": opts.set,
        "files": [{**asdict(r), "series_weeks": r.series_weeks} for r in runs],
        "results": results,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    print(f"results in {out} (summary.json); wall {wall:.0f} s with {opts.jobs} jobs")


if __name__ == "__main__":
    main()
