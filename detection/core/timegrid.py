"""Epoch-minute calendar arithmetic shared by fitting, batches and the simulator."""

from __future__ import annotations

import numpy as np

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
SLOT_MINUTES = 15
SLOTS_PER_WEEK = MINUTES_PER_WEEK // SLOT_MINUTES  # 672
# Epoch minute 0 (1970-01-01) was a Thursday; the profile starts on Monday 00:00 UTC.
_MONDAY_OFFSET = 3 * MINUTES_PER_DAY


def minute_of_week(minutes: np.ndarray | float) -> np.ndarray:
    """Minutes since Monday 00:00 UTC, float (fractional minutes allowed)."""
    return np.mod(np.asarray(minutes, dtype=np.float64) + _MONDAY_OFFSET, MINUTES_PER_WEEK)


def interpolate_profile(
    profiles: np.ndarray, rows: np.ndarray | None, mow: np.ndarray
) -> np.ndarray:
    """Linear interpolation of weekly slot profiles at exact minute-of-week positions.

    profiles: (n, 672) or (672,); rows: series index per element of mow (broadcastable) or None
    for a single profile. Slot i's value sits at its centre, so a smooth daily curve is not
    turned into 15-minute steps.
    """
    x = (mow - SLOT_MINUTES / 2) / SLOT_MINUTES
    lo = np.floor(x)
    frac = x - lo
    i0 = np.mod(lo.astype(np.int64), SLOTS_PER_WEEK)
    i1 = np.mod(i0 + 1, SLOTS_PER_WEEK)
    if rows is None:
        return (1.0 - frac) * profiles[i0] + frac * profiles[i1]
    return (1.0 - frac) * profiles[rows, i0] + frac * profiles[rows, i1]


# What circular_max_filter works on at once: well within a core's share of a CPU cache.
_CACHE_BYTES = 256 * 1024


def circular_max_filter(
    profiles: np.ndarray, half_width_slots: int, of_half_width: int = 0
) -> np.ndarray:
    """Max over +-half_width_slots neighbouring slots, wrapping around the week.

    of_half_width: `profiles` already are such maxima over +-of_half_width (a narrower
    filter's output). Windows of +-b whose centres lie 2b + 1 apart tile the wider window, so
    it takes a few shifted maxima instead of one per slot: the tick's +-4 slots from its +-1,
    two instead of eight.

    Block by block of rows that fit in a CPU cache, each copied once with the wrapped slots on
    both ends and maxed over views of that copy: over whole arrays, a rolled copy per shift
    made this most of the time it takes to load 100k baselines, memory-bound
    (bench/scale/README.md).
    """
    b = of_half_width
    if half_width_slots < b:
        raise ValueError("a narrower filter cannot be had from a wider one")
    if half_width_slots == b:
        return profiles
    profiles = np.asarray(profiles)
    slots = profiles.shape[-1]
    rows = profiles.reshape(-1, slots)
    out = np.empty_like(rows)
    h = half_width_slots - b  # how far the centres of the narrower windows reach
    centres = list(range(-h, h + 1, 2 * b + 1))
    if centres[-1] != h:
        centres.append(h)
    wrap = np.arange(-h, slots + h) % slots
    block = max(1, _CACHE_BYTES // (rows.itemsize * len(wrap)))
    for start in range(0, len(rows), block):
        part = rows[start : start + block]
        if h <= slots:
            wrapped = np.concatenate((part[:, slots - h :], part, part[:, :h]), axis=1)
        else:  # wider than the week: wraps more than once
            wrapped = part[:, wrap]
        target = out[start : start + block]
        np.copyto(target, wrapped[:, h + centres[0] : h + centres[0] + slots])
        for d in centres[1:]:
            np.maximum(target, wrapped[:, h + d : h + d + slots], out=target)
    return out.reshape(profiles.shape)
