"""Per-series calibration of the alarm threshold (no database, fixed seeds)."""

from __future__ import annotations

import math

import numpy as np

from detection.core import DetectorConfig
from detection.core.calibration import (
    CENSORED,
    EXCESS,
    OPEN,
    WIDTH,
    K,
    N,
    Params,
    initial,
    scan,
    step,
    tick_step,
)

CONFIG = DetectorConfig()
FLOOR = -math.log10(CONFIG.p_outage)
P = Params.of(CONFIG, 1)


def _bursty(rng, minutes: int, episodes_per_day: float, scale: float) -> np.ndarray:
    """Surprise of a series whose chatter bursts: episodes with heavy-tailed peaks."""
    s = rng.exponential(0.3, minutes)  # ordinary minutes, well below u
    starts = np.flatnonzero(rng.random(minutes) < episodes_per_day / 1440)
    for start in starts:
        s[start : start + 5] = CONFIG.calibration_level + rng.pareto(3.0) * scale
    return s


def _scan(surprise, cal=None):
    return scan(initial(1)[0] if cal is None else cal, surprise, None, CONFIG, 1)


def test_a_new_series_alarms_at_the_models_own_threshold():
    limits, _, _ = tick_step(initial(3), np.zeros(3), np.ones(3, bool), CONFIG, 1)
    assert limits.tolist() == [FLOOR] * 3


def test_a_calm_series_keeps_the_models_threshold():
    limits, _, _ = _scan(_bursty(np.random.default_rng(1), 28 * 1440, 2, 0.2))
    assert limits[-1] == FLOOR


def test_a_bursty_series_raises_its_threshold_to_hold_the_budget():
    surprise = _bursty(np.random.default_rng(2), 56 * 1440, 6, 6.0)
    limits, _, _ = _scan(surprise)
    assert limits[-1] > FLOOR + 3
    # Over the second month the series alarms about as often as its budget allows, where a
    # fixed threshold would have alarmed on many of its bursts.
    late = slice(28 * 1440, None)
    episodes = np.diff((surprise[late] >= limits[late]).astype(int)) == 1
    fixed = np.diff((surprise[late] >= FLOOR).astype(int)) == 1
    assert episodes.sum() <= 3 * CONFIG.alarms_per_month
    assert fixed.sum() > 30


def test_alarms_do_not_teach_a_series_that_outages_are_normal():
    calm = _bursty(np.random.default_rng(3), 14 * 1440, 2, 0.2)
    before = _scan(calm)[2]
    outage = np.full(180, 40.0)  # three hours far above any threshold
    limits, _, after = _scan(np.concatenate([outage, calm[:60]]), before)
    assert limits[-1] == FLOOR
    # The outage counted as no episode of the series' own: the count only decayed.
    decayed = before[K] * math.exp(-240 / (CONFIG.calibration_days * 1440))
    assert math.isclose(after[K], decayed, rel_tol=1e-12)


def test_an_episode_is_one_observation_worth_its_peak():
    cal = initial(1)[0].tolist()
    for s in (3.0, 4.5, 3.5):  # one burst over three buckets, above u = 2
        step(cal, s, True, P)
    assert cal[OPEN] == 1 and cal[K] == 0
    step(cal, 0.5, True, P)
    assert cal[OPEN] == 0 and cal[K] == 1 and cal[CENSORED] == 0
    assert math.isclose(cal[EXCESS], 4.5 - CONFIG.calibration_level)
    assert math.isclose(cal[N], sum(math.exp(-k / (28 * 1440)) for k in range(4)))


def test_unjudged_buckets_change_nothing():
    cal = [100.0, 2.0, 0.0, 3.0, 5.0, 0.0, 0.0, 0.0]
    step(cal, 9.0, False, P)
    assert cal == [100.0, 2.0, 0.0, 3.0, 5.0, 0.0, 0.0, 0.0]


def test_the_tick_and_the_offline_scan_take_the_same_steps():
    surprise = _bursty(np.random.default_rng(5), 3 * 1440, 6, 6.0)
    limits, scores, _ = _scan(surprise)
    cal = initial(2)
    for i, s in enumerate(surprise[:200]):
        tick_limits, tick_scores, cal = tick_step(
            cal, np.array([s, 0.0]), np.array([True, True]), CONFIG, 1
        )
        assert tick_limits[0] == limits[i] and tick_scores[0] == scores[i]
    assert cal.shape == (2, WIDTH)


def test_the_score_ranks_and_is_one_half_at_the_budget():
    cal = _scan(_bursty(np.random.default_rng(4), 28 * 1440, 6, 6.0))[2]
    surprise = [0.0, 1.0, 3.0, 10.0, 30.0, 300.0]
    scores = [step(cal.tolist(), s, False, P)[1] for s in surprise]
    assert (np.diff(scores) > 0).all() and scores[0] == 0.0 and scores[-1] < 1.0
    limit = step(cal.tolist(), 0.0, False, P)[0]
    assert math.isclose(step(cal.tolist(), limit, False, P)[1], 0.5, abs_tol=1e-9)
    # An ordinary burst of this bursty series is far from certain to be an outage.
    assert scores[3] < 0.5
