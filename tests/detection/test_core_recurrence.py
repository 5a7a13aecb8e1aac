"""Excess flagged at the same hour of the week in consecutive weeks is learned, not left out."""

import numpy as np
import pytest

from detection.core import DetectorConfig, fit_baseline
from detection.core.recurrence import recurring
from detection.core.timegrid import minute_of_week
from detection.simulation import simulate_series

WEEK = 7 * 1440
CONFIG = DetectorConfig()


def test_an_hour_flagged_in_two_weeks_is_kept_one_flagged_once_is_left_out():
    minutes = np.arange(3 * WEEK, dtype=np.int64) + 24_000 * WEEK  # whole weeks
    excluded = np.zeros(len(minutes), bool)
    excluded[2 * 1440 + 600 : 2 * 1440 + 660] = True  # week 0, its third day 10:00-11:00 UTC
    excluded[WEEK + 2 * 1440 + 610 : WEEK + 2 * 1440 + 650] = True  # week 1, the same hour
    excluded[2 * WEEK + 4 * 1440 + 300 : 2 * WEEK + 4 * 1440 + 400] = True  # week 2, another hour
    kept = recurring(minutes, excluded)
    assert kept[2 * 1440 + 600 : 2 * 1440 + 660].all()
    assert kept[WEEK + 2 * 1440 + 610 : WEEK + 2 * 1440 + 650].all()
    assert not kept[2 * WEEK + 4 * 1440 + 300 : 2 * WEEK + 4 * 1440 + 400].any()
    assert not kept[~excluded].any()


def test_the_same_hour_flagged_two_weeks_apart_is_chance_and_stays_out():
    minutes = np.arange(3 * WEEK, dtype=np.int64) + 24_000 * WEEK
    excluded = np.zeros(len(minutes), bool)
    excluded[1440 + 600 : 1440 + 700] = True  # week 0, its second day 10:00 UTC
    excluded[2 * WEEK + 1440 + 620 : 2 * WEEK + 1440 + 680] = True  # week 2, the same hour
    assert not recurring(minutes, excluded).any()


def test_nothing_excluded_keeps_nothing():
    minutes = np.arange(1440, dtype=np.int64)
    assert not recurring(minutes, np.zeros(1440, bool)).any()


def _weekly_rush(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four weeks at 20/min with an hour of +60 % every Sunday evening the profile must learn."""
    s = simulate_series(
        seed=seed,
        weeks=4,
        base_rate=20.0,
        outages_per_week=0,
        gaps_per_week=0,
        bumps_per_day=0,
        floods_per_week=0,
    )
    values = s.values.astype(float)
    rush = minute_of_week(s.minutes) // 60 == 6 * 24 + 20  # Sundays 20:00-21:00 UTC
    values[rush] *= 1.6
    return s.minutes, values, rush


def test_a_weekly_rush_flagged_every_week_is_learned():
    # A one-off excess flagged once stays out of the fit
    # (test_core_baseline.py::test_excluded_minutes_are_not_learned).
    minutes, values, rush = _weekly_rush(7)
    fit_at = int(minutes[-1]) + 1
    baseline = fit_baseline(minutes, values, fitted_at=fit_at, exclude=rush, config=CONFIG)
    last = np.flatnonzero(rush)[-60:]
    plain = values.copy()
    plain[rush] /= 1.6
    without = fit_baseline(minutes, plain, fitted_at=fit_at, config=CONFIG)
    # The last week's rush hour as the fits expect it a week later.
    at = minutes[last] + WEEK
    assert baseline.expected(at).sum() == pytest.approx(values[last].sum(), rel=0.2)
    assert baseline.expected(at).sum() > 1.2 * without.expected(at).sum()
