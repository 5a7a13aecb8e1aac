"""The production tick reproduces detect_series row by row (pure numpy)."""

from dataclasses import replace

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
from tests.detection.dst_series import DAY, DST_DAY, series_with_dst

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

    batch = BaselineBatch.from_baselines([baseline] * 2, CONFIG)
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


def _prior_ticks(values: np.ndarray, start: int) -> list[int]:
    """Tick a brand-new series each minute on the prior baseline, as production does before
    its first refit; returns the scoring level of each minute."""
    from detection.core import prior_baseline

    state = DetectorState.initial(1)
    padded = np.concatenate((np.zeros(W - 1), values))
    levels = []
    for r in range(len(values)):
        batch = BaselineBatch.from_baselines([prior_baseline(start + r)])
        tick = run_tick(batch, state, padded[None, r : r + W], start + r, CONFIG)
        state = tick.transition.state
        levels.append(int(state.state[0]))
    return levels


def test_tick_on_prior_adapts_to_a_new_series_level():
    rng = np.random.default_rng(3)
    for rate in (0.2, 5.0, 80.0):
        states = _prior_ticks(rng.poisson(rate, 75).astype(float), 29_000_000)
        assert max(states) < 2, rate
    values = rng.poisson(1.0, 75).astype(float)
    values[40:] += rng.poisson(39.0, 35)
    states = _prior_ticks(values, 29_000_000)
    assert max(states[:40]) < 2 and states[40] == 2


def test_cold_tick_matches_offline_detector(monkeypatch):
    from detection.core import prior_baseline

    rng = np.random.default_rng(4)
    values = rng.poisson(3.0, 200).astype(float)
    values[150:160] += 30
    minutes = np.arange(29_000_000, 29_000_200, dtype=np.int64)
    monkeypatch.setattr(
        detector_module,
        "fit_baseline",
        lambda m, v, fitted_at, **k: prior_baseline(fitted_at),
    )
    offline = detect_series(minutes, values, 1, CONFIG)
    state = DetectorState.initial(1)
    padded = np.concatenate((np.zeros(W - 1), values))
    levels, expected = [], []
    for r in range(len(minutes)):
        batch = BaselineBatch.from_baselines([prior_baseline(int(minutes[r]))])
        tick = run_tick(batch, state, padded[None, r : r + W], int(minutes[r]), CONFIG)
        state = tick.transition.state
        levels.append(int(tick.scores.level[0]))
        expected.append(float(tick.expected[0]))
    np.testing.assert_allclose(expected, offline.expected, rtol=1e-9)
    np.testing.assert_array_equal(levels[W:], offline.level[W:])
    assert offline.is_anomaly[150] == 1


def test_tick_matches_offline_detector_through_a_phase_change(monkeypatch):
    """Daylight saving inside the slice: the phase in force changes, and the offline detector
    (which scores optimistically and re-scores from a change) still agrees row by row."""
    minutes, values, _ = series_with_dst(60, days=DST_DAY + 2)
    baseline = fit_baseline(minutes, values, fitted_at=int(minutes[10 * DAY]), config=CONFIG)
    monkeypatch.setattr(detector_module, "fit_baseline", lambda *a, **k: baseline)
    rows = slice((DST_DAY - 1) * DAY, (DST_DAY + 2) * DAY)
    minutes, vals = minutes[rows], values[rows]
    offline = detect_series(minutes, vals, 1, CONFIG)

    batch = BaselineBatch.from_baselines([baseline], CONFIG)
    state = DetectorState.initial(1)
    padded = np.concatenate((np.zeros(W - 1), vals))
    expected, levels, anomaly, phases = [], [], [], []
    for r in range(len(minutes)):
        tick = run_tick(batch, state, padded[None, r : r + W], int(minutes[r]), CONFIG)
        state = tick.transition.state
        expected.append(float(tick.expected[0]))
        levels.append(int(tick.scores.level[0]))
        anomaly.append(int(state.state[0] == 2))
        phases.append(int(state.phase[0]))
    assert len(set(phases)) >= 3  # undecided, the old phase and the new one
    np.testing.assert_array_equal(phases, offline.phase)
    np.testing.assert_allclose(expected[W:], offline.expected[W:], rtol=1e-9)
    np.testing.assert_array_equal(levels[W:], offline.level[W:])
    np.testing.assert_array_equal(anomaly, offline.is_anomaly)


def test_tick_matches_offline_detector_through_a_known_clock_change(monkeypatch):
    """With the series' clock known, the phase switches on the change's minute in both, and
    the buckets of a window from before the change are read at the old offset."""
    from detection.core import Clock
    from detection.core.phase import PHASE_MINUS, PHASE_ZERO

    # The clock goes back an hour on the morning rise (10:00): an hour-long window of counts
    # at the old phase, read at the new one, would look like an excess of about 50 %.
    change = DAY + 10 * 60
    minutes, values, _ = series_with_dst(-60, days=DST_DAY + 2, dst_shift_minute=10 * 60)
    clock = Clock(np.array([int(minutes[(DST_DAY - 1) * DAY + change])]), np.array([0, -60]))
    baseline = fit_baseline(
        minutes, values, fitted_at=int(minutes[10 * DAY]), config=CONFIG, clock=clock
    )
    monkeypatch.setattr(detector_module, "fit_baseline", lambda *a, **k: baseline)
    rows = slice((DST_DAY - 1) * DAY, (DST_DAY + 1) * DAY)
    minutes, vals = minutes[rows], values[rows]
    offline = detect_series(minutes, vals, 1, CONFIG, clock)

    batch = BaselineBatch.from_baselines([baseline], CONFIG)
    state = DetectorState.initial(1)
    padded = np.concatenate((np.zeros(W - 1), vals))
    expected, levels, phases, scores = [], [], [], []
    for r in range(len(minutes)):
        window = int(minutes[r]) - np.arange(W - 1, -1, -1)
        offset = clock.at(window)[None, :]  # each bucket of the window at its own offset
        tick = run_tick(batch, state, padded[None, r : r + W], int(minutes[r]), CONFIG, 1, offset)
        state = tick.transition.state
        expected.append(float(tick.expected[0]))
        levels.append(int(tick.scores.level[0]))
        phases.append(int(state.phase[0]))
        scores.append(float(tick.scores.score[0]))
    assert set(phases[:change]) == {PHASE_ZERO} and set(phases[change:]) == {PHASE_MINUS}
    assert max(levels[change : change + W]) == 0
    np.testing.assert_array_equal(phases, offline.phase)
    np.testing.assert_allclose(expected[W:], offline.expected[W:], rtol=1e-9)
    np.testing.assert_array_equal(levels[W:], offline.level[W:])
    np.testing.assert_allclose(scores[W:], offline.anomaly_score[W:], rtol=1e-9)


def _fitted(rate: float, seed: int):
    s = simulate_series(seed=seed, weeks=1.0, base_rate=rate, outages_per_week=0)
    fit_at = int(s.minutes[0]) + 4 * 1440
    return s, fit_baseline(s.minutes, s.values.astype(float), fitted_at=fit_at, config=CONFIG)


def test_an_outage_stays_open_through_minutes_no_report_reached_us(monkeypatch):
    """25 empty minutes in the middle of an outage, where 3 reports a minute were due, are
    minutes we did not hear (our own outage, then the catch-up): not counted as quiet, on the
    tick as offline; the outage resolves after quiet minutes with reports in them."""
    s, baseline = _fitted(3.0, 70)
    values = s.values.astype(float)
    start = 4 * 1440 + 100
    values[start : start + 30] += 12
    values[start + 10 : start + 35] = 0  # nothing reached us
    monkeypatch.setattr(detector_module, "fit_baseline", lambda *a, **k: baseline)
    rows = slice(4 * 1440 - 200, 4 * 1440 + 300)
    minutes, vals = s.minutes[rows], values[rows]
    offline = detect_series(minutes, vals, 1, CONFIG)

    batch = BaselineBatch.from_baselines([baseline], CONFIG)
    state = DetectorState.initial(1)
    padded = np.concatenate((np.zeros(W - 1), vals))
    anomaly = []
    for r in range(len(minutes)):
        tick = run_tick(batch, state, padded[None, r : r + W], int(minutes[r]), CONFIG)
        state = tick.transition.state
        anomaly.append(int(state.state[0] == 2))
    np.testing.assert_array_equal(anomaly, offline.is_anomaly)
    (outage,) = offline.outages
    gap_end = int(s.minutes[start + 35])
    assert outage.opened_at < int(s.minutes[start + 10])
    # Open through the gap; over only after about CONFIG.state.quiet_minutes heard quiet ones.
    gap = (minutes >= int(s.minutes[start + 10])) & (minutes < gap_end)
    assert offline.is_anomaly[gap].all()
    closed = int(minutes[np.flatnonzero(offline.is_anomaly)[-1]])
    # (The run's first empty minutes, before 8 reports were due in it, still count as quiet.)
    assert gap_end + CONFIG.state.quiet_minutes - 3 <= closed < gap_end + CONFIG.state.quiet_minutes


def test_the_whole_site_empty_at_once_is_our_silence_even_for_a_quiet_series():
    """A series of 0.3 reports a minute in an open outage: 20 empty minutes are ordinary
    for it alone, and close the outage when the site's busy series keep reporting; with
    every series empty at once they are our silence, and it stays open."""
    _, quiet = _fitted(0.3, 71)
    s, busy = _fitted(10.0, 72)
    batch = BaselineBatch.from_baselines([quiet, busy], CONFIG)
    at = int(s.minutes[4 * 1440 + 100])
    opened = DetectorState.initial(2)
    opened = replace(
        opened,
        state=np.array([2, 0], dtype=np.int8),
        onset=np.array([at - 30, -1]),
        last_hot=np.array([at - W, -1]),
    )

    def states_after(busy_reports: float) -> list[int]:
        state, seen = opened, []
        for k in range(20):
            obs = np.zeros((2, W))
            obs[0, : W - k : 3] = 1.0  # the quiet series' own few, none for k minutes
            obs[1, : W - k] = 10.0  # the busy series, empty for the last k minutes at most
            obs[1, W - k :] = busy_reports
            tick = run_tick(batch, state, obs, at + k, CONFIG)
            state = tick.transition.state
            seen.append(int(state.state[0]))
        return seen

    assert states_after(busy_reports=10.0)[-1] == 0  # heard: 15 quiet minutes resolve it
    assert set(states_after(busy_reports=0.0)) == {2}  # the site heard nothing: still open
