"""CSV in and out for the offline detector (`manage.py detect_series`). No Django here."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from detection.core import SeriesResult

INPUT_HEADER = ["timestamp", "value"]
OUTPUT_HEADER = ["timestamp", "value", "expected", "anomaly_score", "is_anomaly"]
MAX_STEP_MINUTES = 60


class SeriesFormatError(ValueError):
    """The input is not a `timestamp,value` series at a fixed spacing."""


@dataclass(frozen=True, eq=False)
class InputSeries:
    timestamps: list[str]  # as written in the input, echoed in the output
    minutes: np.ndarray  # int64 epoch minutes
    values: np.ndarray  # float64
    step_minutes: int


def series_read(handle: TextIO) -> InputSeries:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != INPUT_HEADER:
        raise SeriesFormatError(f"line 1: header must be {','.join(INPUT_HEADER)}, got {header}")
    stamps: list[str] = []
    minutes: list[int] = []
    values: list[float] = []
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise SeriesFormatError(f"line {line}: expected 2 columns, got {len(row)}")
        stamps.append(row[0].strip())
        minutes.append(_epoch_minute(row[0], line))
        values.append(_count(row[1], line))
    if not minutes:
        raise SeriesFormatError("the file has no rows")
    minute_array = np.asarray(minutes, dtype=np.int64)
    return InputSeries(stamps, minute_array, np.asarray(values), _step(minute_array))


def series_write(handle: TextIO, series: InputSeries, result: SeriesResult) -> None:
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


def _epoch_minute(text: str, line: int) -> int:
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise SeriesFormatError(f"line {line}: {text!r} is not an ISO 8601 timestamp") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)  # naive timestamps are taken as UTC
    seconds = stamp.timestamp()
    if seconds % 60:
        raise SeriesFormatError(f"line {line}: {text!r} is not on a whole minute")
    return int(seconds) // 60


def _count(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SeriesFormatError(f"line {line}: value {text!r} is not a number") from None
    if not np.isfinite(value) or value < 0:
        raise SeriesFormatError(f"line {line}: value {text!r} must be a count >= 0")
    return value


def _step(minutes: np.ndarray) -> int:
    if len(minutes) < 2:
        return 1
    diffs = np.diff(minutes)
    step = int(diffs[0])
    bad = np.flatnonzero(diffs != step)
    if step <= 0 or len(bad):
        line = int(bad[0]) + 3 if len(bad) else 3
        raise SeriesFormatError(
            f"line {line}: timestamps must increase at a fixed spacing ({step} min before)"
        )
    if not 1 <= step <= MAX_STEP_MINUTES:
        raise SeriesFormatError(f"spacing of {step} minutes is outside 1 to 60 minutes")
    return step


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
