"""Ingestion gaps: long zero runs where the series normally has traffic.

A gap is missing data, not quiet: fitting on it would drag the baseline down and make the
next ordinary evening look like an outage.
"""

from __future__ import annotations

import numpy as np

from .timegrid import MINUTES_PER_DAY

# A run of zeros is an ingestion gap (not real quiet) when it lasts at least this long AND the
# series would normally have produced at least GAP_MIN_EXPECTED reports in it: P(0 | Poisson 8)
# = 3e-4, so real quiet is almost never taken for a gap. The simulator's gaps are 30-120
# minutes (bench/README.md).
GAP_MIN_MINUTES = 30
GAP_MIN_EXPECTED = 8.0


def zero_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) row indices of runs of zeros."""
    is_zero = np.concatenate(([False], np.asarray(values) == 0, [False]))
    edges = np.flatnonzero(np.diff(is_zero.astype(np.int8)))
    return edges[0::2], edges[1::2]


def hour_of_day_rates(minutes: np.ndarray, values: np.ndarray, step_minutes: int) -> np.ndarray:
    """Mean rate per minute for each UTC hour of day (24,), a rough yardstick for gaps."""
    hour = (np.mod(minutes, MINUTES_PER_DAY) // 60).astype(np.int64)
    sums = np.bincount(hour, weights=values.astype(np.float64), minlength=24)
    cover = np.bincount(hour, minlength=24).astype(np.float64) * step_minutes
    overall = values.sum() / max(len(values) * step_minutes, 1)
    return np.where(cover > 0, sums / np.maximum(cover, 1.0), overall)


def gap_mask(
    minutes: np.ndarray,
    values: np.ndarray,
    step_minutes: int,
    *,
    min_minutes: int = GAP_MIN_MINUTES,
    min_expected: float = GAP_MIN_EXPECTED,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of rows inside ingestion gaps.

    usable: rows allowed to inform the rough hourly rates (e.g. not known outages).
    """
    mask = np.zeros(len(values), dtype=bool)
    if len(values) == 0:
        return mask
    ref = np.ones(len(values), dtype=bool) if usable is None else usable
    if not ref.any():
        return mask
    rates = hour_of_day_rates(minutes[ref], values[ref], step_minutes)
    starts, ends = zero_runs(values)
    long_enough = (ends - starts) * step_minutes >= min_minutes
    if not long_enough.any():
        return mask
    row_expected = rates[(np.mod(minutes, MINUTES_PER_DAY) // 60).astype(np.int64)] * step_minutes
    cum = np.concatenate(([0.0], np.cumsum(row_expected)))
    for s, e in zip(starts[long_enough], ends[long_enough], strict=True):
        if cum[e] - cum[s] >= min_expected:
            mask[s:e] = True
    return mask
