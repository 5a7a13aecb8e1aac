"""The live path's two promises, measured on the core the tick runs: an outage is detected
within 2 minutes of its onset and resolved within 15 minutes of its reports stopping
(issue 12; README, "A demo with history and a live outage").

    .venv/bin/python bench/live_path.py [--rates 0.5 1 2 10 50] [--extra 40] [--minutes 10]
                                        [--seeds 20] [--set NAME=JSON ...]

Each run is what `simulate live` does to a service that `simulate history` gave a past:
three days of Poisson traffic at the normal rate, then an outage adding Poisson(--extra)
reports a minute for --minutes minutes, then the normal traffic again. `detect_series` steps
the tick's own transition over it minute by minute (detection.core: one code path). The
tick judges minute t once it has closed, at t + 1, so the delays are wall-clock minutes:
detected = the first flagged minute + 1 - the onset; resolved = the first minute no longer
flagged after the outage + 1 - the minute its reports stopped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.core import DetectorConfig, detect_series

HISTORY_MINUTES = 3 * 1440
AFTER_MINUTES = 45
# Minute numbers of a Monday 00:00 UTC (2026-11-23), so the history covers whole days.
START_MINUTE = 29_395_440


def run_once(
    rate: float, extra: float, minutes: int, seed: int, config: DetectorConfig
) -> tuple[int | None, int | None]:
    """(detection delay, resolution delay) in minutes; None where it never happened."""
    rng = np.random.default_rng(seed)
    onset = HISTORY_MINUTES
    stop = onset + minutes
    lam = np.full(stop + AFTER_MINUTES, rate)
    lam[onset:stop] += extra
    values = rng.poisson(lam).astype(np.float64)
    result = detect_series(START_MINUTE + np.arange(len(values)), values, 1, config)
    flagged = result.is_anomaly.astype(bool)
    hits = np.flatnonzero(flagged[onset:stop])
    if not len(hits):
        return None, None
    cleared = np.flatnonzero(~flagged[stop:])
    return int(hits[0]) + 1, (int(cleared[0]) + 1 if len(cleared) else None)


def summary(delays: list[int | None]) -> str:
    seen = [d for d in delays if d is not None]
    if not seen:
        return "never"
    missed = len(delays) - len(seen)
    text = f"{statistics.median(seen):g} (max {max(seen)})"
    return f"{text}, {missed} never" if missed else text


def main(argv: list[str] | None = None) -> int:
    from evaluate import parse_overrides  # bench/ is on the path when run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.5, 1.0, 2.0, 10.0, 50.0])
    parser.add_argument("--extra", type=float, default=40.0, help="outage reports a minute")
    parser.add_argument("--minutes", type=int, default=10, help="the outage's length")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=JSON")
    args = parser.parse_args(argv)
    try:
        config = parse_overrides(args.set)
    except ValueError as exc:
        parser.error(str(exc))
    print(
        f"{args.seeds} runs a rate, +{args.extra:g} reports a minute for {args.minutes} minutes;"
        " minutes, median (max)"
    )
    print("| normal rate / min | detected after the onset | resolved after the reports stop |")
    print("|---|---|---|")
    worst_detected = worst_resolved = 0
    for rate in args.rates:
        runs = [run_once(rate, args.extra, args.minutes, s, config) for s in range(args.seeds)]
        detected, resolved = zip(*runs, strict=True)
        print(f"| {rate:g} | {summary(list(detected))} | {summary(list(resolved))} |")
        worst_detected = max([worst_detected, *(d for d in detected if d is not None)])
        worst_resolved = max([worst_resolved, *(r for r in resolved if r is not None)])
    print(f"worst: detected after {worst_detected} min, resolved after {worst_resolved} min")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
