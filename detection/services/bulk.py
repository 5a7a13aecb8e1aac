"""Bulk writes of the tick: one upsert statement for many rows, without model instances.

PostgreSQL: the rows are COPied (binary) into a temporary table, then one `INSERT ... SELECT
... ON CONFLICT DO UPDATE` moves them, through a server-side-binding cursor on Django's
connection (Django's own cursor binds on the client and would spell 100k rows out as one SQL
literal). Elsewhere (SQLite): the same upsert through executemany. Either way it runs in the
caller's transaction. Reads of many plain rows (fetch_all) come in binary on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from django.db import connection, models

if TYPE_CHECKING:
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper


def upsert(
    model: type[models.Model],
    columns: Mapping[str, Sequence[Any]],
    *,
    unique: Sequence[str],
    constant: dict[str, Any] | None = None,
) -> int:
    """Insert or overwrite one row per index of `columns` (field name -> one value per row).

    unique: the fields of the unique constraint the rows conflict on; every other given field
    is overwritten. constant: fields with the same value in every row.
    """
    constant = constant or {}
    names = list(columns)
    n = _rows(columns)
    if n == 0:
        return 0
    table, fields, quoted = _named(model, [*names, *constant])
    target = ", ".join(quoted[name] for name in fields)
    conflict = ", ".join(connection.ops.quote_name(field_column(model, u)) for u in unique)
    update = ", ".join(
        f"{quoted[name]} = EXCLUDED.{quoted[name]}" for name in fields if name not in unique
    )
    if connection.vendor == "postgresql":
        return _upsert_copy(model, columns, fields, quoted, target, conflict, update, constant)
    marks = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {table} ({target}) VALUES ({marks})"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {update.replace('EXCLUDED.', 'excluded.')}"
    )
    fixed = [constant[name] for name in constant]
    rows = ((*row, *fixed) for row in zip(*(columns[name] for name in names), strict=True))
    with connection.cursor() as cursor:
        cursor.executemany(sql, _adapted(fields, list(fields), rows))
    return n


def _upsert_copy(model, columns, fields, quoted, target, conflict, update, constant) -> int:
    """PostgreSQL: COPY (binary) into a temporary table, then one INSERT ... ON CONFLICT.

    Measured at 100k rows of ~1 kB (bench/scale/README.md): 1.4 s, against 7-9 s for the same
    upsert reading the rows from unnest() of one array parameter per column.
    """
    names = list(columns)
    source = ", ".join(quoted[name] for name in names)
    table = connection.ops.quote_name(model._meta.db_table)
    constants = ", ".join(f"%s::{fields[name].db_type(connection)}" for name in constant)
    select = ", ".join(filter(None, [source, constants]))
    with server_cursor() as cursor:
        temp = _staged(cursor, table, columns, quoted)
        cursor.execute(
            f"INSERT INTO {table} ({target}) SELECT {select} FROM {temp}"
            f" ON CONFLICT ({conflict}) DO UPDATE SET {update}",
            [constant[name] for name in constant],
        )
        cursor.execute(f"DROP TABLE {temp}")
    return len(columns[names[0]])


def update(model: type[models.Model], columns: Mapping[str, Sequence[Any]], *, key: str) -> int:
    """Overwrite fields of existing rows: one row per index of `columns` (field name -> one
    value per row), found by its `key` field (unique). Rows that do not exist are skipped.

    Django's bulk_update spells each field as a CASE over every row of its batch: 1,000
    outages took 0.6-0.8 s in it. PostgreSQL: COPY into a temporary table, one UPDATE ...
    FROM it; elsewhere (SQLite): executemany.
    """
    names = list(columns)
    n = _rows(columns)
    if n == 0:
        return 0
    table, fields, quoted = _named(model, names)
    changed = [name for name in names if name != key]
    if connection.vendor == "postgresql":
        sets = ", ".join(f"{quoted[name]} = s.{quoted[name]}" for name in changed)
        with server_cursor() as cursor:
            temp = _staged(cursor, table, columns, quoted)
            cursor.execute(
                f"UPDATE {table} AS t SET {sets} FROM {temp} AS s"
                f" WHERE t.{quoted[key]} = s.{quoted[key]}"
            )
            cursor.execute(f"DROP TABLE {temp}")
        return n
    sets = ", ".join(f"{quoted[name]} = %s" for name in changed)
    order = [*changed, key]
    rows = zip(*(columns[name] for name in order), strict=True)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {sets} WHERE {quoted[key]} = %s", _adapted(fields, order, rows)
        )
    return n


def _rows(columns: Mapping[str, Sequence[Any]]) -> int:
    """How many rows the columns hold; ValueError unless they all hold as many."""
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError("columns of different lengths")
    return lengths.pop() if lengths else 0


def _named(model: type[models.Model], names: list[str]) -> tuple[str, dict, dict[str, str]]:
    """The model's table and these fields with their columns, quoted for SQL."""
    fields = {name: model._meta.get_field(name) for name in names}
    quoted = {name: connection.ops.quote_name(field_column(model, name)) for name in names}
    return connection.ops.quote_name(model._meta.db_table), fields, quoted


def field_column(model: type[models.Model], name: str) -> str:
    """The column of a concrete field (a relation's reverse side has none)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} has no column")
    return field.column


def _adapted(fields: dict, names: list[str], rows):
    """Rows of the fields `names`, in that order, as the SQLite driver takes them."""
    adapters = [_adapter(fields[name]) for name in names]
    return ([adapt(v) for adapt, v in zip(adapters, row, strict=True)] for row in rows)


def _staged(
    cursor, table: str, columns: Mapping[str, Sequence[Any]], quoted: dict[str, str]
) -> str:
    """PostgreSQL: the rows COPied (binary) into a new temporary table shaped as the target's
    columns; returns its name (dropped at commit at the latest)."""
    global _copies
    _copies += 1
    names = list(columns)
    temp = connection.ops.quote_name(f"_ow_staged_{_copies}")
    source = ", ".join(quoted[name] for name in names)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {source} FROM {table} WITH NO DATA"
    )
    types = _staged_like_target(cursor, temp, table)
    with cursor.copy(f"COPY {temp} ({source}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in zip(*(columns[name] for name in names), strict=True):
            copy.write_row(row)
    return temp


_copies = 0

# pg_attribute.attcompression (PostgreSQL 14+) -> the method's name in SET COMPRESSION.
_COMPRESSION = {"p": "pglz", "l": "lz4"}


def _staged_like_target(cursor, temp: str, target: str) -> list[int]:
    """The type of each column of the staging table, for a binary COPY; and each column
    compressed as the target's is. A value is compressed once, as it enters the staging table,
    and moves to the target as it is: the series states are compressed with lz4 (migration
    detection 0014), which writes them several times faster than the default pglz."""
    # PostgreSQL's connection (the cast: `connection` is typed as any backend's).
    has_compression = cast("PostgresWrapper", connection).pg_version >= 140000
    method = "s.attcompression" if has_compression else "''"
    cursor.execute(
        f"SELECT t.atttypid, t.attname, {method} FROM pg_attribute t"
        " JOIN pg_attribute s ON s.attrelid = %s::regclass AND s.attname = t.attname"
        " WHERE t.attrelid = %s::regclass AND t.attnum > 0 AND NOT t.attisdropped"
        " ORDER BY t.attnum",
        [target, temp],
    )
    rows = cursor.fetchall()
    for _, name, code in rows:
        if code in _COMPRESSION:
            quoted = connection.ops.quote_name(name)
            cursor.execute(
                f"ALTER TABLE {temp} ALTER COLUMN {quoted} SET COMPRESSION {_COMPRESSION[code]}"
            )
    return [oid for oid, _, _ in rows]


def _adapter(field: models.Field):
    """Python value -> what the SQLite driver takes, as Django's own save would store it."""
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else json.dumps(v)
    if isinstance(field, models.DateTimeField):
        return lambda v: (
            connection.ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else v
        )
    return lambda v: v


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple]:
    """All rows of a query, in the caller's transaction. On PostgreSQL the rows come in
    binary over a server-side-binding cursor: many rows of plain numbers load several times
    faster than through Django's cursor (text, bound on the client)."""
    if connection.vendor == "postgresql":
        with server_cursor() as cursor:
            cursor.execute(sql, params, binary=True)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, db_params(params))
        return cursor.fetchall()


def db_params(params: Sequence[Any]) -> list[Any]:
    """Raw SQL's parameters with each datetime as Django stores it (SQLite: UTC text without
    an offset): bound as Python's driver adapts them, they compare wrong."""
    return [
        connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime) else p
        for p in params
    ]


def server_cursor():
    """A psycopg cursor that binds parameters on the server (Django's binds on the client),
    on Django's connection, so in the caller's transaction."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def fetch_ints(sql: str, params: Sequence[Any], columns: int) -> np.ndarray:
    """(rows, columns) int64 of a query whose every column is an integer, never NULL.

    PostgreSQL: `COPY (query) TO STDOUT` in binary, read by numpy in one pass: no Python
    object per row (560k buckets at 100k series took 1.5 s as tuples). Elsewhere: fetchall.
    """
    if connection.vendor != "postgresql":
        rows = fetch_all(sql, params)
        return np.array(rows, dtype=np.int64).reshape(len(rows), columns)
    as_bigint = ", ".join(f"c{k}::bigint" for k in range(columns))
    names = ", ".join(f"c{k}" for k in range(columns))
    data = copy_out(f"SELECT {as_bigint} FROM ({sql}) AS q({names})", params)
    table = copy_fixed(data, [np.dtype(">i8")] * columns)
    if table is None:
        raise ValueError("COPY rows are not all integers")
    return np.stack([table[f"value{k}"].astype(np.int64) for k in range(columns)], axis=1)


def copy_out(sql: str, params: Sequence[Any]) -> bytearray:
    """The rows of a query as PostgreSQL's binary `COPY ... TO STDOUT` sends them, in the
    caller's transaction: read with copy_fixed (numpy records) or copy_rows (one by one)."""
    data = bytearray()
    query = f"COPY ({sql}) TO STDOUT (FORMAT BINARY)"
    with server_cursor() as cursor, cursor.copy(query, params) as copy:
        for block in copy:  # one row each: appended, not joined, so copied once
            data += block
    return data


def copy_fixed(data: bytes | bytearray, values: Sequence[np.dtype]) -> np.ndarray | None:
    """The rows of copy_out viewed where they lie as numpy records, fields "value0",
    "value1", ... of the given types, if every row has exactly these fields, none NULL, each
    as many bytes as its type; otherwise None (then copy_rows reads them).

    Exact, not a guess: the first row starts where the header ends, and a row whose field
    count and lengths read as expected ends where the next record of the view starts.
    """
    start = _copy_start(data)
    row = np.dtype(
        [("fields", ">i2")]
        + [
            (f"{part}{k}", t)
            for k, v in enumerate(values)
            for part, t in (("length", ">i4"), ("value", v))
        ]
    )
    size = len(data) - start - _TRAILER.size
    if size < 0 or size % row.itemsize or bytes(data[len(data) - _TRAILER.size :]) != _END:
        return None
    rows = np.frombuffer(data, dtype=row, offset=start, count=size // row.itemsize)
    if (rows["fields"] != len(values)).any():
        return None
    for k, v in enumerate(values):
        if (rows[f"length{k}"] != np.dtype(v).itemsize).any():
            return None
    return rows


def copy_rows(data: bytes | bytearray) -> Iterator[tuple[memoryview | None, ...]]:
    """Each row of copy_out as its fields' bytes (None: NULL), one at a time: any layout."""
    view = memoryview(data)
    at = _copy_start(data)
    while True:
        (count,) = _TRAILER.unpack_from(view, at)
        at += _TRAILER.size
        if count == -1:
            return
        row: list[memoryview | None] = []
        for _ in range(count):
            (length,) = _LENGTH.unpack_from(view, at)
            at += _LENGTH.size
            if length < 0:
                row.append(None)
                continue
            row.append(view[at : at + length])
            at += length
        yield tuple(row)


_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_TRAILER = struct.Struct(">h")  # a row's field count; -1 ends the data
_END = _TRAILER.pack(-1)
_LENGTH = struct.Struct(">i")


def _copy_start(data: bytes | bytearray) -> int:
    """Where the first row of binary COPY output starts: after the signature, the flags and
    the header extension."""
    if not bytes(data[: len(_SIGNATURE)]) == _SIGNATURE:
        raise ValueError("not COPY BINARY output")
    (extension,) = _LENGTH.unpack_from(data, len(_SIGNATURE) + 4)
    return len(_SIGNATURE) + 8 + extension
