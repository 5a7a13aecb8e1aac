"""Short-term level tracking (detection.core.level)."""

import numpy as np

from detection.core import DetectorConfig, DetectorState
from detection.core.level import history_push, level_track, window_factors

CONFIG = DetectorConfig()


def test_a_lower_level_on_overdispersed_counts_is_followed():
    """A Poisson clipping band on NB noise clips the low side of a 15 % lower level as often
    as the high side and pulls the factor back towards 1; the NB band does not."""
    rng = np.random.default_rng(7)
    alpha, profile, n = 0.1, 40.0, 2000
    rate = 0.85 * profile * rng.gamma(1 / alpha, alpha, n)
    observed = rng.poisson(rate).astype(float)
    expected = np.full(n, profile)
    nb, _ = level_track(observed, expected, CONFIG, dispersion=alpha)
    poisson, _ = level_track(observed, expected, CONFIG, dispersion=0.0)
    assert abs(np.median(nb[1000:]) - 0.85) < 0.02
    assert np.median(poisson[1000:]) > np.median(nb[1000:]) + 0.02


def test_an_outage_barely_moves_the_level():
    observed = np.full(600, 40.0)
    observed[300:330] = 120.0  # +200 % for half an hour
    factors, _ = level_track(observed, np.full(600, 40.0), CONFIG, dispersion=0.1)
    # Followed, the factor would be 3; clipped at 2 sd a bucket it stays below +20 %.
    assert factors[330] < 1.2


def test_long_windows_take_the_factor_from_before_their_first_bucket():
    config = DetectorConfig.from_dict({"windows": [1, 3, 5], "level_lag_min_window": 3})
    history = np.array([[np.nan, 0.9, 0.95, 1.0]])  # longer than needed: the newest count
    factors = window_factors(history, np.array([1.1]), config)
    # 1 bucket: now; 3 buckets: two ticks ago; 5 buckets: unknown, so now.
    np.testing.assert_array_equal(factors, [[1.1, 0.95, 1.1]])


def test_history_keeps_the_newest_factors():
    config = DetectorConfig.from_dict({"windows": [1, 4]})
    history = DetectorState.initial(2).level_history
    for f in (1.0, 1.1, 1.2, 1.3):
        history = history_push(history, np.array([f, 2 * f]), config)
    np.testing.assert_allclose(history, [[1.1, 1.2, 1.3], [2.2, 2.4, 2.6]])
