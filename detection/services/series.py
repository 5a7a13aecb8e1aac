"""Which series exist, and their bucket history as dense numpy arrays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection

from detection.models import OVERALL, Bucket, SeriesState
from detection.services.buckets import buckets_settled
from detection.services.bulk import fetch_ints
from detection.services.sites import sites_admitted
from detection.services.timeutil import from_epoch_minute, to_epoch_minute
from reports.models import Service

if TYPE_CHECKING:
    from detection.services.lasttick import LastTick

SeriesKey = tuple[int, str]  # (service_id, country); country "" = overall


def series_active(*, now: dt.datetime) -> list[SeriesKey]:
    """Every active service overall, plus each country with enough evidence to be a series.

    A (service, country) pair becomes a series of its own once counted reports naming it came
    from SERIES_MIN_SITES distinct sites within SERIES_IDLE_DAYS (detection.services.sites);
    until then its reports count in the service's overall series only. Otherwise one machine
    could make thousands of series (and baselines to fit) by naming made-up pairs. A series
    drops out again when it goes idle, unless its detector is still in a non-calm state.
    """
    services = list(
        Service.objects.filter(is_active=True).order_by("id").values_list("id", flat=True)
    )
    active = set(services)
    busy = SeriesState.objects.exclude(state=0).values_list("service_id", "country")
    keys = [(sid, OVERALL) for sid in services]
    keys += [(sid, c) for sid, c in sites_admitted(now=now) if sid in active]
    keys += [(sid, c) for sid, c in busy if sid in active]
    return _sorted_unique(keys)


def _sorted_unique(keys: list[SeriesKey]) -> list[SeriesKey]:
    """sorted(set(keys)), fast when `keys` is a few sorted runs (timsort merges them)."""
    return [key for key, _ in groupby(sorted(keys))]


def counts_matrix(keys: list[SeriesKey], *, first: dt.datetime, minutes: int) -> np.ndarray:
    """(len(keys), minutes) counted reports per minute from `first`, zeros where no bucket.

    One query for every series' buckets of the window, as plain integers (the country as a
    number, the minute as an offset from `first`), put in place with numpy: no model
    instance, no datetime, no Python object per bucket.
    """
    return _placed(keys, buckets_window(first=first, minutes=minutes), minutes)


def _placed(
    keys: list[SeriesKey], rows: np.ndarray, minutes: int, row_of: np.ndarray | None = None
) -> np.ndarray:
    """(len(keys), minutes) from rows of buckets_window (minute as an offset); row_of: each
    row's index in `keys` (-1: not there), if known."""
    out = np.zeros((len(keys), minutes))
    if row_of is None:
        row_of = _rows_of(keys, rows)
    offsets = rows[:, 2]
    ok = (row_of >= 0) & (offsets >= 0) & (offsets < minutes)
    out[row_of[ok], offsets[ok]] = rows[ok, 3]
    return out


def _rows_of(keys: list[SeriesKey], rows: np.ndarray) -> np.ndarray:
    if not keys:
        return np.full(len(rows), -1, dtype=np.int64)
    at, found = series_index(keys, rows[:, 0], rows[:, 1])
    return np.where(found, at, -1)


@dataclass(frozen=True, eq=False)
class WindowRead:
    """The buckets of one tick's window (rows of buckets_window, minutes as epoch minutes),
    and what could change them afterwards (buckets_settled)."""

    first: int
    end: int
    settled: int  # epoch minute; rows before it change only if `mark` moves
    mark: Any
    rows: np.ndarray
    row_of: np.ndarray  # each row's index in the tick's keys, -1 if not there


_NOTHING_SETTLED = np.iinfo(np.int64).min


def counts_recent(
    keys: list[SeriesKey], *, last: dt.datetime, minutes: int, kept: LastTick | None
) -> tuple[np.ndarray, WindowRead]:
    """counts_matrix(keys) of the `minutes` minutes up to `last`, and the buckets read.

    `kept`: what this process's last tick left, if no other tick ran since (last_tick). Its
    buckets are reused and only the minutes that may have changed since are read again:
    those from where the aggregation recounts (its watermark less the late window), or
    everything if anything else rewrote buckets. At 100k series that reads 6 minutes'
    buckets instead of 60 (bench/scale/README.md). The counts are always those of one fresh
    read (tests/detection/test_tick_bulk.py).
    """
    end = to_epoch_minute(last) + 1
    first = end - minutes
    settled_at, mark = buckets_settled()
    settled = _NOTHING_SETTLED if settled_at is None else to_epoch_minute(settled_at)
    since, old = first, np.zeros((0, 4), dtype=np.int64)
    old_rows_of = None
    window = None if kept is None else kept.window
    if (
        kept is not None
        and window is not None
        and settled_at is not None
        and mark == window.mark
        and first >= window.first
    ):
        since = min(max(first, min(window.settled, window.end)), end)
        still = (window.rows[:, 2] >= first) & (window.rows[:, 2] < since)
        old = window.rows[still]
        if keys is kept.keys:  # nearly always (the tick hands over the same list): places hold
            old_rows_of = window.row_of[still]
    new = buckets_window(first=from_epoch_minute(since), minutes=end - since)
    new[:, 2] += since
    rows = np.concatenate([old, new])
    if old_rows_of is None:
        row_of = _rows_of(keys, rows)
    else:
        row_of = np.concatenate([old_rows_of, _rows_of(keys, new)])
    read = WindowRead(first, end, settled, mark, rows, row_of)
    relative = rows.copy()
    relative[:, 2] -= first
    return _placed(keys, relative, minutes, row_of), read


# A country code as a number: its two characters' code points (0 for none; "" is overall).
_CODE_POINTS = 0x110000


def country_number(country: str) -> int:
    return sum(ord(c) * _CODE_POINTS ** (1 - k) for k, c in enumerate(country[:2]))


def country_number_sql(column: str) -> str:
    """country_number of a country column, computed by the database."""
    if connection.vendor == "postgresql":
        return (
            f"ascii(substr({column}, 1, 1))::bigint * {_CODE_POINTS}"
            f" + ascii(substr({column}, 2, 1))"
        )
    return (
        f"COALESCE(unicode(substr({column}, 1, 1)), 0) * {_CODE_POINTS}"
        f" + COALESCE(unicode(substr({column}, 2, 1)), 0)"
    )


def series_index(
    keys: list[SeriesKey], service_ids: np.ndarray, countries: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row of each (service id, country number) pair in `keys`, and whether it is there."""
    sids = np.fromiter((sid for sid, _ in keys), np.int64, len(keys))
    numbers = np.fromiter((country_number(c) for _, c in keys), np.int64, len(keys))
    services = np.unique(sids)
    span = _CODE_POINTS**2
    codes = np.searchsorted(services, sids) * span + numbers
    order = np.argsort(codes)
    ordered = codes[order]
    where = np.minimum(np.searchsorted(services, service_ids), len(services) - 1)
    known = services[where] == service_ids
    wanted = where * span + countries
    j = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    found = known & (ordered[j] == wanted)
    return order[j], found


def buckets_window(*, first: dt.datetime, minutes: int) -> np.ndarray:
    """(service id, country number, minute - first in minutes, counted) of every bucket with
    counted reports in [first, first + minutes), as one int64 array."""
    table = connection.ops.quote_name(Bucket._meta.db_table)
    number = country_number_sql("country")
    if connection.vendor == "postgresql":
        offset = "EXTRACT(EPOCH FROM minute)::bigint / 60 - %s"
    else:
        offset = "CAST(strftime('%%s', minute) AS INTEGER) / 60 - %s"
    sql = (
        f"SELECT service_id, {number}, {offset}, counted FROM {table}"
        " WHERE minute >= %s AND minute < %s AND counted > 0"
    )
    last = first + dt.timedelta(minutes=minutes)
    return fetch_ints(sql, [to_epoch_minute(first), first, last], 4)


def series_history(
    key: SeriesKey, *, until: dt.datetime, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Epoch minutes and counts of one series from its first bucket (within `days`) to `until`.

    Starts at the series' first report, so a new service is not mistaken for weeks of calm.
    """
    since = until - dt.timedelta(days=days)
    rows = list(
        Bucket.objects.filter(
            service_id=key[0], country=key[1], minute__gte=since, minute__lt=until
        )
        .order_by("minute")
        .values_list("minute", "counted")
    )
    end = to_epoch_minute(until)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    start = to_epoch_minute(rows[0][0])
    minutes = np.arange(start, end, dtype=np.int64)
    values = np.zeros(len(minutes))
    for minute, counted in rows:
        values[to_epoch_minute(minute) - start] = counted
    return minutes, values
