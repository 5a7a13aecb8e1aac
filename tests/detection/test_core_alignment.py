"""The fit finds a clock change in its history and aligns the days before it
(detection.core.alignment)."""

import numpy as np
import pytest

from detection.core import DetectorConfig, alignment, fit_baseline
from detection.core.alignment import aligned_minutes
from tests.detection.dst_series import DAY, series_with_dst

CONFIG = DetectorConfig()


def hourly_error(baseline, minutes: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Tomorrow, hour by hour, against the newest pattern (it repeats daily)."""
    hourly = baseline.expected(minutes[-DAY:] + DAY).reshape(24, 60).mean(axis=1)
    return np.abs(hourly / rate[-DAY:].reshape(24, 60).mean(axis=1) - 1)


@pytest.mark.parametrize("shift", [-60, 60])
def test_days_before_the_change_are_moved_onto_the_new_phase(shift):
    minutes, values, _ = series_with_dst(shift, base=6.0, days=20, dst_day=10)
    aligned = aligned_minutes(minutes, values)
    assert aligned is not None
    # The change was at 02:00 on day 10 and the pattern runs `shift` minutes early since: the
    # days before it are moved back by the shift, the rest stay.
    assert np.all(aligned[: 10 * DAY] == minutes[: 10 * DAY] - shift)
    assert np.all(aligned[10 * DAY :] == minutes[10 * DAY :])


def test_no_clock_change_no_move():
    minutes, values, _ = series_with_dst(60, base=6.0, days=28, dst_day=100)
    assert aligned_minutes(minutes, values) is None


def test_one_odd_last_day_does_not_move_the_history():
    minutes, values, _ = series_with_dst(60, base=6.0, days=20, dst_day=19)
    assert aligned_minutes(minutes, values) is None
    # Two days after the change are enough at this volume.
    minutes, values, _ = series_with_dst(60, base=6.0, days=20, dst_day=18)
    assert aligned_minutes(minutes, values) is not None


def test_an_outage_left_in_the_history_neither_fakes_nor_hides_a_change():
    minutes, values, rate = series_with_dst(60, base=6.0, days=20, dst_day=100)
    outage = slice(12 * DAY + 10 * 60, 12 * DAY + 13 * 60)
    values[outage] += np.random.default_rng(4).poisson(10 * rate[outage])
    assert aligned_minutes(minutes, values) is None
    minutes, values, rate = series_with_dst(60, base=6.0, days=20, dst_day=10)
    values[outage] += np.random.default_rng(4).poisson(10 * rate[outage])
    assert aligned_minutes(minutes, values) is not None


def test_clock_change_in_the_middle_of_the_history_gives_a_sharp_fit(monkeypatch):
    """Half the history on each side: a fit on both blurs the curve by up to 20 %."""
    minutes, values, rate = series_with_dst(60, base=6.0, days=20, dst_day=10)
    fitted_at = int(minutes[-1]) + 1
    fitted = fit_baseline(minutes, values, fitted_at=fitted_at, config=CONFIG)
    assert fitted.phase_moved
    error = hourly_error(fitted, minutes, rate)
    monkeypatch.setattr(alignment, "PHASE_FIT_SWITCH_COST", 1e9)  # no change ever wins
    blurred = fit_baseline(minutes, values, fitted_at=fitted_at, config=CONFIG)
    assert not blurred.phase_moved
    old = hourly_error(blurred, minutes, rate)
    assert np.median(error) < 0.05 and np.median(old) > 0.08
    assert np.percentile(error, 75) < 0.5 * np.percentile(old, 75)


def test_a_history_too_short_to_confirm_a_change_is_left_alone():
    minutes, values, _ = series_with_dst(60, base=20.0, days=2, dst_day=1)
    assert aligned_minutes(minutes, values) is None


def test_hourly_buckets_are_aligned_too():
    minutes, values, _ = series_with_dst(60, base=20.0, days=20, dst_day=10)
    hours = minutes[::60]
    hourly = values.reshape(-1, 60).sum(axis=1)
    aligned = aligned_minutes(hours, hourly)
    assert aligned is not None and np.all(aligned[: 10 * 24] == hours[: 10 * 24] - 60)
