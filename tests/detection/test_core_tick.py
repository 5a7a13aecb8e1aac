"""The production tick reproduces detect_series row by row (pure numpy)."""

import numpy as np

import detection.core.detector as detector_module
from detection.core import (
    BaselineBatch,
    DetectorConfig,
    DetectorState,
    detect_series,
    fit_baseline,
    run_tick,
)
from detection.simulation import simulate_series

CONFIG = DetectorConfig()
W = 60


def test_tick_matches_offline_detector(monkeypatch):
    s = simulate_series(seed=70, weeks=1.0, base_rate=3.0, outages_per_week=0)
    values = s.values.astype(float)
    fit_at = int(s.minutes[0]) + 4 * 1440
    values[4 * 1440 + 100 : 4 * 1440 + 130] += 12
    baseline = fit_baseline(s.minutes, values, fitted_at=fit_at, config=CONFIG)
    # Offline on a slice, with every refit pinned to the same baseline.
    monkeypatch.setattr(detector_module, "fit_baseline", lambda *a, **k: baseline)
    rows = slice(4 * 1440 - 200, 4 * 1440 + 300)
    minutes, vals = s.minutes[rows], values[rows]
    offline = detect_series(minutes, vals, 1, CONFIG)

    batch = BaselineBatch.from_baselines([baseline] * 2, CONFIG.shift_tolerance_minutes)
    state = DetectorState.initial(2)
    padded = np.concatenate((np.zeros(W - 1), vals))
    levels, expected, anomaly = [], [], []
    for r in range(len(minutes)):
        obs = np.tile(padded[r : r + W], (2, 1))
        tick = run_tick(batch, state, obs, int(minutes[r]), CONFIG)
        state = tick.transition.state
        levels.append(int(tick.scores.level[0]))
        expected.append(float(tick.expected[1]))
        anomaly.append(int(state.state[0] == 2))
    assert max(levels) == 2
    # Rows whose windows lie fully inside the slice are scored identically.
    np.testing.assert_allclose(expected[W:], offline.expected[W:], rtol=1e-9)
    np.testing.assert_array_equal(levels[W:], offline.level[W:])
    np.testing.assert_array_equal(anomaly, offline.is_anomaly)
