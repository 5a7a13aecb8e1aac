"""Reading the offline detector's CSV: any fixed whole-minute spacing, stamps off the minute."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import numpy as np
import pytest

from detection.csvio import SeriesFormatError, series_read

NAB_START = dt.datetime(2015, 2, 26, 21, 42, 53)  # NAB realTweets stamps sit at :53 seconds


def _csv(stamps: list[str], values: list[int] | None = None) -> StringIO:
    values = values or [1] * len(stamps)
    rows = "".join(f"{s},{v}\n" for s, v in zip(stamps, values, strict=True))
    return StringIO("timestamp,value\n" + rows)


def _stamps(step_minutes: int, n: int, start: dt.datetime = NAB_START) -> list[str]:
    return [str(start + dt.timedelta(minutes=step_minutes * i)) for i in range(n)]


@pytest.mark.parametrize("step", [1, 5, 7, 60])
def test_whole_minute_spacing_from_1_to_60_is_accepted(step):
    series = series_read(_csv(_stamps(step, 5)))
    assert series.step_minutes == step
    assert np.all(np.diff(series.minutes) == step)


def test_stamps_off_the_minute_are_kept_as_written_and_floored_to_their_bucket():
    stamps = _stamps(5, 3)
    series = series_read(_csv(stamps))
    assert series.timestamps == stamps  # '2015-02-26 21:42:53' ...
    first = dt.datetime(2015, 2, 26, 21, 42, tzinfo=dt.UTC)
    assert series.minutes[0] == int(first.timestamp()) // 60


def test_stamps_with_an_offset_or_fractional_seconds_are_read_exactly():
    series = series_read(_csv(["2015-02-26T22:42:53.250+01:00", "2015-02-26T22:47:53.250+01:00"]))
    assert series.step_minutes == 5
    assert (
        series.minutes[0] == int(dt.datetime(2015, 2, 26, 21, 42, tzinfo=dt.UTC).timestamp()) // 60
    )


def test_irregular_step_is_refused_naming_the_line_and_the_spacing():
    stamps = _stamps(5, 60)
    stamps[55:] = [str(NAB_START + dt.timedelta(minutes=5 * i + 2)) for i in range(55, 60)]
    with pytest.raises(SeriesFormatError) as error:
        series_read(_csv(stamps))
    assert str(error.value) == (
        "line 57: '2015-02-27 02:19:53' is 7 minutes after the previous row; "
        "this file's fixed spacing is 5 minutes"
    )


def test_a_missing_row_is_refused_and_named_as_missing():
    stamps = _stamps(5, 10)
    del stamps[4]
    with pytest.raises(SeriesFormatError, match=r"line 6: .* is 10 minutes .*\(1 missing row:"):
        series_read(_csv(stamps))


def test_blank_lines_do_not_shift_the_line_named():
    content = (
        "timestamp,value\n2026-11-02 00:00:00,1\n\n2026-11-02 00:01:00,1\n2026-11-02 00:03:00,1\n"
    )
    with pytest.raises(SeriesFormatError, match=r"^line 5: "):
        series_read(StringIO(content))


@pytest.mark.parametrize(
    ("step_seconds", "shown"), [(90 * 60, "90 minutes"), (90, "1.5 minutes"), (30, "0.5 minutes")]
)
def test_spacing_outside_1_to_60_whole_minutes_is_refused_with_the_line(step_seconds, shown):
    stamps = [str(NAB_START + dt.timedelta(seconds=step_seconds * i)) for i in range(4)]
    with pytest.raises(SeriesFormatError) as error:
        series_read(_csv(stamps))
    assert str(error.value).startswith(f"line 3: '{stamps[1]}' is {shown} after the previous row")
    assert "whole number of minutes from 1 to 60" in str(error.value)


def test_repeated_or_decreasing_stamps_are_refused_with_the_line():
    stamps = _stamps(5, 4)
    stamps[3] = stamps[2]
    with pytest.raises(SeriesFormatError, match=r"^line 5: .* is not after the previous row"):
        series_read(_csv(stamps))
