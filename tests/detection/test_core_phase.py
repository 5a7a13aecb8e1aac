"""Daily phase tracking (detection.core.phase): daylight saving without a blunt tolerance."""

import numpy as np
import pytest

from detection.core import DetectorConfig, detect_series, fit_baseline, phase
from detection.core.phase import (
    PHASE_BLOCK_MAX_GAIN,
    PHASE_MINUS,
    PHASE_PLUS,
    PHASE_UNDECIDED,
    PHASE_ZERO,
    block_evidence,
    phase_decide,
    phase_rebased,
)
from tests.detection.dst_series import DAY, DST_DAY, START, daily_rate, series_with_dst

CONFIG = DetectorConfig()


def test_decide_needs_one_clear_winner():
    minus = np.array([0.0, -12.0, 9.0, -12.0, 3.0, 6.0, -4.5])
    plus = np.array([0.0, -12.0, -12.0, 10.0, -12.0, -12.0, -12.0])
    assert phase_decide(minus, plus).tolist() == [
        PHASE_UNDECIDED,  # no evidence yet
        PHASE_ZERO,
        PHASE_MINUS,
        PHASE_PLUS,
        PHASE_UNDECIDED,  # minus leads, but not by the margin
        PHASE_UNDECIDED,  # by the margin, but a clock change needs more (PHASE_SHIFT_PRIOR)
        PHASE_ZERO,  # on time needs only the margin
    ]


def test_block_evidence_favours_the_shift_that_fits():
    minutes = START + 10 * 60 + np.arange(15)  # on the morning rise
    mus = tuple(daily_rate(minutes + s, 40.0)[None, :] for s in (-60, 0, 60))
    observed = np.random.default_rng(2).poisson(mus[2])  # the pattern runs an hour early
    normal = np.array([True])
    gain_minus, gain_plus, usable = block_evidence(observed, mus, 0.0, 0.0, normal, 100.0)
    assert gain_plus[0] > 4 and gain_minus[0] < -4 and usable[0]
    # Overdispersion makes the same block weaker evidence.
    assert 0 < block_evidence(observed, mus, 0.05, 0.02, normal, 100.0)[1][0] < gain_plus[0]
    # An outage block or an ingestion gap votes for nothing.
    assert not block_evidence(observed, mus, 0.0, 0.0, ~normal, 100.0)[2][0]
    gap = observed.copy()
    gap[0, 3:9] = 0
    assert not block_evidence(gap, mus, 0.0, 0.0, normal, 100.0)[2][0]
    # One block's vote is bounded (a sharp edge slightly off must not outvote hours of slope).
    capped = block_evidence(observed, mus, 0.0, 0.0, normal, 2.0)
    assert capped[1][0] == 2.0 and capped[0][0] == -2.0


def test_only_a_baseline_moved_onto_a_new_phase_restarts_the_evidence():
    # 0: same baseline; 1: a new one in the same coordinates; 2: a new one moved (alignment.py).
    code, minus, plus = phase_rebased(
        np.full(3, PHASE_PLUS, dtype=np.int8),
        np.full(3, -12.0),
        np.full(3, 12.0),
        np.full(3, 1000),
        np.array([1000, 2440, 2440]),
        np.array([True, False, True]),
    )
    assert code.tolist() == [PHASE_PLUS, PHASE_PLUS, PHASE_ZERO]
    assert minus.tolist() == [-12.0, -12.0, -12.0] and plus.tolist() == [12.0, 12.0, -12.0]
    assert phase_decide(minus[2], plus[2]) == PHASE_ZERO
    # "On time" with full confidence: one noisy block (or three) on a slope keeps it.
    assert phase_decide(minus[2], plus[2] + 3 * PHASE_BLOCK_MAX_GAIN) == PHASE_ZERO


@pytest.mark.parametrize("shift", [-60, 60])
def test_daylight_saving_is_learned_without_alarms(shift):
    minutes, values, _ = series_with_dst(shift)
    result = detect_series(minutes, values, 1, CONFIG)
    assert not any(o.opened_at >= START + 2 * DAY for o in result.outages)
    before = slice((DST_DAY - 2) * DAY, DST_DAY * DAY)
    assert set(result.phase[before].tolist()) == {PHASE_ZERO}
    # The rise after the change teaches the new phase (by mid-afternoon: a shift needs
    # PHASE_SHIFT_PRIOR more evidence than "on time") ...
    learned, wrong = (PHASE_PLUS, PHASE_MINUS) if shift > 0 else (PHASE_MINUS, PHASE_PLUS)
    assert np.all(result.phase[DST_DAY * DAY + 16 * 60 : (DST_DAY + 1) * DAY] == learned)
    assert wrong not in result.phase[DST_DAY * DAY :]
    # ... until the refits move the profile itself onto it (alignment.py).
    assert np.all(result.phase[(DST_DAY + 3) * DAY :] == PHASE_ZERO)


def test_refit_across_daylight_saving_follows_the_new_phase():
    minutes, values, rate = series_with_dst(60, days=DST_DAY + 3)
    baseline = fit_baseline(minutes, values, fitted_at=int(minutes[-1]) + 1, config=CONFIG)
    after = slice((DST_DAY + 1) * DAY, None)
    error = np.abs(baseline.expected(minutes[after]) / rate[after] - 1)
    assert np.median(error) < 0.05
    # The profile was moved onto the new phase, and says so (the tick restarts "on time").
    assert baseline.phase_moved
    # The fit from before the change is an hour off after it.
    before = fit_baseline(minutes, values, fitted_at=int(minutes[DST_DAY * DAY]), config=CONFIG)
    old_error = np.abs(before.expected(minutes[after]) / rate[after] - 1)
    assert np.median(old_error) > 2 * np.median(error)


def test_outage_on_the_morning_rise_is_not_hidden_by_the_tolerance(monkeypatch):
    """The +-60-minute max hid outages like this one (bench/README.md): +50 % at 14/min."""
    minutes, values, rate = series_with_dst(60, base=24.0, days=14)
    start = 12 * DAY + 10 * 60 + 30
    extra = np.random.default_rng(3).poisson(0.5 * rate[start : start + 30])
    values[start : start + 30] += extra
    assert 13 < rate[start] < 15 and extra.sum() > 200
    found = detect_series(minutes, values, 1, CONFIG)
    assert found.phase[start] == PHASE_ZERO
    assert found.is_anomaly[start : start + 30].any()
    # The same detector judging against the max of the profile within +-60 minutes, always.
    monkeypatch.setattr(phase, "PHASE_MAX_STEP_MINUTES", 0)
    assert not detect_series(minutes, values, 1, CONFIG).is_anomaly[start : start + 30].any()
