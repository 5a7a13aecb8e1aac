"""The production tick reproduces detect_series row by row (pure numpy)."""

import numpy as np

from detection.core import (
    BaselineBatch,
    DetectorConfig,
    DetectorState,
    detect_series,
    fit_baseline,
    run_tick,
)
from detection.simulation import simulate_series

CONFIG = DetectorConfig(refit_minutes=10**9, early_refit_minutes=())


def test_tick_matches_offline_detector():
    s = simulate_series(seed=70, weeks=1.0, base_rate=3.0, outages_per_week=0)
    values = s.values.astype(float)
    fit_at = int(s.minutes[0]) + 4 * 1440
    start = 4 * 1440
    values[start + 100 : start + 130] += 12
    # Offline: one fit at fit_at (no other refits), then score every row after it.
    baseline = fit_baseline(s.minutes, values, fitted_at=fit_at, config=CONFIG)
    batch = BaselineBatch.from_baselines([baseline] * 2, CONFIG.shift_tolerance_minutes)
    state = DetectorState.initial(2)
    w = 60
    levels, expected = [], []
    for r in range(start, start + 300):
        obs = np.tile(values[r - w + 1 : r + 1], (2, 1))
        tick = run_tick(batch, state, obs, int(s.minutes[r]), CONFIG)
        state = tick.transition.state
        levels.append(int(tick.scores.level[0]))
        expected.append(float(tick.expected[1]))
    assert max(levels) == 2
    # Same numbers as the offline path scoring these rows with the same baseline.
    minutes = s.minutes[: start + 300]
    offline = _offline(minutes, values[: start + 300], baseline, start)
    np.testing.assert_allclose(expected, offline.expected[start:], rtol=1e-9)
    np.testing.assert_array_equal(levels, offline.level[start:])


def _offline(minutes, values, baseline, start):
    """detect_series with the baseline pinned: patch the fit via a config with no refits."""
    import detection.core.detector as det

    original = det.fit_baseline
    det.fit_baseline = lambda *a, **k: baseline
    try:
        # Level tracking starts from zero at the first row in both paths only if we start there.
        return detect_series(minutes[start - 60 :], values[start - 60 :], 1, CONFIG).__class__(
            *_shift(detect_series(minutes, values, 1, CONFIG), 0)
        )
    finally:
        det.fit_baseline = original


def _shift(result, _):
    return (
        result.minutes,
        result.expected,
        result.anomaly_score,
        result.is_anomaly,
        result.level,
        result.rule,
        result.outages,
    )
