"""Evaluate detection.core on labelled synthetic series, next to a naive z-score detector.

    .venv/bin/python bench/evaluate.py [--series N --weeks W --seed S --jobs J --verbose]
                                       [--no-clock]

The first --warmup-weeks of each series are history only; outages, false alarms and delays
are counted on the rest. Series volumes are spread log-uniformly over 0.1-100 reports/minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.core import DetectorConfig, detect_series
from detection.core.scoring import tail_probability
from detection.simulation import MINUTES_PER_WEEK, series_clock, simulate_series

# Alarms closer than this (minutes) are one event, for both detectors (our re-open window).
MERGE_MINUTES = DetectorConfig().state.reopen_minutes


# Bands of (extra reports during the outage) / (normal reports in the same minutes).
RATIO_BANDS = (("<0.5x", 0.5), ("0.5-1x", 1.0), ("1-3x", 3.0), (">=3x", float("inf")))
# --verbose lists the outages the core flags this many minutes or more after the oracle.
SLOW_BY = 5


@dataclass
class Tally:
    outages: int = 0
    detected: int = 0
    outages_30: int = 0
    detected_30: int = 0
    events: int = 0
    false_alarms: int = 0
    delays: list[int] = field(default_factory=list)
    # Recall by relative size: (outages, detected) per band of mean extra rate / normal rate.
    by_ratio: dict[str, list[int]] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    # Outages (>= 30) that a detector knowing the true rate could flag (oracle): all of
    # them, and the missed ones.
    oracle_30: int = 0
    missed_reachable: int = 0
    false: list[str] = field(default_factory=list)
    # (core delay, oracle delay) of the outages both flag (oracle()): which delays any
    # detector of this kind would have too.
    delay_pairs: list[tuple[int, int]] = field(default_factory=list)
    # Outages the core flags SLOW_BY minutes or more after the oracle (--verbose).
    slow: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        names = ("outages", "detected", "outages_30", "detected_30", "events", "false_alarms")
        for name in (*names, "oracle_30", "missed_reachable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.delays += other.delays
        for band, (n, d) in other.by_ratio.items():
            total = self.by_ratio.setdefault(band, [0, 0])
            total[0] += n
            total[1] += d
        self.missed += other.missed
        self.false += other.false
        self.delay_pairs += other.delay_pairs
        self.slow += other.slow


def zscore_detector(values: np.ndarray, window: int = 60, threshold: float = 3.0) -> np.ndarray:
    """Trailing mean/std of the previous `window` minutes; anomaly when z > threshold."""
    v = values.astype(np.float64)
    cs = np.concatenate(([0.0], np.cumsum(v)))
    cs2 = np.concatenate(([0.0], np.cumsum(v * v)))
    idx = np.arange(len(v))
    lo = np.maximum(idx - window, 0)
    count = np.maximum(idx - lo, 1)
    mean = (cs[idx] - cs[lo]) / count
    var = np.maximum((cs2[idx] - cs2[lo]) / count - mean**2, 0.0)
    # A floor keeps an all-zero hour from making every single report infinitely significant.
    z = (v - mean) / np.maximum(np.sqrt(var), 0.5)
    out = (z > threshold) & (idx >= window)
    return out.astype(np.int8)


def events_of(is_anomaly: np.ndarray, minutes: np.ndarray) -> list[tuple[int, int]]:
    """Runs of alarms as [start, end) minutes, merging runs closer than MERGE_MINUTES."""
    flags = np.concatenate(([0], is_anomaly.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(flags))
    runs = [
        (int(minutes[s]), int(minutes[e - 1]) + 1)
        for s, e in zip(edges[0::2], edges[1::2], strict=True)
    ]
    merged: list[tuple[int, int]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] <= MERGE_MINUTES:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def oracle(series, outage, config: DetectorConfig) -> tuple[float, int | None]:
    """What a detector that knew the simulated normal rate and per-minute dispersion exactly
    and applied the core's excess floors (absolute and relative) makes of an outage: the
    smallest tail probability over its minutes and the core's windows (how far a missed outage
    is from what a detector of this kind could flag at p_outage), and the first minute of the
    outage (0 = its start) at which it flags it at p_outage, None if never (the least delay a
    detector of this kind could have on it)."""
    first = int(series.minutes[0])
    alpha = series.spec.dispersion
    cs_obs = np.concatenate(([0.0], np.cumsum(series.values)))
    cs_mu = np.concatenate(([0.0], np.cumsum(series.base_rate)))
    sc = config.scoring
    best, soonest = 1.0, None
    for k, ratio in zip(sc.windows, sc.ratio_by_window(), strict=True):
        ends = np.arange(max(outage.start - first, k - 1), outage.end - first)
        if len(ends) == 0:
            continue
        obs = cs_obs[ends + 1] - cs_obs[ends + 1 - k]
        mu = cs_mu[ends + 1] - cs_mu[ends + 1 - k]
        p = tail_probability(obs, mu, np.full(len(mu), alpha / k))
        enough = obs - mu >= np.maximum(sc.min_excess_outage, ratio * mu)
        if enough.any():
            best = min(best, float(p[enough].min()))
        flagged = np.flatnonzero(enough & (p <= sc.p_outage))
        if len(flagged):
            at = int(ends[flagged[0]]) - (outage.start - first)
            soonest = at if soonest is None else min(soonest, at)
    return best, soonest


def tally(
    series,
    is_anomaly: np.ndarray,
    eval_start: int,
    base: float,
    config: DetectorConfig | None = None,
) -> Tally:
    """Recall, false alarms and delays of one series; with the core's config, outages of
    >= 30 are also checked against the oracle."""
    t = Tally()
    minutes = series.minutes
    for o in series.outages:
        if o.start < eval_start:
            continue
        inside = np.flatnonzero(is_anomaly[o.start - minutes[0] : o.end - minutes[0]])
        t.outages += 1
        big = o.extra_reports >= 30
        t.outages_30 += big
        window = slice(o.start - minutes[0], o.end - minutes[0])
        ratio = o.extra_reports / max(series.base_rate[window].sum(), 1e-9)
        band = next(name for name, hi in RATIO_BANDS if ratio < hi)
        counts = t.by_ratio.setdefault(band, [0, 0])
        counts[0] += 1
        counts[1] += bool(len(inside))
        best, soonest = oracle(series, o, config) if config is not None else (1.0, None)
        reachable = config is not None and best <= config.scoring.p_outage
        t.oracle_30 += big and reachable
        if len(inside):
            t.detected += 1
            t.detected_30 += big
            t.delays.append(int(inside[0]))
            if soonest is not None:
                t.delay_pairs.append((int(inside[0]), soonest))
                if inside[0] - soonest >= SLOW_BY:
                    t.slow.append(
                        f"base={base:.2f} len={o.end - o.start} extra={o.extra_reports}"
                        f" {o.shape} core={inside[0]} oracle={soonest}"
                    )
        elif big:
            t.missed_reachable += reachable
            t.missed.append(
                f"base={base:.2f} len={o.end - o.start} extra={o.extra_reports} {o.shape} "
                f"oracle_p={best:.1e}"
            )
    for s, e in events_of(is_anomaly, minutes):
        if s < eval_start:
            continue
        t.events += 1
        if not any(s < o.end and e > o.start for o in series.outages):
            t.false_alarms += 1
            t.false.append(f"base={base:.2f} at={s} len={e - s}")
    return t


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (a pool of 0 workers would run nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def parse_overrides(pairs: list[str]) -> DetectorConfig:
    """--set name=value pairs (JSON values) on top of the default config, for experiments;
    the names are DETECTOR_OVERRIDES' (bench/README.md, "Detector settings").

    ValueError names the pair or setting at fault, for the caller's parser.error."""
    data = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set {pair!r}: expected NAME=JSON, e.g. --set p_outage=1e-3")
        try:
            data[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(
                f"--set {pair!r}: {raw!r} is not a JSON value (a number such as 1e-3,"
                " true/false, or a list such as [1, 2])"
            ) from None
    return DetectorConfig.from_dict(data)


def run_one(
    args: tuple[int, float, float, float, DetectorConfig, bool],
) -> tuple[Tally, Tally, float, float]:
    seed, weeks, warmup_weeks, base_rate, config, with_clock = args
    series = simulate_series(seed=seed, weeks=weeks, base_rate=base_rate)
    eval_start = int(series.minutes[0]) + int(warmup_weeks * MINUTES_PER_WEEK)
    clock = series_clock(series.spec) if with_clock else None
    t0 = time.perf_counter()
    result = detect_series(series.minutes, series.values, 1, config, clock)
    elapsed = time.perf_counter() - t0
    ours = tally(series, result.is_anomaly, eval_start, base_rate, config)
    naive = tally(series, zscore_detector(series.values), eval_start, base_rate)
    return ours, naive, elapsed, float(len(series.minutes))


def report(name: str, t: Tally, series_weeks: float) -> list[str]:
    delays = np.asarray(t.delays) if t.delays else np.asarray([np.nan])
    precision = (t.events - t.false_alarms) / t.events if t.events else float("nan")
    return [
        name,
        f"{t.detected / max(t.outages, 1):.3f} ({t.detected}/{t.outages})",
        f"{t.detected_30 / max(t.outages_30, 1):.3f} ({t.detected_30}/{t.outages_30})",
        f"{t.false_alarms / series_weeks:.3f} ({t.false_alarms})",
        f"{precision:.3f}",
        f"{np.nanmedian(delays):.0f}",
        f"{np.nanpercentile(delays, 90):.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--series",
        type=int,
        default=40,
        help="simulated series, their normal volumes spread evenly on a log scale from 0.1 "
        "to 100 reports a minute",
    )
    parser.add_argument("--weeks", type=float, default=6.0, help="length of each series")
    parser.add_argument(
        "--warmup-weeks",
        type=float,
        default=2.0,
        help="the first weeks of each series are history only: nothing in them is scored",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the simulation's seed (series i uses seed*100000+i)"
    )
    parser.add_argument("--jobs", type=positive_int, default=2, help="worker processes")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also list the misses, the false alarms and the outages flagged "
        f"{SLOW_BY} minutes or more after the oracle",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="override a detector setting for this run (repeatable; names in bench/README.md, "
        "'Detector settings')",
    )
    parser.add_argument(
        "--no-clock",
        action="store_true",
        help="detect without the series' clock (as for a series whose zone is unknown: "
        "a service's overall series); by default the detector knows each series' clock "
        "changes, as the product does from a series' country",
    )
    opts = parser.parse_args()
    try:
        config = parse_overrides(opts.set)
    except ValueError as exc:
        parser.error(str(exc))

    # Volumes spread evenly on a log scale so every decade is represented.
    rates = np.logspace(-1, 2, opts.series)
    tasks = [
        (
            opts.seed * 100_000 + i,
            opts.weeks,
            opts.warmup_weeks,
            float(r),
            config,
            not opts.no_clock,
        )
        for i, r in enumerate(rates)
    ]
    started = time.perf_counter()
    with Pool(opts.jobs) as pool:
        results = pool.map(run_one, tasks, chunksize=1)
    wall = time.perf_counter() - started

    ours, naive = Tally(), Tally()
    for o, n, _, _ in results:
        ours.add(o)
        naive.add(n)
    series_weeks = opts.series * (opts.weeks - opts.warmup_weeks)
    detect_s = sum(r[2] for r in results)
    rows = sum(r[3] for r in results)
    header = [
        "detector",
        "recall",
        "recall >=30",
        "FA/series-week",
        "precision",
        "median delay",
        "p90 delay",
    ]
    table = [header, report("core", ours, series_weeks), report("zscore60", naive, series_weeks)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print(
        f"{opts.series} series x {opts.weeks:g} weeks (warm-up {opts.warmup_weeks:g}), "
        f"seed {opts.seed}: {series_weeks:g} series-weeks evaluated, 1-minute buckets, "
        f"clock {'unknown' if opts.no_clock else 'known'}"
    )
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(
        f"detect_series: {rows / detect_s:,.0f} rows/s per core; "
        f"wall {wall:.1f} s with {opts.jobs} jobs"
    )
    for name, t in (("core", ours), ("zscore60", naive)):
        parts = [
            f"{band} {t.by_ratio.get(band, [0, 0])[1]}/{t.by_ratio.get(band, [0, 0])[0]}"
            for band, _ in RATIO_BANDS
        ]
        print(f"recall by outage size relative to normal traffic, {name}: " + ", ".join(parts))
    print(
        f"oracle ceiling, recall >=30 at p_outage {config.scoring.p_outage:g} and the excess floors"
        f" for a detector that knew the true rate and dispersion:"
        f" {ours.oracle_30 / max(ours.outages_30, 1):.3f}"
        f" ({ours.oracle_30}/{ours.outages_30})"
    )
    if ours.delay_pairs:
        core_d, oracle_d = np.asarray(ours.delay_pairs).T
        print(
            f"delay on the {len(core_d)} outages both the core and the oracle flag (median / p90):"
            f" core {np.median(core_d):g} / {np.percentile(core_d, 90):g} min,"
            f" oracle {np.median(oracle_d):g} / {np.percentile(oracle_d, 90):g} min"
        )
    if opts.verbose:
        print(
            f"missed (>=30): {len(ours.missed)}, of which {ours.missed_reachable} an oracle"
            " (true rate and dispersion) would flag at p_outage:",
            *ours.missed,
            sep="\n  ",
        )
        print("false alarms:", *ours.false, sep="\n  ")
        print(f"flagged {SLOW_BY}+ minutes after the oracle:", *ours.slow, sep="\n  ")


if __name__ == "__main__":
    main()
