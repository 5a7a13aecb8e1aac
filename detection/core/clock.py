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
# Zone rules are probed daily, a day whose offset moved hourly, and each change found to the
# minute by bisection: no zone changes its clock twice within an hour, nor changes it and back
# within a day (for every zone of tzdata's zone.tab over 1970-2040 this gives the clocks that
# probing every hour of the year gave: bench/scale/README.md, "The clocks probed by the day").
# Every hour of the year cost 21 ms a zone: a third of a new detector's first minute at 10k.
_PROBE_MINUTES = (24 * 60, 60)
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
    # The span's last minute is the next span's first: a change there belongs to that span.
    found = [
        c
        for c in _changes(zone, start, start + _YEAR_MINUTES, _PROBE_MINUTES)
        if c[0] < start + _YEAR_MINUTES
    ]
    return Clock(
        np.array([minute for minute, _ in found], dtype=np.int64),
        np.array([utc_offset(zone, start), *(offset for _, offset in found)], dtype=np.int64),
    )


def _changes(zone: ZoneInfo, lo: int, hi: int, steps: tuple[int, ...]) -> list[tuple[int, int]]:
    """(first minute, new offset) of each change of the zone's offset in (lo, hi]: probed every
    steps[0] minutes, finer (steps[1:]) where two probes differ, then bisected to the minute."""
    probes = [*range(lo, hi, steps[0]), hi]
    offsets = [utc_offset(zone, m) for m in probes]
    found: list[tuple[int, int]] = []
    for k in range(len(probes) - 1):
        if offsets[k] == offsets[k + 1]:
            continue
        a, b = probes[k], probes[k + 1]  # offset(a) = before, offset(b) = after
        if len(steps) > 1:
            found += _changes(zone, a, b, steps[1:])
            continue
        while b - a > 1:
            mid = (a + b) // 2
            if utc_offset(zone, mid) == offsets[k]:
                a = mid
            else:
                b = mid
        found.append((b, offsets[k + 1]))
    return found


def utc_offset(zone: ZoneInfo, minute: int) -> int:
    """The zone's UTC offset (minutes) at an epoch minute, as zoneinfo gives it."""
    moment = _EPOCH + dt.timedelta(minutes=minute)
    delta = moment.astimezone(zone).utcoffset() or dt.timedelta(0)
    return round(delta.total_seconds() / 60)
