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
    profiles: np.ndarray | SlotMaxima, rows: np.ndarray | None, mow: np.ndarray
) -> np.ndarray:
    """Linear interpolation of weekly slot profiles at exact minute-of-week positions.

    profiles: (n, 672), (672,) or a SlotMaxima of (n, 672); rows: series index per element of
    mow (broadcastable) or None for a single profile. Slot i's value sits at its centre, so a
    smooth daily curve is not turned into 15-minute steps.
    """
    x = (mow - SLOT_MINUTES / 2) / SLOT_MINUTES
    lo = np.floor(x)
    frac = x - lo
    i0 = np.mod(lo.astype(np.int64), SLOTS_PER_WEEK)
    i1 = np.mod(i0 + 1, SLOTS_PER_WEEK)
    if rows is None:
        assert isinstance(profiles, np.ndarray)  # one profile: SlotMaxima holds (n, 672)
        return (1.0 - frac) * profiles[i0] + frac * profiles[i1]
    return (1.0 - frac) * profiles[rows, i0] + frac * profiles[rows, i1]


# What circular_max_filter works on at once: well within a core's share of a CPU cache.
_CACHE_BYTES = 256 * 1024


def circular_max_filter(profiles: np.ndarray, half_width_slots: int) -> np.ndarray:
    """Max over +-half_width_slots neighbouring slots, wrapping around the week.

    Block by block of rows that fit in a CPU cache, each copied once with the wrapped slots on
    both ends and maxed over views of that copy: over whole arrays, a rolled copy per shift
    made this most of the time it takes to load 100k baselines, memory-bound
    (bench/scale/README.md).
    """
    h = half_width_slots
    if h == 0:
        return profiles
    profiles = np.asarray(profiles)
    slots = profiles.shape[-1]
    rows = profiles.reshape(-1, slots)
    out = np.empty_like(rows)
    wrap = np.arange(-h, slots + h) % slots
    block = max(1, _CACHE_BYTES // (rows.itemsize * len(wrap)))
    for start in range(0, len(rows), block):
        part = rows[start : start + block]
        if h <= slots:
            wrapped = np.concatenate((part[:, slots - h :], part, part[:, :h]), axis=1)
        else:  # wider than the week: wraps more than once
            wrapped = part[:, wrap]
        target = out[start : start + block]
        np.copyto(target, wrapped[:, :slots])
        for d in range(1, 2 * h + 1):
            np.maximum(target, wrapped[:, d : d + slots], out=target)
    return out.reshape(profiles.shape)


# A batch of at most this many series has its maxima filtered whole, once: for so few rows
# that costs less than finding the slots a read needs (detect_series judges one series).
_WHOLE_ROWS = 64
# Columns of maxima that no read among the last this many has used are dropped when new ones
# are computed: a tick reads the same few slots minute after minute, and phase evidence others.
_RECENT_READS = 16


class SlotMaxima:
    """Profiles (n, slots) max-filtered over +-half_width_slots, computed where they are read.

    Indexed like the filtered array (`maxima[rows, slots]`, as interpolate_profile reads a
    profile) and equal to `circular_max_filter(profiles, half_width_slots)[rows, slots]`. A
    minute reads a handful of slots of each series, so filtering all 672 of 100k series when
    their baselines are loaded (1.5 s and two arrays of 537 MB, bench/scale/README.md) did
    mostly work that no minute used. The tick's reads (every row, a few slots) keep the
    columns they read, so the next minutes, which read mostly the same slots, compute only the
    slots new to them.
    """

    def __init__(self, profiles: np.ndarray, half_width_slots: int) -> None:
        self.profiles = profiles
        self.half_width_slots = half_width_slots
        self._whole: np.ndarray | None = None
        width = profiles.shape[-1]
        # (table, column of each slot in it or -1), replaced as one so a reader sees a pair.
        empty = np.empty((len(profiles), 0), dtype=profiles.dtype)
        self._kept = (empty, np.full(width, -1, dtype=np.intp))
        self._read_at = np.zeros(width, dtype=np.int64)  # the read that last used each slot
        self._reads = 0

    def __getitem__(self, key: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        rows, slots = (np.asarray(k) for k in key)
        profiles, h = self.profiles, self.half_width_slots
        if h == 0:
            return profiles[rows, slots]
        if len(profiles) <= _WHOLE_ROWS:
            if self._whole is None:
                self._whole = circular_max_filter(profiles, h)
            return self._whole[rows, slots]
        if rows.ndim == 2 and rows.shape[1] == 1 and slots.ndim == 2:
            return self._kept_columns(rows, slots)
        return self._maxima(rows, slots)

    def _kept_columns(self, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Each row reads slots[row] (a tick's window of 60 minutes: about five slots of 672):
        the maxima of those slots for every series, kept, then picked out."""
        self._reads += 1
        read = np.zeros(self.profiles.shape[1], dtype=bool)
        read[slots] = True
        self._read_at[read] = self._reads
        table, column = self._kept
        new = np.flatnonzero(read & (column < 0))
        if len(new):
            table, column = self._kept = self._with_columns(table, column, new)
        return table[rows, column[slots]]

    def _with_columns(
        self, table: np.ndarray, column: np.ndarray, new: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The kept columns with `new` computed and added, less those long unread."""
        keep = np.flatnonzero((column >= 0) & (self._read_at > self._reads - _RECENT_READS))
        fresh = self._maxima(slice(None), new)  # every row at the new slots
        columns = np.full(self.profiles.shape[1], -1, dtype=np.intp)
        columns[keep] = np.arange(len(keep))
        columns[new] = len(keep) + np.arange(len(new))
        return np.concatenate((table[:, column[keep]], fresh), axis=1), columns

    def _maxima(self, rows: np.ndarray | slice, slots: np.ndarray) -> np.ndarray:
        width, h = self.profiles.shape[1], self.half_width_slots
        out = self.profiles[rows, slots]
        for d in range(-h, h + 1):
            if d:
                np.maximum(out, self.profiles[rows, (slots + d) % width], out=out)
        return out
