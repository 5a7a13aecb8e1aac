"""A series' local clock: its UTC offset over time, when the zone of its audience is known.

People report on their local clock, so a series' daily pattern moves an hour against UTC when
its country changes clocks. Without knowing when, the detector must infer the phase from the
counts (phase.py), which takes hours after every change and now and then infers a shift that
never happened (bench/README.md, "The series' clock known"). A series whose zone is known
carries a Clock instead: the fit moves its history onto the offset in force when it fits
(fitting.py) and the tick reads the profile at the offset in force now, from the first minute
after a change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

# Stands for "no known clock" in per-series offset arrays (tick) and in a baseline fitted
# without one; far outside any real offset (UTC-12 .. UTC+14).
UNKNOWN_OFFSET = -(10**6)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Zone rules are probed hourly and each change found to the minute by bisection: no zone has
# changed its clock twice within an hour.
_PROBE_MINUTES = 60
# Zone clocks are built and cached in spans of this many minutes since the epoch.
_YEAR_MINUTES = 366 * 24 * 60


@dataclass(frozen=True, eq=False)
class Clock:
    """UTC offset (minutes, local = UTC + offset) as a step function of the epoch minute."""

    changes: np.ndarray  # (k,) int64 epoch minutes from which a new offset holds, increasing
    offsets: np.ndarray  # (k + 1,) int64: the offset before changes[0], then after each

    def __post_init__(self) -> None:
        changes = np.asarray(self.changes, dtype=np.int64)
        offsets = np.asarray(self.offsets, dtype=np.int64)
        if offsets.shape != (len(changes) + 1,):
            raise ValueError("a clock needs one more offset than changes")
        if len(changes) and np.any(np.diff(changes) <= 0):
            raise ValueError("clock changes must be strictly increasing")
        object.__setattr__(self, "changes", changes)
        object.__setattr__(self, "offsets", offsets)

    @classmethod
    def fixed(cls, offset_minutes: int) -> Clock:
        return cls(np.zeros(0, dtype=np.int64), np.array([offset_minutes], dtype=np.int64))

    def at(self, minutes: np.ndarray | int) -> np.ndarray:
        """The offset in force at each epoch minute."""
        where = np.searchsorted(self.changes, np.asarray(minutes, dtype=np.int64), side="right")
        return self.offsets[where]


def zone_clock(name: str, first_minute: int, last_minute: int) -> Clock:
    """The clock of an IANA zone over at least [first_minute, last_minute]
    (ZoneInfoNotFoundError for an unknown zone). Built per span of 366 days and cached, so a
    tick over many series of one country costs one lookup."""
    first_year = int(first_minute) // _YEAR_MINUTES
    last_year = int(last_minute) // _YEAR_MINUTES
    changes: list[np.ndarray] = []
    offsets = [_zone_year(name, first_year).offsets[:1]]
    for year in range(first_year, last_year + 1):
        part = _zone_year(name, year)
        last = np.concatenate(offsets)[-1]
        if part.offsets[0] != last:  # a change on the span's first minute
            changes.append(np.array([year * _YEAR_MINUTES], dtype=np.int64))
            offsets.append(part.offsets[:1])
        changes.append(part.changes)
        offsets.append(part.offsets[1:])
    return Clock(np.concatenate(changes), np.concatenate(offsets))


@lru_cache(maxsize=512)
def _zone_year(name: str, year: int) -> Clock:
    zone = ZoneInfo(name)
    start = year * _YEAR_MINUTES
    probes = np.arange(start, start + _YEAR_MINUTES + 1, _PROBE_MINUTES, dtype=np.int64)
    offsets = np.array([_offset(zone, int(m)) for m in probes], dtype=np.int64)
    changes, after = [], [int(offsets[0])]
    for k in np.flatnonzero(np.diff(offsets)):
        lo, hi = int(probes[k]), int(probes[k + 1])  # offset(lo) = before, offset(hi) = after
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, mid) == offsets[k]:
                lo = mid
            else:
                hi = mid
        changes.append(hi)
        after.append(int(offsets[k + 1]))
    # The last probe is the next span's first minute: a change there belongs to that span.
    if changes and changes[-1] >= start + _YEAR_MINUTES:
        changes, after = changes[:-1], after[:-1]
    return Clock(np.array(changes, dtype=np.int64), np.array(after, dtype=np.int64))


def _offset(zone: ZoneInfo, minute: int) -> int:
    moment = _EPOCH + dt.timedelta(minutes=minute)
    delta = moment.astimezone(zone).utcoffset() or dt.timedelta(0)
    return round(delta.total_seconds() / 60)
