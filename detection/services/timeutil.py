"""Conversions between aware datetimes and the core's integer epoch minutes."""

from __future__ import annotations

import datetime as dt

import numpy as np

# A job cursor further ahead of the clock than this is a clock that jumped ahead (a VM
# resumed with a wrong clock, an NTP step), not two runs racing.
CLOCK_SLACK = dt.timedelta(minutes=2)

UTC = dt.UTC


def minute_floor(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC).replace(second=0, microsecond=0)


def hour_floor(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def to_epoch_minute(value: dt.datetime) -> int:
    return int(value.timestamp()) // 60


def from_epoch_minute(minute: int | np.integer) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(minute) * 60, tz=UTC)
