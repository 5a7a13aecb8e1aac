"""Synthetic series with a daylight-saving change, shared by the phase and alignment tests."""

import numpy as np

DAY = 1440
START = 29_000_160  # midnight UTC (epoch minutes)
DST_DAY = 15


def daily_rate(minutes: np.ndarray, base: float) -> np.ndarray:
    """A steep daily curve: quiet nights, a peak at 14:00 UTC (about x1.5 an hour on the rise)."""
    hour = np.mod(minutes, DAY) / 60.0
    bump = (0.5 * (1 + np.cos(2 * np.pi * (hour - 14.0) / 24.0))) ** 3
    return base * (0.15 + 0.85 * bump)


def series_with_dst(
    shift: int,
    base: float = 12.0,
    days: int = 21,
    seed: int = 1,
    dst_day: int = DST_DAY,
    dst_shift_minute: int = 120,
):
    """Poisson counts; from 02:00 (dst_shift_minute) on dst_day the pattern runs `shift`
    minutes early."""
    minutes = START + np.arange(days * DAY, dtype=np.int64)
    dst = START + dst_day * DAY + dst_shift_minute
    read_at = np.where(minutes >= dst, minutes + shift, minutes)
    rate = daily_rate(read_at, base)
    values = np.random.default_rng(seed).poisson(rate).astype(float)
    return minutes, values, rate
