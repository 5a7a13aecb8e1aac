"""detection.services.bulk's binary COPY reads (PostgreSQL): rows viewed where they lie as
numpy records when every row has the same fields and sizes, one by one otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from detection.services.bulk import copy_fixed, copy_out, copy_rows, fetch_ints

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY"),
]

ROWS = "SELECT * FROM (VALUES (1::bigint, %s::bytea), (-2, %s), (3, %s)) AS t(a, b)"


def test_rows_of_one_layout_are_viewed_as_records():
    data = copy_out(ROWS, [b"abc", b"\x00\xffz", b"xyz"])
    rows = copy_fixed(data, [np.dtype(">i8"), np.dtype((np.uint8, (3,)))])
    assert rows is not None
    assert rows["value0"].tolist() == [1, -2, 3]
    assert [bytes(v) for v in rows["value1"]] == [b"abc", b"\x00\xffz", b"xyz"]
    # The same bytes one row at a time.
    assert [(int.from_bytes(a, "big", signed=True), bytes(b)) for a, b in copy_rows(data)] == [
        (1, b"abc"), (-2, b"\x00\xffz"), (3, b"xyz")
    ]  # fmt: skip


@pytest.mark.parametrize(
    "values",
    [
        [b"abc", b"abcd", b"ab"],  # lengths that cancel out: the total is of three rows of 3
        [b"abc", None, b"xyz"],  # a NULL
        [b"abc", b"abc", b"abcdef"],
    ],
)
def test_rows_of_other_sizes_are_not_viewed_but_read_one_by_one(values):
    data = copy_out(ROWS, values)
    assert copy_fixed(data, [np.dtype(">i8"), np.dtype((np.uint8, (3,)))]) is None
    got = [None if b is None else bytes(b) for _, b in copy_rows(data)]
    assert got == values


def test_no_rows_and_the_wrong_number_of_fields():
    empty = copy_out("SELECT 1::bigint WHERE false", [])
    assert copy_fixed(empty, [np.dtype(">i8")]).shape == (0,)
    assert list(copy_rows(empty)) == []
    two = copy_out("SELECT 1::bigint, 2::bigint", [])
    assert copy_fixed(two, [np.dtype(">i8")]) is None
    assert copy_fixed(two, [np.dtype(">i8")] * 3) is None
    with pytest.raises(ValueError):
        copy_fixed(b"not COPY output", [np.dtype(">i8")])


def test_fetch_ints_reads_integer_columns_and_refuses_others():
    got = fetch_ints("SELECT a, a * 10 FROM generate_series(1, 4) AS a", [], 2)
    np.testing.assert_array_equal(got, [[1, 10], [2, 20], [3, 30], [4, 40]])
    assert got.dtype == np.int64
    with pytest.raises(ValueError, match="not all integers"):
        fetch_ints("SELECT NULL::int", [], 1)
