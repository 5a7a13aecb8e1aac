"""The detection minute and bucketing at scale, on the database: one run, several sizes.

    .venv/bin/python bench/scale/bench_tick_db.py          # 10k and 100k series, 1M reports
    .venv/bin/python bench/scale/bench_tick_db.py --series 10000 --reports 0 --repeat 3
    .venv/bin/python bench/scale/bench_tick_db.py --db sqlite --series 20 --reports 2000

What it does (bench/scale/README.md has the method and the figures):

1. for each size N, creates a throwaway database (PostgreSQL: `ow_scale_<pid>_<n>` on the
   server of BENCH_PG_URL, a role that may CREATEDB; `--db sqlite`: a file in a temporary
   directory), migrates it and fills it in bulk (COPY on PostgreSQL, executemany on SQLite):
   N / --per-service services, each an overall series and --per-service - 1 countries, a
   fitted-looking seasonal baseline per series, a detector state warmed by the core over the
   last --warm minutes, an hour and a half of minute buckets (Poisson counts of the
   baselines), --history-days of hourly rollups, and the cursors;
2. in a fresh process (what a Celery worker child is), inserts each minute's reports and
   calls `detection.tasks.detect_minute` (the function the beat's task runs: bucketing, then
   the tick) once per minute, --repeat times: wall time, the breakdown by phase, the peak RSS
   of that call (VmHWM, reset before each call) and the process's RSS; then times the pure
   core (`run_tick`) alone on the same arrays, the reference the ratio is measured against;
3. with --reports R, a database of --bucket-series series gets R reports over the last
   --report-minutes minutes (a flood: half of them for one service) and
   `buckets_aggregate` is timed over exactly those minutes, --repeat times (each run
   recounts the same window: the upserts overwrite, as a re-run does);
4. prints the table and drops the databases (unless --keep).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgres://outagewatch:outagewatch@127.0.0.1:5432/postgres"
# The minute after the filled history: a Monday noon, so the daily shape is near its peak.
ANCHOR = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
PROBLEMS = ("login", "app", "website")
# fmt: off
COUNTRIES = (
    "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "IT", "ES", "MX", "NL", "PL", "SE",
    "TR", "AR", "BE", "CH", "AT", "ID", "KR", "NO", "DK", "FI", "IE", "PT", "CZ", "RO", "HU",
    "GR", "IL", "ZA", "NG", "EG", "SA", "AE", "PH", "TH", "VN", "MY", "SG", "NZ", "CL", "CO",
)
# fmt: on


# --- parent: databases, children, table ---------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--per-service", type=int, default=20, help="series per service")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warm", type=int, default=30, help="minutes the states are warmed")
    parser.add_argument("--history-days", type=float, default=7.0)
    parser.add_argument(
        "--minute-days", type=float, default=0.0,
        help="also this many days of minute buckets before the filled hour (production-like)",
    )  # fmt: skip
    parser.add_argument("--rate-min", type=float, default=3 / 10080, help="reports/min")
    parser.add_argument("--rate-max", type=float, default=0.5, help="reports/min")
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--report-minutes", type=int, default=10)
    parser.add_argument("--bucket-series", type=int, default=10_000)
    parser.add_argument("--db", choices=("pg", "sqlite"), default=_default_db())
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--gap", type=float, default=0.0,
        help="seconds between one detect_minute call and the next (production: about 60)",
    )  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--primed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    # Killed: still drop the databases (the context managers' finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.db == "pg":
        print(_server_line(args.pg), flush=True)
    with _redis() as redis_url:
        results: list[dict] = []
        for n in args.series:
            with _database(args, f"t{n}") as url:
                env = {"DATABASE_URL": url, "REDIS_URL": redis_url}
                fill = _run(args, "fill", n, env)
                print(_fill_line(n, fill), flush=True)
                tick = _run(args, "tick", n, env)
                # Then a restarted detector: a new process that primes before its first minute.
                primed = _run(args, "tick", n, env, "--primed", "--start", str(len(tick["runs"])))
                tick["runs"] += primed["runs"]
                tick["maxrss_mb"] = max(tick["maxrss_mb"], primed["maxrss_mb"])
                results.append({"n": n, "fill": fill, **tick})
                _print_tick(n, tick)
        bucketing = None
        if args.reports:
            with _database(args, "b") as url:
                env = {"DATABASE_URL": url, "REDIS_URL": redis_url}
                fill = _run(args, "fill", args.bucket_series, env)
                print(_fill_line(args.bucket_series, fill), flush=True)
                bucketing = _run(args, "bucketing", args.bucket_series, env)
                _print_bucketing(bucketing)
    _summary(args, results, bucketing)


def _server_line(url: str) -> str:
    """The server settings the figures depend on (the first minute's write of the states
    depends on wal_compression: docs/deployment.md)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        version, wal, buffers = conn.execute(
            "SELECT current_setting('server_version'), current_setting('wal_compression'),"
            " current_setting('shared_buffers')"
        ).fetchone()
    return f"PostgreSQL {version}: wal_compression {wal}, shared_buffers {buffers}"


def _default_db() -> str:
    return "sqlite" if os.environ.get("DATABASE_URL", "").startswith("sqlite") else "pg"


@contextlib.contextmanager
def _database(args: argparse.Namespace, tag: str):
    if args.db == "sqlite":
        tmp = tempfile.mkdtemp(prefix="ow_scale_")
        try:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    import psycopg

    name = f"ow_scale_{os.getpid()}_{tag}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = args.pg.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        if not args.keep:
            _drop(args.pg, name)
        else:
            print(f"kept database {base}/{name}")


def _drop(url: str, name: str) -> None:
    """DROP DATABASE, retried while a last backend (an autovacuum worker) is leaving."""
    import psycopg

    for attempt in range(20):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 19:
                raise
            time.sleep(0.5)


@contextlib.contextmanager
def _redis():
    """A private Redis for the tick's cache invalidation (the product's only use of it here)."""
    server = shutil.which("redis-server")
    if server is None:
        yield "redis://127.0.0.1:1/0"  # unreachable: the tick logs and carries on
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _run(args: argparse.Namespace, what: str, n: int, env: dict[str, str], *extra: str) -> dict:
    argv = [sys.executable, __file__, "--child", what, "--n", str(n), *extra]
    for name in (
        "per_service",
        "repeat",
        "warm",
        "history_days",
        "minute_days",
        "rate_min",
        "rate_max",
        "reports",
        "report_minutes",
        "gap",
    ):
        argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    full_env = {**os.environ, **env, "DEBUG": "0", "SECRET_KEY": "bench-scale-not-secret"}
    full_env["DJANGO_SETTINGS_MODULE"] = "outagewatch.settings"
    done = subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{what} ({n} series) failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fill_line(n: int, fill: dict) -> str:
    rows = ", ".join(f"{k} {v:,}" for k, v in fill["rows"].items())
    summed = fill.get("evidence_seconds")
    evidence = "" if summed is None else f"; the series' evidence summed in {summed:.2f} s"
    return f"filled {n:,} series in {fill['seconds']:.0f} s: {rows}{evidence}"


def _print_tick(n: int, tick: dict) -> None:
    print(f"\n{n:,} series: detect_minute, {len(tick['runs'])} runs in a fresh process")
    for k, run in enumerate(tick["runs"]):
        phases = "  ".join(f"{name} {t:.2f}" for name, t in run["phases"].items())
        primed = f" (primed in {run['primed']:.2f} s before)" if run.get("primed") else ""
        print(
            f"  run {k + 1}, {run.get('label', '')}{primed}: {run['series']:,} series"
            f" {run['wall']:.2f} s"
            f"  peak RSS {run['peak_mb']:.0f} MB"
            f" (after {run['rss_mb']:.0f} MB)  [{phases}]"
            + (f" states from {run['states_from']}" if run.get("states_from") else "")
        )
    print(
        f"  pure core on the same arrays: {tick['core']:.2f} s;"
        f" whole / core (best warm minute): {_best(tick) / tick['core']:.1f}x;"
        f" process peak RSS {tick['maxrss_mb']:.0f} MB"
    )


def _print_bucketing(b: dict) -> None:
    runs = "  ".join(f"{t:.2f}" for t in b["runs"])
    print(
        f"\nbucketing {b['reports']:,} reports over {b['minutes']} minutes"
        f" ({b['buckets']:,} buckets): {runs} s; peak RSS {b['maxrss_mb']:.0f} MB"
    )
    print(f"  reference, one GROUP BY (series, minute) COUNT(*) over them: {b['reference']:.2f} s")


def _best(tick: dict) -> float:
    """Best of the warm runs: after the first (which also loads the process's caches) and
    before those that forget what the process kept."""
    runs = [run for run in tick["runs"] if run["label"] == "warm"] or tick["runs"]
    return min(run["wall"] for run in runs)


def _summary(args: argparse.Namespace, results: list[dict], bucketing: dict | None) -> None:
    print("\n| measure | best warm minute | runs (s) | reference | ratio | peak RSS |")
    print("|---|---|---|---|---|---|")
    for r in results:
        runs = ", ".join(f"{run['wall']:.2f} ({run['label']})" for run in r["runs"])
        print(
            f"| detect_minute, {r['n']:,} series ({args.db}) | {_best(r):.2f} s | {runs} |"
            f" core {r['core']:.2f} s | {_best(r) / r['core']:.1f}x |"
            f" {max(run['peak_mb'] for run in r['runs']):.0f} MB |"
        )
    if bucketing:
        runs = ", ".join(f"{t:.2f}" for t in bucketing["runs"])
        best = min(bucketing["runs"])
        print(
            f"| bucketing {bucketing['reports']:,} reports ({args.db}) | {best:.2f} s | {runs} |"
            f" GROUP BY {bucketing['reference']:.2f} s | {best / bucketing['reference']:.1f}x |"
            f" {bucketing['maxrss_mb']:.0f} MB |"
        )


# --- children: Django set up on the throwaway database ---------------------------------------


def _child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    if args.child == "fill":
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        rows = Filler(args).fill()
        out: dict[str, Any] = {"rows": rows, "seconds": time.perf_counter() - t0}
        out["evidence_seconds"] = _evidence_summed()
    elif args.child == "tick":
        out = _tick_runs(args)
    else:
        out = _bucketing_runs(args)
    print(json.dumps(out))


def _evidence_summed() -> float | None:
    """Sum the series' evidence for the first minute (seconds), as a running system has it:
    once per database, when the tick first runs or after two days without one, not in each
    detector's first minute (detection.services.evidence)."""
    try:
        from detection.services.evidence import evidence_advance
    except ImportError:
        return None
    t0 = time.perf_counter()
    evidence_advance(now=ANCHOR)
    return time.perf_counter() - t0


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM, so each run reports its own peak.
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Phases:
    """Wall time per phase: the tick's own breakdown when it reports one, otherwise wrappers
    around the functions it calls (so the same script times the code before and after)."""

    TARGETS = (
        ("bucketing", "detection.services", "buckets_aggregate"),
        ("series", "detection.services.tick", "series_active"),
        ("buckets", "detection.services.tick", "counts_matrix"),
        ("baselines", "detection.services.tick", "_baselines"),
        ("states", "detection.services.tick", "_detector_state"),
        ("core", "detection.services.tick", "run_tick"),
        ("outages", "detection.services.tick", "outages_apply"),
        ("write states", "detection.services.tick", "_states_save"),
        ("statuses", "detection.services.tick", "statuses_save"),
    )

    def __init__(self) -> None:
        import importlib

        self.times: dict[str, float] = {}
        for label, module_name, attr in self.TARGETS:
            module = importlib.import_module(module_name)
            fn = getattr(module, attr, None)
            if fn is not None:
                setattr(module, attr, self._wrap(label, fn))

    def _wrap(self, label: str, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.times[label] = self.times.get(label, 0.0) + time.perf_counter() - t0

        return timed

    def take(self, wall: float, ticks) -> dict[str, float]:
        reported: dict[str, float] = {}
        for t in ticks or []:
            for name, seconds in (getattr(t, "phases", None) or {}).items():
                reported[name] = reported.get(name, 0.0) + seconds
        times = {"bucketing": self.times.get("bucketing", 0.0), **(reported or self.times)}
        times["other"] = max(wall - sum(times.values()), 0.0)
        self.times = {}
        return times


def _tick_runs(args: argparse.Namespace) -> dict:
    from detection import services
    from detection.tasks import detect_minute

    phases = Phases()
    filler = Filler(args)
    calls = []
    original = services.detect_tick

    def detect_tick(**kw):
        done = original(**kw)
        calls.append(done)
        return done

    services.detect_tick = detect_tick
    try:  # what this process kept of its last tick: its states, later its buckets too
        from detection.services.tick import tick_forget as states_forget
    except ImportError:
        try:
            from detection.services.states import states_forget
        except ImportError:
            states_forget = None
    # The first minute of this process; the next --repeat - 1 (warm); one more after forgetting
    # what this process kept of its last tick (as when another process, a standby detector, ran
    # the previous minute). --primed: a restarted detector, one minute after priming as the
    # detector does when it starts (its start came before the minute's task).
    labels = ["first"] + ["warm"] * (args.repeat - 1)
    labels += ["after forgetting"] * (states_forget is not None)
    if args.primed:
        from detection.services.tick import tick_prime

        labels = ["primed"]
    runs = []
    for k, label in enumerate(labels, start=args.start):
        minute = ANCHOR + k * MINUTE
        filler.reports_insert(minute, filler.minute_reports(minute))
        now = minute + MINUTE + dt.timedelta(seconds=2)
        primed = None
        if runs:
            time.sleep(args.gap)  # minutes apart, as the beat sends them (not timed)
        if label == "after forgetting":
            states_forget()
        if label == "primed":
            _keep_freed_memory()  # as the detector's prime task does first
            t0 = time.perf_counter()
            tick_prime(now=minute + dt.timedelta(seconds=30))
            primed = time.perf_counter() - t0
        _reset_peak()
        t0 = time.perf_counter()
        result = detect_minute(now=now.isoformat())
        wall = time.perf_counter() - t0
        assert result["minutes"] == [minute.isoformat()], result
        ticks = calls.pop() if calls else []
        runs.append(
            {
                "label": label,
                "wall": wall,
                "primed": primed,
                "phases": phases.take(wall, ticks),
                "states_from": ", ".join(getattr(t, "states_from", "") for t in ticks),
                "series": sum(t.series for t in ticks),
                "peak_mb": _rss_mb("VmHWM"),
                "rss_mb": _rss_mb(),
                "opened": result["opened"],
            }
        )
    if args.primed:
        return {"runs": runs, "maxrss_mb": _maxrss_mb()}
    return {"runs": runs, "core": _core_reference(ANCHOR + (args.start + len(runs) - 1) * MINUTE),
            "maxrss_mb": _maxrss_mb()}  # fmt: skip


def _keep_freed_memory() -> None:
    try:
        from detection.tasks import detector_process
    except ImportError:  # code from before it
        return
    detector_process()


def _core_reference(minute: dt.datetime) -> float:
    """The pure core alone, one run_tick over one batch of the stored baselines and states
    and the buckets of the last judged minute: best of three."""
    from detection.core import BaselineBatch, prior_baseline, run_tick
    from detection.models import SeriesBaseline
    from detection.services.config import detector_config
    from detection.services.series import counts_matrix, series_active
    from detection.services.timeutil import to_epoch_minute

    config = detector_config()
    keys = series_active(now=minute)
    width = max(config.scoring.windows)
    observed = counts_matrix(keys, first=minute - (width - 1) * MINUTE, minutes=width)
    stored = {(row.service_id, row.country): row for row in SeriesBaseline.objects.all()}
    prior = prior_baseline(to_epoch_minute(minute))
    batch = BaselineBatch.from_baselines(
        [_baseline(stored[key]) if key in stored else prior for key in keys], config
    )
    state = _stored_states(keys)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run_tick(batch, state, observed, to_epoch_minute(minute), config)
        best = min(best, time.perf_counter() - t0)
    return best


def _baseline(row):
    from detection.core import Baseline

    return row.baseline() if hasattr(row, "baseline") else Baseline.from_dict(row.params)


def _stored_states(keys):
    from detection.core import DetectorState
    from detection.models import SeriesState

    if _has_field(SeriesState, "memory"):
        from detection.services.states import states_decode

        rows = dict(
            ((sid, c), bytes(m))
            for sid, c, m in SeriesState.objects.values_list("service_id", "country", "memory")
        )
        return states_decode([rows.get(key) for key in keys])
    rows = {
        (sid, c): record
        for sid, c, record in SeriesState.objects.values_list("service_id", "country", "core_state")
    }
    return DetectorState.from_records([rows.get(key) for key in keys])


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def _bucketing_runs(args: argparse.Namespace) -> dict:
    from django.db import connection

    from detection.models import Bucket, JobCursor
    from detection.services import buckets_aggregate
    from reports.models import Report

    filler = Filler(args)
    first = ANCHOR
    minutes = args.report_minutes
    per_minute = np.full(minutes, args.reports // minutes)
    per_minute[: args.reports - per_minute.sum()] += 1
    for k in range(minutes):
        filler.reports_insert(first + k * MINUTE, filler.flood_reports(int(per_minute[k])))
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("ANALYZE")
    late = dt.timedelta(minutes=_late_minutes())
    end = first + minutes * MINUTE
    runs = []
    for _ in range(args.repeat):
        # Every run counts all the minutes as new ones (its late window, before them, holds
        # no reports): a recount of minutes already counted now skips those with nothing new.
        JobCursor.objects.update_or_create(name="buckets", defaults={"position": first})
        _reset_peak()
        t0 = time.perf_counter()
        done = buckets_aggregate(now=end + dt.timedelta(seconds=2))
        runs.append(time.perf_counter() - t0)
        assert done.start == first - late and done.end == end, done
    # Reference: the least any bucketing does, one GROUP BY (series, minute) over the reports.
    table = Report._meta.db_table
    trunc = (
        "date_trunc('minute', created_at)"
        if connection.vendor == "postgresql"
        else "strftime('%%Y-%%m-%%d %%H:%%M', created_at)"
    )
    t0 = time.perf_counter()
    with connection.cursor() as c:
        c.execute(
            f"SELECT count(*), sum(n) FROM (SELECT service_id, country, {trunc}, count(*) AS n"
            f" FROM {table} WHERE created_at >= %s AND created_at < %s GROUP BY 1, 2, 3) g",
            [first, end],
        )
        reports = int(c.fetchone()[1])
    reference = time.perf_counter() - t0
    buckets = Bucket.objects.filter(minute__gte=first, minute__lt=end).count()
    return {
        "runs": runs,
        "reports": reports,
        "minutes": minutes,
        "buckets": buckets,
        "reference": reference,
        "maxrss_mb": _maxrss_mb(),
    }


def _late_minutes() -> int:
    from django.conf import settings

    return settings.BUCKET_LATE_MINUTES


# --- the fill -----------------------------------------------------------------------------


class Filler:
    """N series with rates spread log-uniformly, baselines of those rates, warmed states."""

    def __init__(self, args: argparse.Namespace) -> None:
        from detection.core.timegrid import SLOTS_PER_WEEK

        self.args = args
        self.rng = np.random.default_rng(args.n)
        per = args.per_service
        self.services = -(-args.n // per)
        countries = min(per - 1, len(COUNTRIES))
        # Series i: service i // per, overall first, then its countries.
        keys = []
        for s in range(self.services):
            keys.append((s, ""))
            keys += [(s, c) for c in COUNTRIES[:countries]]
        self.keys = keys[: args.n]
        country_rows = np.array([c != "" for _, c in self.keys])
        owner = np.array([s for s, _ in self.keys])
        rates = np.exp(self.rng.uniform(np.log(args.rate_min), np.log(args.rate_max), len(keys)))
        rates = rates[: args.n]
        slots = np.arange(SLOTS_PER_WEEK)
        phase = self.rng.uniform(0, 2 * np.pi, self.services)[owner]
        daily = 1 + 0.5 * np.sin(2 * np.pi * slots[None, :] / 96 + phase[:, None])
        weekend = np.where(slots >= 5 * 96, 0.8, 1.0)[None, :]
        profiles = np.where(country_rows, rates, 0.0)[:, None] * daily * weekend
        # An overall series expects the sum of its countries (or its own rate if it has none).
        sums = np.zeros((self.services, SLOTS_PER_WEEK))
        np.add.at(sums, owner[country_rows], profiles[country_rows])
        alone = ~country_rows & (np.bincount(owner, minlength=self.services)[owner] == 1)
        profiles[~country_rows] = sums[owner[~country_rows]]
        profiles[alone] = rates[alone, None] * daily[alone] * weekend
        self.profiles = profiles
        self.country_rows = country_rows
        self.owner = owner
        self.service_ids: list[int] = []
        self.problem_ids: list[int] = []

    # -- catalog, baselines, states, buckets

    def fill(self) -> dict[str, int]:
        from detection.services.timeutil import to_epoch_minute

        self._catalog()
        span = 60 + self.args.warm  # minutes of buckets before ANCHOR
        first = ANCHOR - span * MINUTE
        minutes = np.arange(to_epoch_minute(first), to_epoch_minute(ANCHOR))
        counts = self._counts(minutes)
        rows = {"services": self.services, "series": len(self.keys)}
        rows["baselines"] = self._baselines()
        rows["states"] = self._states(minutes, counts)
        rows["buckets"] = self._buckets(minutes, counts)
        rows["evidence"] = self._evidence(counts)
        rows["older minutes"] = self._minute_history(first)
        rows["hourly"] = self._hourly(first)
        self._cursors()
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as c:
                c.execute("VACUUM ANALYZE")
        return rows

    def _catalog(self) -> None:
        from reports.models import Category, ProblemType, Service

        Service.objects.all().delete()  # the catalog a migration loads: only ours are series
        category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        problems = [
            ProblemType.objects.get_or_create(slug=p, defaults={"name": p.title()})[0]
            for p in PROBLEMS
        ]
        Service.objects.bulk_create(
            Service(slug=f"svc-{s}", name=f"Service {s}", category=category,
                    website=f"https://svc-{s}.example")
            for s in range(self.services)
        )  # fmt: skip
        self.service_ids = list(Service.objects.order_by("id").values_list("id", flat=True))
        self.problem_ids = [p.id for p in problems]
        through = Service.problem_types.through
        through.objects.bulk_create(
            through(service_id=sid, problemtype_id=pid)
            for sid in self.service_ids
            for pid in self.problem_ids
        )

    def _baselines(self) -> int:
        from detection.models import SeriesBaseline
        from detection.services.timeutil import to_epoch_minute

        fitted = ANCHOR.replace(hour=0)
        stored_columns, stored = _baseline_columns()
        dispersion = self.rng.uniform(0.02, 0.2, len(self.keys))
        rows = []
        for i, (s, country) in enumerate(self.keys):
            params = {
                "version": 1,
                # In single precision, as Baseline.to_dict() writes it: the record's digest
                # is then the digest of what is stored.
                "profile": self.profiles[i].astype(np.float32).tolist(),
                "dispersion": float(dispersion[i]),
                "level_dispersion": float(dispersion[i] / 4),
                "fitted_at": to_epoch_minute(fitted),
                "history_minutes": 28 * 1440,
                "method": "hgb",
                "growth_per_day": 0.0,
                "step_minutes": 1,
                "max_extrapolation_days": 2.0,
                "phase_moved": False,
            }
            rows.append((self.service_ids[s], country, "hgb", fitted, *stored(params)))
        columns = ["service_id", "country", "method", "fitted_at", *stored_columns]
        return bulk_insert(SeriesBaseline, columns, rows)

    def _counts(self, minutes: np.ndarray) -> np.ndarray:
        """(n, len(minutes)) Poisson counts; an overall series is the sum of its countries."""
        expected = self._expected(minutes)
        counts = self.rng.poisson(np.where(self.country_rows[:, None], expected, 0.0))
        sums = np.zeros((self.services, len(minutes)), dtype=np.int64)
        np.add.at(sums, self.owner[self.country_rows], counts[self.country_rows])
        overall = ~self.country_rows
        has_countries = np.bincount(self.owner, minlength=self.services)[self.owner] > 1
        counts[overall & has_countries] = sums[self.owner[overall & has_countries]]
        alone = overall & ~has_countries
        counts[alone] = self.rng.poisson(expected[alone])
        return counts

    def _expected(self, minutes: np.ndarray) -> np.ndarray:
        from detection.core.baseline import expected_counts

        n = len(self.keys)
        return expected_counts(
            self.profiles,
            np.arange(n)[:, None],
            np.zeros(n)[:, None],
            np.zeros(n)[:, None],
            np.full(n, 2.0)[:, None],
            np.broadcast_to(minutes, (n, len(minutes))),
        )

    def _states(self, minutes: np.ndarray, counts: np.ndarray) -> int:
        """Warm every series' state with the core over the last --warm minutes."""
        from detection.core import Baseline, BaselineBatch, DetectorState, run_tick
        from detection.services.config import detector_config
        from detection.services.timeutil import from_epoch_minute, to_epoch_minute

        config = detector_config()
        fitted = to_epoch_minute(ANCHOR.replace(hour=0))
        batch = BaselineBatch.from_baselines(
            [
                Baseline(profile=p, dispersion=0.1, level_dispersion=0.025, fitted_at=fitted,
                         history_minutes=28 * 1440, method="hgb")
                for p in self.profiles
            ],
            config,
        )  # fmt: skip
        state = DetectorState.initial(len(self.keys))
        result = None
        width = max(config.scoring.windows)
        for j in range(len(minutes) - self.args.warm, len(minutes)):
            window = counts[:, j - width + 1 : j + 1]
            result = run_tick(batch, state, window, int(minutes[j]), config)
            state = result.transition.state
        assert result is not None
        last = from_epoch_minute(int(minutes[-1]))
        return states_store(self.keys, self.service_ids, state, result, counts[:, -1], last)

    def _buckets(self, minutes: np.ndarray, counts: np.ndarray) -> int:
        from detection.models import Bucket
        from detection.services.timeutil import from_epoch_minute

        rows = []
        ii, jj = np.nonzero(counts)
        stamps = [from_epoch_minute(int(m)) for m in minutes]
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            s, country = self.keys[i]
            n = int(counts[i, j])
            problems = json.dumps({"login": n})
            rows.append((self.service_ids[s], country, stamps[j], n, n, n, problems))
        columns = ["service_id", "country", "minute", "reports", "counted", "reporters",
                   "problems"]  # fmt: skip
        return bulk_insert(Bucket, columns, rows)

    def _evidence_hour(self) -> dt.datetime:
        hours = int(self.args.history_days * 24)
        first = ANCHOR - (60 + self.args.warm) * MINUTE
        return first.replace(minute=0) - dt.timedelta(hours=min(48, max(hours // 2, 1)))

    def _evidence(self, counts: np.ndarray) -> int:
        """Every series is active: a country series with fewer than SERIES_MIN_COUNTED counted
        reports in the filled minutes had them a day or two ago (a minute bucket then, and in
        that hour's rollup)."""
        from django.conf import settings

        from detection.models import Bucket

        need = getattr(settings, "SERIES_MIN_SITES", None) or settings.SERIES_MIN_COUNTED
        self.evidence = np.where(self.country_rows & (counts.sum(axis=1) < need), need, 0)
        at = self._evidence_hour()
        rows = [
            (self.service_ids[self.keys[i][0]], self.keys[i][1], at, need, need, need,
             json.dumps({"login": need}))
            for i in np.flatnonzero(self.evidence).tolist()
        ]  # fmt: skip
        columns = ["service_id", "country", "minute", "reports", "counted", "reporters",
                   "problems"]  # fmt: skip
        return bulk_insert(Bucket, columns, rows) + self._sites(need, at)

    def _sites(self, need: int, at: dt.datetime) -> int:
        """Since a pair needs sites, not counted reports (detection.services.sites): `need`
        sites for every country series, the latest in the evidence hour."""
        try:
            from detection.models import SeriesSite
        except ImportError:
            return 0
        rows = [
            (self.service_ids[self.keys[i][0]], self.keys[i][1], f"bench-site-{k}", at)
            for i in np.flatnonzero(self.country_rows).tolist()
            for k in range(need)
        ]
        return bulk_insert(SeriesSite, ["service_id", "country", "site_key", "last_seen"], rows)

    def _minute_history(self, first: dt.datetime) -> int:
        """--minute-days of minute buckets before `first`: what series_active reads in
        production. A series has a bucket in a minute with the probability its rate gives
        (of 1 counted report: the rows are what costs, not their counts); PostgreSQL makes
        them itself (generate_series), elsewhere they come from here."""
        from django.db import connection

        from detection.models import Bucket
        from detection.services.timeutil import to_epoch_minute

        days = self.args.minute_days
        if days <= 0:
            return 0
        start = first - dt.timedelta(days=days)
        chance = 1 - np.exp(-self.profiles.mean(axis=1))
        series = [(self.service_ids[s], c, float(chance[i])) for i, (s, c) in enumerate(self.keys)]
        table = Bucket._meta.db_table
        if connection.vendor != "postgresql":
            minutes = np.arange(to_epoch_minute(start), to_epoch_minute(first))
            hits = self.rng.random((len(series), len(minutes))) < chance[:, None]
            at = to_epoch_minute(self._evidence_hour()) - minutes[0]
            if 0 <= at < len(minutes):  # that minute holds the evidence bucket already
                hits[self.evidence > 0, at] = False
            return self._buckets(minutes, hits.astype(np.int64))
        with connection.cursor() as c:
            c.execute("CREATE TEMPORARY TABLE bench_rates (sid bigint, country text, p float8)")
            with c.cursor.copy("COPY bench_rates FROM STDIN") as copy:
                for row in series:
                    copy.write_row(row)
            c.execute(
                f"INSERT INTO {table} (service_id, country, minute, reports, counted, reporters,"
                " problems) SELECT sid, country, m, 1, 1, 1, '{}'::jsonb FROM bench_rates"
                " CROSS JOIN generate_series(%s::timestamptz, %s::timestamptz - interval '1"
                " minute', interval '1 minute') AS m WHERE random() < p"
                " ON CONFLICT DO NOTHING",
                [start, first],
            )
            return c.rowcount

    def _hourly(self, first: dt.datetime) -> int:
        """Hourly rollups of --history-days before the minute buckets (sparse: counted > 0)."""
        from detection.models import HourlyBucket

        hours = int(self.args.history_days * 24)
        if hours <= 0:
            return 0
        start = first.replace(minute=0) - hours * dt.timedelta(hours=1)
        rate = self.profiles.mean(axis=1) * 60
        total = 0
        for h in range(hours):
            hour = start + h * dt.timedelta(hours=1)
            counts = self.rng.poisson(rate)
            if hour == self._evidence_hour():
                counts = counts + self.evidence
            idx = np.nonzero(counts)[0]
            rows = [
                (self.service_ids[self.keys[i][0]], self.keys[i][1], hour, int(counts[i]),
                 int(counts[i]), int(counts[i]), "{}")
                for i in idx.tolist()
            ]  # fmt: skip
            total += bulk_insert(
                HourlyBucket,
                ["service_id", "country", "hour", "reports", "counted", "reporters", "problems"],
                rows,
            )
        return total

    def _cursors(self) -> None:
        from detection.models import JobCursor

        JobCursor.objects.create(name="buckets", position=ANCHOR)
        JobCursor.objects.create(name="tick", position=ANCHOR - MINUTE)

    # -- reports

    def minute_reports(self, minute: dt.datetime) -> list[tuple]:
        """One minute's reports of every country series, Poisson around its baseline."""
        from detection.services.timeutil import to_epoch_minute

        ids = self._service_ids()
        expected = self._expected(np.array([to_epoch_minute(minute)]))[:, 0]
        counts = self.rng.poisson(np.where(self.country_rows, expected, 0.0))
        rows = []
        for i in np.nonzero(counts)[0].tolist():
            s, country = self.keys[i]
            rows += [(ids[s], country) for _ in range(int(counts[i]))]
        return rows

    def flood_reports(self, n: int) -> list[tuple]:
        """Half for one service's countries (its outage), half over all series by rate."""
        ids = self._service_ids()
        countries = np.nonzero(self.country_rows)[0]
        weights = self.profiles[countries].mean(axis=1)
        spread = self.rng.choice(countries, size=n - n // 2, p=weights / weights.sum())
        hit = countries[self.owner[countries] == 0]
        burst = self.rng.choice(hit, size=n // 2) if len(hit) else spread[: n // 2]
        return [(ids[self.keys[i][0]], self.keys[i][1]) for i in np.concatenate([burst, spread])]

    def _service_ids(self) -> list[int]:
        if not self.service_ids:
            from reports.models import ProblemType, Service

            self.service_ids = list(Service.objects.order_by("id").values_list("id", flat=True))
            self.problem_ids = [ProblemType.objects.get(slug=p).id for p in PROBLEMS]
        return self.service_ids

    def reports_insert(self, minute: dt.datetime, series: list[tuple]) -> int:
        from reports.models import Report

        n = len(series)
        seconds = self.rng.uniform(0, 60, n)
        problems = self.rng.choice(self.problem_ids, size=n, p=[0.6, 0.3, 0.1])
        # Mostly distinct networks; one in five a network that reported this minute already.
        networks = self.rng.integers(0, max(n * 4 // 5, 1), n)
        counted = self.rng.random(n) < 0.9
        tag = minute.strftime("%H%M")
        rows = [
            (sid, int(problems[k]), country, "", "", "api",
             minute + dt.timedelta(seconds=float(seconds[k])), f"{tag}-{networks[k]:x}", "",
             bool(counted[k]))
            for k, (sid, country) in enumerate(series)
        ]  # fmt: skip
        columns = ["service_id", "problem_id", "country", "subdivision", "comment", "source",
                   "created_at", "reporter_key", "block_key", "counted"]  # fmt: skip
        return bulk_insert(Report, columns, rows)


def _baseline_columns():
    """A SeriesBaseline row's columns for a record (Baseline.to_dict()), as the code under
    test stores it: the JSON alone, with its digest, with its profile's bytes, or (since
    migration 0016) the JSON without the profile beside the bytes."""
    from detection.models import SeriesBaseline

    try:
        from detection.baseline_record import record_split
    except ImportError:
        record_split = None
    if record_split is not None:

        def split(record):
            params, digest, profile = record_split(record)
            return json.dumps(params), digest, profile

        return ["params", "digest", "profile"], split
    if not _has_field(SeriesBaseline, "digest"):
        return ["params"], lambda record: (json.dumps(record),)
    from detection.services.batches import params_digest

    if not _has_field(SeriesBaseline, "profile"):
        return ["params", "digest"], lambda record: (json.dumps(record), params_digest(record))
    from detection.services.batches import profile_bytes

    return ["params", "digest", "profile"], lambda record: (
        json.dumps(record),
        params_digest(record),
        profile_bytes(record),
    )


def states_store(keys, service_ids, state, result, observed, minute) -> int:
    """The warmed states, stored as the tick stores them."""
    from detection.models import SeriesState

    ids = [(service_ids[s], c) for s, c in keys]
    columns = ["service_id", "country", "minute", "state", "level", "observed", "expected",
               "score", "rule"]  # fmt: skip
    if _has_field(SeriesState, "memory"):
        from detection.services.states import states_encode

        stored = states_encode(state)
        columns.append("memory")
    else:
        stored = [json.dumps(r) for r in state.to_records()]
        columns.append("core_state")
    rows = [
        (sid, country, minute, int(state.state[i]), int(result.scores.level[i]),
         float(observed[i]), float(result.expected[i]), float(result.scores.score[i]),
         str(result.scores.rule[i]), stored[i])
        for i, (sid, country) in enumerate(ids)
    ]  # fmt: skip
    return bulk_insert(SeriesState, columns, rows)


def bulk_insert(model, columns: list[str], rows: list[tuple]) -> int:
    """COPY on PostgreSQL, executemany elsewhere."""
    from django.db import connection, transaction

    table = model._meta.db_table
    if not rows:
        return 0
    with transaction.atomic(), connection.cursor() as c:
        if connection.vendor == "postgresql":
            cols = ", ".join(columns)
            with c.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            rows = [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in r) for r in rows]
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            for k in range(0, len(rows), 5000):
                c.executemany(sql, rows[k : k + 5000])
    return len(rows)


if __name__ == "__main__":
    main()
