"""Per-series calibration of the alarm threshold (no database, fixed seeds)."""

from __future__ import annotations

import math

import numpy as np

from detection.core import DetectorConfig
from detection.core.calibration import (
    CENSORED,
    EXCESS,
    OPEN,
    K,
    N,
    anomaly_score,
    initial,
    scan,
    threshold,
    update,
)

CONFIG = DetectorConfig()
FLOOR = -math.log10(CONFIG.p_outage)


def _bursty(rng, minutes: int, episodes_per_day: float, scale: float) -> np.ndarray:
    """Surprise of a series whose chatter bursts: episodes with heavy exponential peaks."""
    s = rng.exponential(0.3, minutes)  # ordinary minutes, well below u
    starts = np.flatnonzero(rng.random(minutes) < episodes_per_day / 1440)
    for start in starts:
        s[start : start + 5] = CONFIG.calibration_level + rng.exponential(scale)
    return s


def test_a_new_series_alarms_at_the_models_own_threshold():
    assert threshold(initial(3), CONFIG, 1).tolist() == [FLOOR] * 3


def test_a_calm_series_keeps_the_models_threshold():
    rng = np.random.default_rng(1)
    limits, _, _ = scan(initial(1)[0], _bursty(rng, 28 * 1440, 2, 0.3), CONFIG, 1)
    assert limits[-1] == FLOOR


def test_a_bursty_series_raises_its_threshold_to_hold_the_budget():
    rng = np.random.default_rng(2)
    surprise = _bursty(rng, 56 * 1440, 6, 4.0)
    limits, _, _ = scan(initial(1)[0], surprise, CONFIG, 1)
    assert limits[-1] > FLOOR + 5
    # Over the second month the series alarms about as often as its budget allows, where a
    # fixed threshold would have alarmed on most of its bursts.
    late = slice(28 * 1440, None)
    episodes = np.diff((surprise[late] >= limits[late]).astype(int)) == 1
    fixed = np.diff((surprise[late] >= FLOOR).astype(int)) == 1
    assert episodes.sum() <= 3 * CONFIG.alarms_per_month
    assert fixed.sum() > 50


def test_alarms_do_not_teach_a_series_that_outages_are_normal():
    rng = np.random.default_rng(3)
    calm = _bursty(rng, 14 * 1440, 2, 0.3)
    before = scan(initial(1)[0], calm, CONFIG, 1)[2]
    outage = np.full(180, 40.0)  # three hours far above any threshold
    limits, _, after = scan(before, np.concatenate([outage, calm[:60]]), CONFIG, 1)
    assert limits[-1] == FLOOR
    # The outage counted as no episode of the series' own: its count only decayed.
    decayed = before[K] * math.exp(-240 / (CONFIG.calibration_days * 1440))
    assert math.isclose(after[K], decayed, rel_tol=1e-12)


def test_an_episode_is_one_observation_worth_its_peak():
    cal = initial(1)
    limit = np.array([FLOOR])
    for s in (3.0, 4.5, 3.5):  # one burst over three buckets, above u = 2
        cal = update(cal, np.array([s]), limit, CONFIG, 1)
    assert cal[0, OPEN] == 1 and cal[0, K] == 0
    cal = update(cal, np.array([0.5]), limit, CONFIG, 1)
    assert cal[0, OPEN] == 0 and cal[0, K] == 1 and cal[0, CENSORED] == 0
    assert math.isclose(cal[0, EXCESS], 4.5 - CONFIG.calibration_level)
    assert math.isclose(cal[0, N], sum(math.exp(-k / (28 * 1440)) for k in range(4)))


def test_unjudged_buckets_change_nothing():
    cal = np.array([[100.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0]])
    same = update(cal, np.array([9.0]), np.array([FLOOR]), CONFIG, 1, np.array([False]))
    assert (same == cal).all()


def test_the_score_ranks_and_is_one_half_at_the_budget():
    rng = np.random.default_rng(4)
    cal = scan(initial(1)[0], _bursty(rng, 28 * 1440, 6, 4.0), CONFIG, 1)[2]
    surprise = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 300.0])
    score = anomaly_score(surprise, np.repeat(cal[None, :], 6, axis=0), CONFIG, 1)
    assert (np.diff(score) > 0).all() and score[0] == 0.0 and score[-1] < 1.0
    at_limit = anomaly_score(threshold(cal[None, :], CONFIG, 1), cal[None, :], CONFIG, 1)
    assert math.isclose(at_limit[0], 0.5, abs_tol=1e-9)
    # An ordinary burst of this bursty series is far from certain to be an outage.
    assert score[3] < 0.5
