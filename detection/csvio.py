"""CSV in and out for the offline detector (`manage.py detect_series`). No Django here.

Real exports rarely sit on whole minutes (NAB's stamps are at :53 seconds), so a stamp is
read to the microsecond, only the steps between stamps must be whole minutes, and the
stamps are echoed as written. Each row is the bucket starting at its stamp floored to the
minute: all stamps share one offset within the minute, so flooring shifts them alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import numpy as np

from detection.core import DetectorConfig, SeriesResult, detect_series, zone_clock

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

INPUT_HEADER = ["timestamp", "value"]
OUTPUT_HEADER = ["timestamp", "value", "expected", "anomaly_score", "is_anomaly"]
MAX_STEP_MINUTES = 60
# A count of reports in one bucket. The largest outages on record drew about ten million
# reports in a day; far larger values are not counts, and from about 1e50 the baseline's
# arithmetic overflows and every later row would come out as nan.
MAX_COUNT = 1e12
# Plain decimal notation only: float() would also take "1_000", "inf" or other scripts' digits.
_DECIMAL = re.compile(r"\s*\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US_PER_MINUTE = 60_000_000


class SeriesFormatError(ValueError):
    """The input is not a `timestamp,value` series at a fixed spacing."""


@dataclass(frozen=True, eq=False)
class InputSeries:
    timestamps: list[str]  # as written in the input, echoed in the output
    minutes: np.ndarray  # int64 epoch minutes (stamps floored to the minute)
    values: np.ndarray  # float64
    step_minutes: int


def series_detect(
    handle: TextIO, config: DetectorConfig, zone: str | None = None
) -> tuple[InputSeries, SeriesResult]:
    """Read a series and run the core over it: the one path of detect_series and the bench.

    zone: the IANA zone whose clock the series' reporters live by (its clock changes are then
    known to the detector); ZoneInfoNotFoundError if there is no such zone.
    """
    clock = None
    series = series_read(handle)
    if zone and len(series.minutes):
        try:
            clock = zone_clock(zone, int(series.minutes[0]), int(series.minutes[-1]))
        except OverflowError:
            raise SeriesFormatError(
                f"the stamps ({series.timestamps[0]} to {series.timestamps[-1]}) lie outside the"
                f" years the time zone {zone}'s rules can place"
            ) from None
    result = detect_series(series.minutes, series.values, series.step_minutes, config, clock)
    return series, result


def series_read(handle: TextIO) -> InputSeries:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:  # not even a header line: 0 bytes (or only a byte-order mark)
        raise SeriesFormatError(f"the file is empty (expected the header {','.join(INPUT_HEADER)})")
    if [h.strip().lower() for h in header] != INPUT_HEADER:
        raise SeriesFormatError(f"line 1: header must be {','.join(INPUT_HEADER)}, got {header}")
    stamps: list[str] = []
    lines: list[int] = []  # file line of each row, for messages (blank lines are skipped)
    micros: list[int] = []
    values: list[float] = []
    zoned: bool | None = None  # whether the stamps carry a UTC offset, set by the first
    try:
        for row in reader:
            # The file's line (a quoted field may span several): where an editor finds it.
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 2:
                raise SeriesFormatError(f"line {line}: expected 2 columns, got {len(row)}")
            stamps.append(row[0].strip())
            lines.append(line)
            stamp, has_offset = _epoch_micros(row[0], line)
            if zoned is None:
                zoned = has_offset
            elif has_offset != zoned:
                # Naive stamps are read as UTC: beside stamps with an offset they are most
                # likely local times, silently shifted by the offset.
                raise SeriesFormatError(
                    f"line {line}: {row[0].strip()!r} "
                    + ("has a UTC offset" if has_offset else "has no UTC offset")
                    + " unlike the rows before it; give every stamp one, or none (UTC)"
                )
            micros.append(stamp)
            values.append(_count(row[1], line))
    except csv.Error as exc:  # an unbalanced quote runs on until the field limit
        raise SeriesFormatError(f"line {reader.line_num}: {exc}") from None
    if not micros:
        raise SeriesFormatError("the file has no rows")
    stamp_us = np.asarray(micros, dtype=np.int64)
    step = _step_minutes(stamp_us, lines, stamps, naive=not zoned)
    return InputSeries(stamps, stamp_us // _US_PER_MINUTE, np.asarray(values), step)


def series_write(handle: SupportsWrite[str], series: InputSeries, result: SeriesResult) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    for i, stamp in enumerate(series.timestamps):
        writer.writerow(
            [
                stamp,
                _number(series.values[i]),
                f"{result.expected[i]:.4f}",
                f"{result.anomaly_score[i]:.4f}",
                int(result.is_anomaly[i]),
            ]
        )


def _epoch_micros(text: str, line: int) -> tuple[int, bool]:
    """Microseconds since the epoch, exact (integers, so steps compare exactly), and whether
    the stamp carried a UTC offset."""
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise SeriesFormatError(f"line {line}: {text!r} is not an ISO 8601 timestamp") from None
    has_offset = stamp.tzinfo is not None
    if not has_offset:
        stamp = stamp.replace(tzinfo=dt.UTC)  # naive timestamps are taken as UTC
    return (stamp - _EPOCH) // dt.timedelta(microseconds=1), has_offset


def _count(text: str, line: int) -> float:
    if text.strip().startswith("-"):
        raise SeriesFormatError(f"line {line}: value {text!r} must be a count >= 0")
    decimal = _DECIMAL.fullmatch(text)
    if not decimal:
        raise SeriesFormatError(f"line {line}: value {text!r} is not a number")
    value = float(text)
    if value == 0 and decimal.group(1).strip("0."):  # 1e-400: not 0, but read as 0 silently
        raise SeriesFormatError(f"line {line}: value {text!r} is too small (it would be read as 0)")
    if value > MAX_COUNT:
        raise SeriesFormatError(
            f"line {line}: value {text!r} is not a count of reports (at most {MAX_COUNT:.0e})"
        )
    return value


def _step_minutes(stamp_us: np.ndarray, lines: list[int], stamps: list[str], *, naive: bool) -> int:
    """The file's spacing in whole minutes; refuses any row that breaks it, naming its line.

    The spacing is the most common step (the smallest on a tie), so one odd row is blamed
    rather than every row after it. A missing row is refused too: the core scores windows
    of consecutive rows, and the tick sees every bucket (zero when nothing was counted).
    naive: the stamps carry no UTC offset (read as UTC), so a jump of an hour may be a
    clock change in local-time stamps.
    """
    if len(stamp_us) < 2:
        return 1
    diffs = np.diff(stamp_us)
    steps, counts = np.unique(diffs, return_counts=True)
    step_us = int(steps[np.argmax(counts)])
    backwards = np.flatnonzero(diffs <= 0)
    if len(backwards):
        i = int(backwards[0]) + 1
        clock = _clock_change_hint(int(diffs[i - 1]), step_us) if naive else ""
        raise SeriesFormatError(
            f"line {lines[i]}: {stamps[i]!r} is not after the previous row "
            f"({stamps[i - 1]!r}); timestamps must increase at a fixed spacing{clock}"
        )
    if step_us % _US_PER_MINUTE or not 1 <= step_us // _US_PER_MINUTE <= MAX_STEP_MINUTES:
        i = int(np.flatnonzero(diffs == step_us)[0]) + 1
        raise SeriesFormatError(
            f"line {lines[i]}: {stamps[i]!r} is {_span(step_us)} after the previous row; "
            f"the spacing must be a whole number of minutes from 1 to {MAX_STEP_MINUTES}"
        )
    odd = np.flatnonzero(diffs != step_us)
    if len(odd):
        i = int(odd[0]) + 1
        gap = int(diffs[i - 1])
        missing = gap // step_us - 1 if gap % step_us == 0 else 0
        hint = _clock_change_hint(gap, step_us) if naive else ""
        if missing and not hint:
            hint = (
                f" ({missing} missing row{'s' if missing > 1 else ''}: write every row, "
                "0 where nothing was counted)"
            )
        raise SeriesFormatError(
            f"line {lines[i]}: {stamps[i]!r} is {_span(gap)} after the previous row; "
            f"this file's fixed spacing is {_span(step_us)}{hint}"
        )
    return step_us // _US_PER_MINUTE


def _clock_change_hint(gap_us: int, step_us: int) -> str:
    """What to do when a step is off the spacing by exactly an hour, one way or the other.

    That is what a daylight-saving change does to stamps written in local time without an
    offset (read as UTC): an hour skipped in spring, repeated in autumn. Inserting zero
    rows (the advice for missing rows) would then fabricate an hour of silence."""
    if abs(gap_us - step_us) != 60 * _US_PER_MINUTE:
        return ""
    return (
        "; stamps without a UTC offset are read as UTC, and this looks like a daylight-saving"
        " clock change in stamps written in local time: export the stamps with their UTC"
        " offset (e.g. 2024-03-31 03:00:00+02:00) rather than inserting or removing rows"
    )


def _span(micros: int) -> str:
    minutes = micros / _US_PER_MINUTE
    return "1 minute" if minutes == 1 else f"{minutes:g} minutes"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
