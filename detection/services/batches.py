"""The tick's baselines, kept between ticks, and the core run over them.

Stacking the stored baselines into a BaselineBatch cost the tick a JSON parse of 672 numbers
per series plus the batch's judged profiles (about 60 us a series): 20 s and 6 s at 100k
series, every minute, for baselines that change only when they are refitted
(bench/scale/README.md). So each process keeps them, in chunks of at most CHUNK series, and
asks the database only which series have which baseline: `SeriesBaseline.digest`, a hash of
the whole stored record, tells an unchanged baseline from a refitted one. A refitted or new
baseline goes into a new chunk; a chunk that holds more dead or unused rows than live ones is
rebuilt from its live rows.

The core judges every series on its own (row i of the result depends on row i of the
inputs only; tests/detection/test_tick_batches.py checks it bit for bit), so running it once
per chunk and putting the rows back in order is the same tick as one run over one batch. Rows
of a chunk that the tick does not need (a series no longer active) run along with copies of a
real row and are dropped from the result. A series without a stored baseline is judged on the
prior fitted "now", built afresh each tick, as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from django.db import connection
from psycopg.adapt import Loader
from psycopg.postgres import types
from psycopg.pq import Format

from detection.baseline_record import PROFILE_DTYPE, profile_layout
from detection.core import (
    BaselineBatch,
    DetectorConfig,
    DetectorState,
    TickResult,
    prior_baseline,
    run_tick,
)
from detection.core.baseline import METHODS, OPTIONAL, PROFILE_FLOAT
from detection.core.timegrid import SLOTS_PER_WEEK
from detection.models import SeriesBaseline
from detection.services.bulk import copy_fixed, copy_out
from detection.services.series import SeriesKey
from detection.services.timeutil import to_epoch_minute

logger = logging.getLogger(__name__)
# Series per chunk: a rebuild copies a chunk's rows and filters its judged profiles again
# where the next minute reads them (timegrid.SlotMaxima), a fraction of a second; more chunks
# cost a core call each (a few ms).
CHUNK = 20_000
# Chunks of fewer rows than this are merged once there are more than MAX_SMALL of them.
SMALL = CHUNK // 4
MAX_SMALL = 4


@dataclass(eq=False)
class _Chunk:
    keys: list[SeriesKey]
    digests: list[str]
    batch: BaselineBatch
    live: np.ndarray  # (m,) bool: the row is still its series' stored baseline

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, eq=False)
class _Part:
    """One core run: a batch, the tick's series it judges (rows `rows` of it, in order)."""

    batch: BaselineBatch
    rows: np.ndarray  # (k,) rows of the batch that are series of this tick
    series: np.ndarray  # (k,) the tick's index of each of them


@dataclass(frozen=True, eq=False)
class _Last:
    """A tick's series, the stored baselines' mark and the config, and the runs they gave."""

    keys: list[SeriesKey]
    mark: tuple | None
    config: DetectorConfig
    parts: list[_Part]
    missing: list[int]


def _stored_mark() -> tuple | None:
    """Changes whenever a stored baseline does (a row added, refitted or deleted); None where
    it cannot be had cheaply or a row lacks its digest (such rows are read every minute).

    Reading which series have which baseline took 0.8 s a minute at 100k series
    (bench/scale/README.md), the same answer nearly every minute: baselines are refitted a
    few times a day. This sum of a 64-bit hash of each row's identity and digest is computed
    by PostgreSQL in one pass over the narrow columns.
    """
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(SeriesBaseline._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE digest = ''),"
            " sum(hashtextextended(id::text || ' ' || service_id::text || ' ' || country"
            f" || ' ' || digest, 0)) FROM {table}"
        )
        count, undigested, total = cursor.fetchone()
    return None if undigested else (count, total)


@dataclass(eq=False)
class BaselineCache:
    """This process's stacked baselines, by series; one per process (`baseline_cache`)."""

    chunks: list[_Chunk] = field(default_factory=list)
    where: dict[SeriesKey, tuple[int, int]] = field(default_factory=dict)  # chunk, row
    last: _Last | None = None  # the previous tick's answer

    def clear(self) -> None:
        self.chunks.clear()
        self.where.clear()
        self.last = None

    def parts(self, keys: list[SeriesKey], minute: dt.datetime, config: DetectorConfig):
        """The core runs that judge `keys` at `minute` with their stored baselines.

        `keys` is kept as given (the tick hands the same list on while its series are the
        same, which makes the next comparison instant), so it must not be changed after."""
        mark = _stored_mark()
        last = self.last
        if (
            last is None
            or mark is None
            or (mark, config, keys) != (last.mark, last.config, last.keys)
        ):
            parts, missing = self._stored_parts(keys, config)
            last = self.last = _Last(keys, mark, config, parts, missing)
        if not last.missing:
            return last.parts
        prior = prior_baseline(to_epoch_minute(minute))
        batch = BaselineBatch.from_baselines([prior] * len(last.missing), config)
        return [*last.parts, _Part(batch, np.arange(len(last.missing)), np.asarray(last.missing))]

    def _stored_parts(self, keys: list[SeriesKey], config: DetectorConfig):
        """The runs over stored baselines, and the tick's series that have none."""
        stored = {
            (sid, country): (pk, digest)
            for sid, country, pk, digest in SeriesBaseline.objects.values_list(
                "service_id", "country", "id", "digest"
            )
        }
        used: dict[int, tuple[list[int], list[int]]] = {}
        missing: list[int] = []
        fresh: list[tuple[int, int, str]] = []  # tick index, baseline id, digest
        for i, key in enumerate(keys):
            row = stored.get(key)
            if row is None:
                missing.append(i)
                continue
            pk, digest = row
            at = self.where.get(key)
            if at is not None and digest and self.chunks[at[0]].digests[at[1]] == digest:
                rows, series = used.setdefault(at[0], ([], []))
                rows.append(at[1])
                series.append(i)
                continue
            if at is not None:
                self.chunks[at[0]].live[at[1]] = False
                del self.where[key]
            fresh.append((i, pk, digest))
        # Baselines of series the tick no longer sees stay, unused, until their chunk is rebuilt.
        for key in [k for k in self.where if k not in stored]:
            c, r = self.where.pop(key)
            self.chunks[c].live[r] = False
        self._add(keys, fresh, config, used)
        self._compact(keys, used, config)
        parts = [
            _Part(self.chunks[c].batch, np.asarray(rows), np.asarray(series))
            for c, (rows, series) in sorted(used.items())
        ]
        return parts, missing

    def _add(self, keys, fresh, config, used) -> None:
        if not fresh:
            return
        for start in range(0, len(fresh), CHUNK):
            block = fresh[start : start + CHUNK]
            self._append(
                [keys[i] for i, _, _ in block],
                [digest for _, _, digest in block],
                baselines_batch([pk for _, pk, _ in block], config),
                used,
                [i for i, _, _ in block],
            )

    def _append(self, chunk_keys, digests, batch, used, series) -> None:
        c = len(self.chunks)
        self.chunks.append(_Chunk(chunk_keys, digests, batch, np.ones(len(chunk_keys), bool)))
        for r, key in enumerate(chunk_keys):
            self.where[key] = (c, r)
        used[c] = (list(range(len(chunk_keys))), list(series))

    def _compact(self, keys, used, config) -> None:
        """Rebuild chunks that are mostly dead or unused, and merge small ones."""
        rebuild = [
            c
            for c, chunk in enumerate(self.chunks)
            if len(used.get(c, ((), ()))[0]) * 2 < len(chunk)
        ]
        small = [c for c, chunk in enumerate(self.chunks) if len(chunk) < SMALL]
        if len(small) > MAX_SMALL:
            rebuild = sorted(set(rebuild) | set(small))
        if not rebuild:
            return
        keep = [c for c in range(len(self.chunks)) if c not in set(rebuild)]
        old, old_used = self.chunks, used.copy()
        self.chunks, self.where = [], {}
        used.clear()
        for c in keep:  # unchanged, renumbered
            n = len(self.chunks)
            self.chunks.append(old[c])
            for r, key in enumerate(old[c].keys):
                if old[c].live[r]:
                    self.where[key] = (n, r)
            if c in old_used:
                used[n] = old_used[c]
        # The rows still in use, regrouped into chunks of at most CHUNK.
        pieces = [(old[c], *old_used[c]) for c in rebuild if c in old_used]
        rows = [(chunk, r, i) for chunk, rs, ss in pieces for r, i in zip(rs, ss, strict=True)]
        rows.sort(key=lambda item: item[2])
        for start in range(0, len(rows), CHUNK):
            block = rows[start : start + CHUNK]
            batch = _stack([(chunk.batch, r) for chunk, r, _ in block])
            self._append(
                [keys[i] for _, _, i in block],
                [chunk.digests[r] for chunk, r, _ in block],
                batch,
                used,
                [i for _, _, i in block],
            )


# The scalar parameters the tick needs, as typed columns of the stored JSON (baselines_batch).
_SCALARS = {
    "method": "text",
    "dispersion": "float8",
    "level_dispersion": "float8",
    "fitted_at": "int8",
    "growth_per_day": "float8",
    "max_extrapolation_days": "float8",
    "phase_moved": "bool",
    "utc_offset": "int8",
}


def baselines_batch(ids: list[int], config: DetectorConfig) -> BaselineBatch:
    """The stored baselines of these rows, in this order, as one batch.

    PostgreSQL: the database picks the scalar parameters out of the JSON as typed columns and
    each profile comes as its bytes, copied into one array: no JSON parsed and no Baseline
    made per row, which took most of the 18 s a worker's first tick spent on 100k baselines
    (bench/scale/README.md; parsing the profiles from JSON in Python took 40 s, in the
    database 63 s). A row without the bytes (written around save()) has its profile parsed by
    the database from the JSON. The values are those of SeriesBaseline.baseline() (tested).
    """
    if connection.vendor != "postgresql":
        by_pk = {row.pk: row for row in SeriesBaseline.objects.filter(id__in=ids)}
        return BaselineBatch.from_baselines([by_pk[pk].baseline() for pk in ids], config)
    batch = _batch_copied(ids, config) if ids else None
    if batch is not None:
        return batch
    table = connection.ops.quote_name(SeriesBaseline._meta.db_table)
    record = ", ".join(f"{name} {kind}" for name, kind in _SCALARS.items())
    rows: list[tuple] = []
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.adapters.register_loader(types["float8"].array_oid, _Float8Array)
        for start in range(0, len(ids), 2000):
            cursor.execute(
                f"SELECT b.id, b.profile, CASE WHEN b.profile IS NULL THEN"
                f" translate((b.params -> 'profile')::text, '[]', '{{}}')::float8[] END, r.*"
                f" FROM {table} b CROSS JOIN LATERAL jsonb_to_record(b.params) AS r({record})"
                f" WHERE b.id = ANY(%s)",
                [ids[start : start + 2000]],
                binary=True,
            )
            rows.extend(cursor.fetchall())
    if len(rows) != len(ids):
        raise LookupError("stored baselines went missing while they were read")
    at = {pk: i for i, pk in enumerate(ids)}
    rows.sort(key=lambda row: at[row[0]])
    pks, raws, parsed, *scalars = zip(*rows, strict=True) if rows else ((),) * (3 + len(_SCALARS))
    profiles = _profiles(pks, raws, parsed)
    columns = dict(zip(_SCALARS, (list(values) for values in scalars), strict=True))
    return BaselineBatch(
        profiles=profiles,
        dispersion=np.array(columns["dispersion"], dtype=np.float64),
        level_dispersion=np.array(
            [
                dispersion if level is None else level
                for dispersion, level in zip(
                    columns["dispersion"], columns["level_dispersion"], strict=True
                )
            ],
            dtype=np.float64,
        ),
        fitted_at=np.array(columns["fitted_at"], dtype=np.int64),
        growth_per_day=_filled(columns, "growth_per_day", np.float64),
        cold=np.array([_method(m) == "prior" for m in columns["method"]], dtype=bool),
        max_extrapolation_days=_filled(columns, "max_extrapolation_days", np.float64),
        phase_moved=_filled(columns, "phase_moved", bool),
        utc_offset=_filled(columns, "utc_offset", np.int64),
        phase_tolerance_minutes=config.phase.phase_tolerance_minutes,
    )


def _batch_copied(ids: list[int], config: DetectorConfig) -> BaselineBatch | None:
    """baselines_batch through one binary COPY whose rows are read where they lie as numpy
    records (bulk.copy_fixed): no Python object per row and no copy of a profile but the one
    into its place (byte-swapped on the way). The database fills in what a record written
    before a parameter existed means by its absence (OPTIONAL) and checks the method. Only
    when every row is of that one shape (the profile's bytes in the current layout, every
    required parameter there, a known method, every id found); otherwise None, and the rows'
    way reads them (and says what is wrong with one).
    """
    table = connection.ops.quote_name(SeriesBaseline._meta.db_table)
    record = ", ".join(f"{name} {kind}" for name, kind in _SCALARS.items())
    optional = ("growth_per_day", "max_extrapolation_days", "phase_moved", "utc_offset")
    sql = (
        "SELECT b.id, b.profile, r.dispersion, COALESCE(r.level_dispersion, r.dispersion),"
        " r.fitted_at, "
        + ", ".join(f"COALESCE(r.{name}, %s)" for name in optional)
        + ", r.method = 'prior', r.method = ANY(%s)"
        f" FROM {table} b CROSS JOIN LATERAL jsonb_to_record(b.params) AS r({record})"
        " WHERE b.id = ANY(%s)"
    )
    data = copy_out(sql, [*(OPTIONAL[name] for name in optional), list(METHODS), ids])
    f8, i8, flag = np.dtype(">f8"), np.dtype(">i8"), np.dtype("?")
    profile = np.dtype((PROFILE_DTYPE, (SLOTS_PER_WEEK,)))
    rows = copy_fixed(data, [i8, profile, f8, f8, i8, f8, f8, flag, i8, flag, flag])
    if rows is None or len(rows) != len(ids) or not rows["value10"].all():
        return None
    order = np.argsort(ids)
    place = order[np.searchsorted(np.asarray(ids)[order], rows["value0"])]
    if not (np.asarray(ids)[place] == rows["value0"]).all():
        return None

    def column(k: int, dtype: Any) -> np.ndarray:
        out = np.empty((len(ids), *rows[f"value{k}"].shape[1:]), dtype=dtype)
        out[place] = rows[f"value{k}"]
        return out

    profiles = column(1, PROFILE_FLOAT)
    profiles.setflags(write=False)
    return BaselineBatch(
        profiles=profiles,
        dispersion=column(2, np.float64),
        level_dispersion=column(3, np.float64),
        fitted_at=column(4, np.int64),
        growth_per_day=column(5, np.float64),
        max_extrapolation_days=column(6, np.float64),
        phase_moved=column(7, bool),
        utc_offset=column(8, np.int64),
        cold=column(9, bool),
        phase_tolerance_minutes=config.phase.phase_tolerance_minutes,
    )


def _profiles(pks: tuple, raws: tuple, parsed: tuple) -> np.ndarray:
    """(rows, SLOTS_PER_WEEK) of PROFILE_FLOAT: each row's stored bytes, or where it has none
    the database's parse of its JSON. Read-only and the batch's own (BaselineBatch takes it
    without a copy).

    Bytes of the current layout go straight into the one array they end in, which is then
    turned into native floats in place: each new 537 MB (100k series, double precision) cost
    about a second of a cold read (bench/scale/README.md), so no joined copy and no second
    array. Rows of the earlier layout, or without bytes, are converted one by one after."""
    size = SLOTS_PER_WEEK * PROFILE_DTYPE.itemsize
    profiles = np.empty((len(pks), SLOTS_PER_WEEK), dtype=PROFILE_FLOAT)
    # No view of an empty array: memoryview refuses a cast with a zero in its shape.
    target = profiles.reshape(-1).data.cast("B") if len(pks) else None
    others = []
    for k, raw in enumerate(raws):
        if target is not None and raw is not None and len(raw) == size:
            target[k * size : (k + 1) * size] = raw
        else:
            others.append(k)
    if profiles.dtype != PROFILE_DTYPE:  # stored big-endian: the bytes swapped
        profiles.byteswap(inplace=True)
    for k in others:
        raw = raws[k]
        try:
            profile = parsed[k] if raw is None else np.frombuffer(raw, profile_layout(len(raw)))
        except ValueError as error:
            raise ValueError(f"baseline {pks[k]}: {error}") from None
        if profile is None:
            raise ValueError(f"baseline {pks[k]}: no profile stored")
        if profile.shape != (SLOTS_PER_WEEK,):
            raise ValueError(f"baseline {pks[k]}: a profile of shape {profile.shape}")
        profiles[k] = profile
    profiles.setflags(write=False)
    return profiles


def _filled(columns: dict[str, list], name: str, dtype: Any) -> np.ndarray:
    """A column of an optional parameter, absent values as Baseline.from_dict reads them."""
    default = OPTIONAL[name]
    return np.array([default if v is None else v for v in columns[name]], dtype=dtype)


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    return method


class _Float8Array(Loader):
    """psycopg loader: a binary float8[] without NULLs as a numpy array (no Python floats)."""

    format = Format.BINARY

    def load(self, data) -> np.ndarray:
        data = bytes(data)
        ndim = int.from_bytes(data[:4], "big", signed=True)
        if ndim == 0:
            return np.zeros(0)
        dims = np.frombuffer(data, ">i4", count=2 * ndim, offset=12)[0::2]
        cells = np.frombuffer(
            data,
            dtype=[("length", ">i4"), ("value", ">f8")],
            count=int(np.prod(dims)),
            offset=12 + 8 * ndim,
        )
        if (cells["length"] != 8).any():
            raise ValueError("a NULL in a stored profile")
        return cells["value"].astype(np.float64)


def _stack(rows: list[tuple[BaselineBatch, int]]) -> BaselineBatch:
    """A batch of the given rows of other batches (their judged profiles are filtered anew)."""
    first = rows[0][0]
    # Per-series arrays are gathered; the rest (tolerances) are settings, the same for all.
    values: dict[str, Any] = {
        f.name: _gather(rows, f.name)
        if isinstance(getattr(first, f.name), np.ndarray)
        else getattr(first, f.name)
        for f in dataclasses.fields(BaselineBatch)
        if f.init
    }
    return BaselineBatch(**values)


def _gather(rows: list[tuple[BaselineBatch, int]], name: str) -> np.ndarray:
    groups: dict[int, tuple[BaselineBatch, list[int], list[int]]] = {}
    for j, (batch, r) in enumerate(rows):
        groups.setdefault(id(batch), (batch, [], []))
        groups[id(batch)][1].append(r)
        groups[id(batch)][2].append(j)
    sample = getattr(rows[0][0], name)
    out = np.empty((len(rows), *sample.shape[1:]), dtype=sample.dtype)
    for batch, rs, js in groups.values():
        out[js] = getattr(batch, name)[rs]
    out.setflags(write=False)  # handed over: the new batch takes it without a copy
    return out


_cache = BaselineCache()


def baseline_cache() -> BaselineCache:
    return _cache


def tick_run(
    parts: list[_Part],
    state: DetectorState,
    observed: np.ndarray,
    newest_minute: int,
    config: DetectorConfig,
    utc_offset: np.ndarray | None = None,
    unheard: bool = False,
    skipped_from: int | None = None,
    quiet_before: np.ndarray | None = None,
) -> TickResult:
    """run_tick over every part, the rows put back in the tick's order.

    utc_offset: each series' UTC offset (detection.clocks), (n,) now or (n, window) per
    window bucket when a clock changed inside the window; None where no clock is known.
    unheard: the minute's reports did not reach us; skipped_from: the minutes from there on
    were never judged; quiet_before: (n,) minutes each series was watched before its first
    report (run_tick).
    """
    n = len(state.state)
    if not parts:  # no series at all
        return run_tick(
            BaselineBatch.from_baselines([], config),
            state,
            observed,
            newest_minute,
            config,
            unheard=unheard,
            skipped_from=skipped_from,
        )
    if len(parts) == 1 and _whole(parts[0], n):
        return run_tick(
            parts[0].batch,
            state,
            observed,
            newest_minute,
            config,
            utc_offset=utc_offset,
            unheard=unheard,
            skipped_from=skipped_from,
            quiet_before=quiet_before,
        )
    results: list[tuple[np.ndarray | slice, Any]] = []
    for part in parts:
        m = len(part.batch)
        span = _span(part)
        if span is not None:  # the usual case: views of the tick's rows, nothing copied
            source: np.ndarray | slice = span
        else:
            # Every row of the batch runs; rows the tick does not need get a copy of a real one.
            source = np.full(m, part.series[0], dtype=np.int64)
            source[part.rows] = part.series
        result = run_tick(
            part.batch,
            state.take(source),
            observed[source],
            newest_minute,
            config,
            utc_offset=None if utc_offset is None else utc_offset[source],
            unheard=unheard,
            skipped_from=skipped_from,
            quiet_before=None if quiet_before is None else quiet_before[source],
        )
        results.append(
            (span, result) if span is not None else (part.series, _take(result, part.rows))
        )
    return _merge(n, results)


def _span(part: _Part) -> slice | None:
    """The tick's rows a part judges as one slice, when it judges every row of its batch in
    order and they are consecutive in the tick (a chunk built from a sorted tick is)."""
    m = len(part.batch)
    if len(part.rows) != m or m == 0:
        return None
    first = int(part.series[0])
    if np.array_equal(part.rows, np.arange(m)) and np.array_equal(
        part.series, np.arange(first, first + m)
    ):
        return slice(first, first + m)
    return None


def _whole(part: _Part, n: int) -> bool:
    return (
        len(part.batch) == n
        and np.array_equal(part.rows, np.arange(n))
        and np.array_equal(part.series, np.arange(n))
    )


def _take(value: Any, idx: np.ndarray) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value)(**{f.name: _take(getattr(value, f.name), idx)
                              for f in dataclasses.fields(value) if f.init})  # fmt: skip
    if isinstance(value, np.ndarray):
        return value[idx]
    return value


def _merge(n: int, parts: list[tuple[np.ndarray | slice, Any]]) -> Any:
    """One result of n rows from results of some rows each (row i of part k -> series[i])."""
    first = parts[0][1]
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        return type(first)(
            **{
                f.name: _merge(n, [(idx, getattr(v, f.name)) for idx, v in parts])
                for f in dataclasses.fields(first)
                if f.init
            }
        )
    if isinstance(first, np.ndarray):
        dtype = np.result_type(*[v for _, v in parts])
        widths = {v.shape[1:] for _, v in parts}
        if len(widths) != 1:
            raise ValueError(f"parts of different shapes: {widths}")
        out = np.empty((n, *first.shape[1:]), dtype=dtype)
        for idx, v in parts:
            out[idx] = v
        return out
    if first is None:
        if any(v is not None for _, v in parts):
            raise ValueError("a field is None in some parts only")
        return None
    if any(v != first for _, v in parts):
        raise ValueError(f"parts disagree on {first!r}")
    return first
