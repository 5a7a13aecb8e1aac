"""The detector's per-series memory on the database, read and written in bulk.

Each series' DetectorState is one versioned record (the core owns its fields:
DetectorState.to_records / from_records). It is stored as bytes, SeriesState.memory: a header
that names the layout (state version, then each field's name, numpy type and width), then the
numbers, little-endian. Reading n rows of one layout is one numpy call instead of n JSON parses
and n dict walks, which at 100k series a minute was most of the tick (bench/scale/README.md);
every number survives exactly, NaN included.

Nothing here names a field: the layout is taken from the DetectorState dataclass. Rows of any
other layout (written before a field was added, a width changed or the version was bumped) are
turned back into records and handed to DetectorState.from_records, so the core's own rules
for old records apply (a missing field starts initial, a calibration of another width starts
afresh). `states_decode(blobs)` is always exactly `DetectorState.from_records(records)` for the
records the blobs were made from.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from django.db import connection

from detection.core import DetectorState
from detection.core.state import STATE_VERSION

if TYPE_CHECKING:
    from detection.services.lasttick import LastTick

MAGIC = b"OWS1"
_LENGTH = struct.Struct("<H")
_FIELD = re.compile(r"^([a-z_][a-z0-9_]*)([<|>][a-z]\d+)(?:\*(\d+))?$")


@dataclass(frozen=True)
class Layout:
    """How one stored record is laid out: (name, numpy type, width of a row; None: a number)."""

    version: int
    fields: tuple[tuple[str, str, int | None], ...]

    @property
    def header(self) -> bytes:
        items = [f"{n}{k}{'' if w is None else f'*{w}'}" for n, k, w in self.fields]
        spec = ";".join([str(self.version), *items]).encode()
        return MAGIC + _LENGTH.pack(len(spec)) + spec

    @property
    def dtype(self) -> np.dtype:
        return np.dtype([(n, k) if w is None else (n, k, (w,)) for n, k, w in self.fields])

    @classmethod
    def parse(cls, header: bytes) -> Layout:
        spec = header[len(MAGIC) + _LENGTH.size :].decode().split(";")
        parsed = []
        for item in spec[1:]:
            match = _FIELD.match(item)
            if match is None:
                raise ValueError(f"bad state layout item {item!r}")
            name, kind, width = match.groups()
            parsed.append((name, kind, None if width is None else int(width)))
        return cls(version=int(spec[0]), fields=tuple(parsed))


def layout_of(state: DetectorState) -> Layout:
    """The layout `state` is stored in: every field, little-endian, at its current width."""
    return Layout(
        version=STATE_VERSION,
        fields=tuple(
            (f.name, _little(getattr(state, f.name)).dtype.str, _width(getattr(state, f.name)))
            for f in fields(DetectorState)
        ),
    )


def states_encode(state: DetectorState) -> list[memoryview]:
    """One stored value per series: views of one buffer, not a copy of each row (at 100k
    series the copies took 0.5 of the 0.7 s it cost)."""
    n = len(state.state)
    layout = layout_of(state)
    header = np.frombuffer(layout.header, dtype=np.uint8)
    parts = [np.broadcast_to(header, (n, len(header)))]
    for f in fields(DetectorState):
        column = np.ascontiguousarray(_little(getattr(state, f.name))).reshape(n, -1)
        parts.append(column.view(np.uint8).reshape(n, -1))
    table = np.concatenate(parts, axis=1)
    width = table.shape[1]
    data = table.data.cast("B")
    return [data[i * width : (i + 1) * width] for i in range(n)]


def _rows_copied(data: bytearray) -> Iterator[tuple[memoryview, memoryview, memoryview]]:
    from detection.services.bulk import copy_rows  # as _read_every imports bulk

    # The cast: no column is NULL (the keys are the table's; the WHERE leaves out empty
    # memories).
    return cast(Iterator[tuple[memoryview, memoryview, memoryview]], copy_rows(data))


def states_decode(blobs: list[bytes | memoryview | None]) -> DetectorState:
    """The state of len(blobs) series; None is a series never ticked.

    One numpy pass when every stored row has the current layout (the normal case); otherwise
    every row goes through its record and DetectorState.from_records.
    """
    n = len(blobs)
    stored = [i for i, blob in enumerate(blobs) if blob]
    if not stored:
        return DetectorState.initial(n)
    first_blob = blobs[stored[0]]
    assert first_blob  # `stored` holds the rows with one
    header = _header(first_blob)
    layout = Layout.parse(header)
    if _fast(layout):
        state = _decode_fast(blobs, stored, layout, header)
        if state is not None:
            return state
    return DetectorState.from_records([record_of(blob) if blob else None for blob in blobs])


def record_of(blob: bytes | memoryview) -> dict[str, Any]:
    """The record a stored value holds, as DetectorState.to_records wrote it (NaN in rows as
    None): for the admin and anyone reading one series."""
    blob = bytes(blob)
    header = _header(blob)
    layout = Layout.parse(header)
    row = np.frombuffer(blob, dtype=layout.dtype, offset=len(header), count=1)[0]
    record: dict[str, Any] = {"version": layout.version}
    for name, _, width in layout.fields:
        value = row[name]
        if width is not None:
            record[name] = [None if v != v else v for v in value.tolist()]
        else:
            record[name] = value.item()
    return record


def blob_of_record(record: dict[str, Any] | None) -> bytes:
    """A record (DetectorState.to_records) as the stored value; {} or None: a fresh series."""
    return bytes(states_encode(DetectorState.from_records([record or None]))[0])


# --- internals -------------------------------------------------------------------------------


def _little(values: np.ndarray) -> np.ndarray:
    return values.astype(values.dtype.newbyteorder("<"), copy=False)


def _width(values: np.ndarray) -> int | None:
    return int(values.shape[1]) if values.ndim == 2 else None


def _header(blob: bytes | memoryview) -> bytes:
    head = bytes(blob[: len(MAGIC) + _LENGTH.size])
    if head[: len(MAGIC)] != MAGIC:
        raise ValueError("not a stored detector state")
    (length,) = _LENGTH.unpack(head[len(MAGIC) :])
    return bytes(blob[: len(head) + length])


@cache
def _initial_layout() -> tuple[tuple[str, str, int | None], ...]:
    """Field, type and width of a fresh state: what the fast path may decode into."""
    initial = DetectorState.initial(1)
    return tuple(
        (f.name, _little(getattr(initial, f.name)).dtype.str, _width(getattr(initial, f.name)))
        for f in fields(DetectorState)
    )


@cache
def _fast(layout: Layout) -> bool:
    """Rows of this layout decode to exactly what from_records makes of their records.

    The same fields and types, the current version, and every row field either of the width
    a fresh state has or of a free width (fresh width 0: a series never ticked gets NaN there,
    as from_records pads it). A row of width 0 is an empty list in its record, which
    from_records reads as "nothing stored": only the records path gets that right.
    """
    if layout.version != STATE_VERSION:
        return False
    initial = _initial_layout()
    if [(name, kind) for name, kind, _ in layout.fields] != [(n, k) for n, k, _ in initial]:
        return False
    return all(
        width == fresh if fresh is None or fresh > 0 else width is not None and width > 0
        for (_, _, width), (_, _, fresh) in zip(layout.fields, initial, strict=True)
    )


def _decode_fast(
    blobs: list, stored: list[int], layout: Layout, header: bytes
) -> DetectorState | None:
    """The state in one numpy pass; None unless every stored row has exactly `header` (the
    layout of the first), which is checked on the joined rows rather than row by row."""
    size = len(header) + layout.dtype.itemsize
    present = [blobs[i] for i in stored]
    if any(len(blob) != size for blob in present):
        return None
    # The joined bytes viewed as (header, body) records: the fields are read where they lie
    # (each is copied once, in _placed) instead of the bodies first being copied out whole (at
    # 100k series 180 MB of new memory, which a fresh process pays for in page faults).
    records = np.frombuffer(b"".join(present), dtype=_record(layout, header))
    rows = _bodies(records, header)
    if rows is None:
        return None
    return _placed(len(blobs), rows, np.asarray(stored, dtype=np.int64), layout)


def _record(layout: Layout, header: bytes) -> np.dtype:
    """One stored value as a numpy record: its header's bytes, then the body."""
    return np.dtype(
        {
            "names": ["header", "body"],
            "formats": [(np.uint8, (len(header),)), layout.dtype],
            "offsets": [0, len(header)],
            "itemsize": len(header) + layout.dtype.itemsize,
        }
    )


def _bodies(records: np.ndarray, header: bytes) -> np.ndarray | None:
    """The records' bodies if every record has exactly `header`; else None."""
    if not (records["header"] == np.frombuffer(header, dtype=np.uint8)).all():
        return None
    return records["body"]


def _placed(
    n: int, rows: np.ndarray, idx: np.ndarray, layout: Layout, keep: np.ndarray | None = None
) -> DetectorState:
    """The state of n series: stored bodies `rows` (those of them `keep` marks, if given) at
    the distinct places `idx`, every other series fresh (a row field of free width NaN there,
    as from_records pads it)."""
    every = len(idx) == n  # as in a tick: no fresh state to fill in
    initial = DetectorState.initial(1 if every else n)
    values = {}
    for name, _, width in layout.fields:
        fresh = getattr(initial, name)
        column = rows[name] if keep is None else rows[name][keep]
        if every:
            out = np.empty((n, *column.shape[1:]), dtype=fresh.dtype)
        elif width is not None and fresh.shape[1] != width:
            out = np.full((n, width), np.nan, dtype=fresh.dtype)
        else:
            out = fresh.copy()
        out[idx] = column
        values[name] = out
    return DetectorState(**values)


# --- the database, or what this process's last tick wrote ----------------------------------


def states_load(keys: list, *, kept: LastTick | None) -> tuple[DetectorState, str]:
    """The stored state of every series of `keys`, and where it came from.

    `kept`: what this process's last tick left, if no other tick ran since (last_tick).
    Then the rows hold exactly the state it wrote, so that state is used as it is instead of
    reading and decoding it again (0.8 s a minute at 100k series, bench/scale/README.md).
    Otherwise, and for series that tick did not see, one query reads them. Either way the
    result is exactly `states_decode` of the stored bytes (tests/detection/test_tick_bulk.py).
    """
    if kept is None:
        return _read_every(keys), "database"
    if not _fast(layout_of(kept.state)):  # as its bytes would decode: through their records
        return _decoded_with(keys, _kept_blobs(kept)), "memory"
    if keys is kept.keys:  # the tick hands over the same list when its series are the same
        return kept.state, "memory"
    at = {key: i for i, key in enumerate(kept.keys)}
    pos = np.fromiter((at.get(key, -1) for key in keys), np.int64, len(keys))
    known = pos >= 0
    if known.all():
        return kept.state.take(pos), "memory"
    missing = [key for key, k in zip(keys, known, strict=True) if not k]
    stored = _read(missing)
    fresh = states_decode([stored.get(key) for key in missing])
    state = _joined(len(keys), kept.state.take(pos[known]), known, fresh)
    if state is None:  # the new rows are of another width: as the bytes would decode
        state = _decoded_with(keys, {**stored, **_kept_blobs(kept)})
    return state, "memory"


def _kept_blobs(kept: LastTick) -> dict:
    """The bytes the rows hold: the kept state encoded as the tick wrote it."""
    return dict(zip(kept.keys, states_encode(kept.state), strict=True))


def _decoded_with(keys: list, blobs: dict) -> DetectorState:
    return states_decode([blobs.get(key) for key in keys])


def _joined(
    n: int, known: DetectorState, where: np.ndarray, fresh: DetectorState
) -> DetectorState | None:
    """Rows `where` from `known`, the others from `fresh`, as one decode of both rows' bytes
    would give; None where it would not be that simple (a row field of two nonzero widths)."""
    values = {}
    for f in fields(DetectorState):
        a, b = getattr(known, f.name), getattr(fresh, f.name)
        if a.shape[1:] != b.shape[1:] and not (a.ndim == 2 and b.shape[1] == 0):
            return None
        out = np.empty((n, *a.shape[1:]), dtype=a.dtype)
        out[where] = a
        # A row field the new series never stored is NaN there, as the decode pads it.
        out[~where] = b if a.shape[1:] == b.shape[1:] else np.nan
        values[f.name] = out
    return DetectorState(**values)


def _read_every(keys: list) -> DetectorState:
    """states_decode of the stored bytes of `keys`, read with every other stored row.

    PostgreSQL: one binary COPY of (service, country number, bytes), whose rows, when they
    are all of one size and layout (the normal case), are decoded where they lie: no Python
    object per row, nor libpq's copy of the whole result beneath them: at 100k series 244 MB
    less at the read's peak (bench/scale/README.md). Rows of several layouts are read one by
    one and decoded through their records.
    """
    from detection.models import SeriesState
    from detection.services.bulk import copy_fixed, copy_out
    from detection.services.series import country_number_sql, series_index

    if connection.vendor != "postgresql" or not keys:
        stored = _read(None)
        return states_decode([stored.get(key) for key in keys])
    table = connection.ops.quote_name(SeriesState._meta.db_table)
    data = copy_out(
        f"SELECT service_id::bigint, {country_number_sql('country')}, memory FROM {table}"
        " WHERE octet_length(memory) > 0",
        [],
    )
    first = next(_rows_copied(data), None)
    if first is None:
        return DetectorState.initial(len(keys))
    header = _header(first[2])
    layout = Layout.parse(header)
    if _fast(layout):
        number = np.dtype(">i8")
        records = copy_fixed(data, [number, number, _record(layout, header)])
        rows = None if records is None else _bodies(records["value2"], header)
        if records is not None and rows is not None:
            at, found = series_index(keys, records["value0"], records["value1"])
            if not found.any():  # nothing of `keys` stored: no width to give a free field
                return DetectorState.initial(len(keys))
            every = found.all()
            return _placed(
                len(keys), rows, at if every else at[found], layout, None if every else found
            )
    copied = list(_rows_copied(data))
    at, found = series_index(
        keys,
        np.fromiter((int.from_bytes(row[0], "big") for row in copied), np.int64, len(copied)),
        np.fromiter((int.from_bytes(row[1], "big") for row in copied), np.int64, len(copied)),
    )
    blobs: list[bytes | None] = [None] * len(keys)
    for i, ok, row in zip(at.tolist(), found.tolist(), copied, strict=True):
        if ok:
            blobs[i] = bytes(row[2])
    return states_decode(blobs)


def _read(keys: list | None) -> dict:
    """key -> stored bytes, of `keys` (None: every row)."""
    from detection.models import OVERALL, SeriesState
    from detection.services.bulk import fetch_all

    rows = SeriesState.objects.exclude(memory=b"")
    if keys is not None:
        rows = rows.filter(service_id__in={sid for sid, _ in keys})
        wanted = set(keys)
    sql, params = rows.values_list("service_id", "country", "memory").query.sql_with_params()
    out = {}
    for sid, country, memory in fetch_all(sql, params):
        key = (sid, country or OVERALL)
        if memory and (keys is None or key in wanted):
            out[key] = bytes(memory)
    return out
