"""Time one production tick over many series, and detect_series on a long series.

    .venv/bin/python bench/bench_tick.py [--series 10000 --window 60 --repeat 20]

The tick (judged expectation + level + score + onset + transition + phase) is reported in absolute
seconds and as a ratio to a plain numpy pass over the same arrays measured in the same run
(a trailing-sum z-score), so the figure survives a slower or busier machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.core import (
    UNKNOWN_OFFSET,
    BaselineBatch,
    DetectorConfig,
    DetectorState,
    detect_series,
    run_tick,
)
from detection.simulation import simulate_series


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def make_batch(n: int, rng: np.random.Generator) -> BaselineBatch:
    base = np.exp(rng.uniform(np.log(0.1), np.log(100), n))[:, None]
    shape = 1 + 0.6 * np.sin(np.linspace(0, 14 * np.pi, 672))[None, :]
    return BaselineBatch(
        profiles=base * shape,
        dispersion=rng.uniform(0.0, 0.2, n),
        level_dispersion=rng.uniform(0.0, 0.02, n),
        fitted_at=np.full(n, 29_000_000),
        growth_per_day=rng.normal(0, 0.005, n),
        cold=rng.random(n) < 0.05,
        max_extrapolation_days=np.full(n, 2.0),
        phase_moved=np.zeros(n, dtype=bool),
        # Country series know their clock (detection.clocks); a service's overall series not.
        utc_offset=np.where(rng.random(n) < 0.9, 60, UNKNOWN_OFFSET),
    )


def make_state(n: int, batch: BaselineBatch, rng: np.random.Generator) -> DetectorState:
    """Series spread over the daily phases (phase.py), so both judged paths are timed."""
    state = DetectorState.initial(n)
    return state.with_phase(
        rng.integers(0, 4, n).astype(np.int8),
        rng.uniform(-12, 12, n),
        rng.uniform(-12, 12, n),
        batch.fitted_at,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50_000)
    opts = parser.parse_args()
    config = DetectorConfig()
    rng = np.random.default_rng(0)
    n, w = opts.series, opts.window
    batch = make_batch(n, rng)
    # An ordinary minute, and the last minute of a 15-minute block, when every series also
    # folds the block into its phase evidence.
    minute, block_end = 29_000_500, 29_000_504
    window = minute - np.arange(w - 1, -1, -1)
    expected0 = batch.expected(np.arange(n), np.broadcast_to(window, (n, w)))
    observed = rng.poisson(expected0).astype(np.float64)
    state = make_state(n, batch, rng)
    # A tenth of the known clocks changed since the fit.
    offsets = np.where(rng.random(n) < 0.1, 120, 60)
    offsets = np.where(batch.utc_offset == UNKNOWN_OFFSET, UNKNOWN_OFFSET, offsets)

    def tick() -> None:
        run_tick(batch, state, observed, minute, config, utc_offset=offsets)

    def tick_block_end() -> None:
        run_tick(batch, state, observed, block_end, config, utc_offset=offsets)

    def plain() -> None:
        # Reference: one trailing-sum z-score over the same (n, w) arrays in plain numpy.
        for k in config.scoring.windows:
            o = observed[:, -k:].sum(axis=1)
            e = expected0[:, -k:].sum(axis=1)
            _ = (o - e) / np.sqrt(e + 1e-9) > 3

    tick()
    t_tick = best_of(tick, opts.repeat)
    t_block = best_of(tick_block_end, opts.repeat)
    t_plain = best_of(plain, opts.repeat)
    print(f"tick over {n:,} series x {w} buckets: {t_tick * 1000:.1f} ms")
    print(f"tick at a block end (phase evidence too): {t_block * 1000:.1f} ms")
    print(f"plain numpy z-score pass, same arrays: {t_plain * 1000:.2f} ms")
    print(f"ratio tick / plain: {t_tick / t_plain:.1f}x; at a block end {t_block / t_plain:.1f}x")

    weeks = opts.rows / 10080
    s = simulate_series(seed=1, weeks=weeks, base_rate=10.0)
    t0 = time.perf_counter()
    detect_series(s.minutes, s.values, 1, config)
    t_series = time.perf_counter() - t0
    print(f"detect_series on {len(s.minutes):,} rows (1-minute buckets): {t_series:.2f} s")


if __name__ == "__main__":
    main()
