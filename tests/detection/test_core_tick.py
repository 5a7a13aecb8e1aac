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


def _first_burst(quiet_before: float, zeros: int = 0) -> tuple[list[int], DetectorState]:
    """A brand-new series on the prior: `zeros` empty minutes ticked, then 40 reports a minute
    for five; `quiet_before` minutes watched before its first tick. Returns the state machine's
    state at each minute of the burst and the detector state after its first minute."""
    from detection.core import prior_baseline

    start = 29_000_000
    values = np.concatenate((np.zeros(zeros), np.full(5, 40.0)))
    padded = np.concatenate((np.zeros(W - 1), values))
    state = DetectorState.initial(1)
    states, first = [], state
    for r in range(len(values)):
        batch = BaselineBatch.from_baselines([prior_baseline(start + r)])
        quiet = np.array([quiet_before + r]) if quiet_before else None
        tick = run_tick(batch, state, padded[None, r : r + W], start + r, CONFIG,
                        quiet_before=quiet)  # fmt: skip
        state = tick.transition.state
        if r == zeros:
            first = state
        if r >= zeros:
            states.append(int(state.state[0]))
    return states, first


def test_a_first_burst_after_watched_quiet_opens_at_once():
    """A service nobody reported for a day gets its first reports: 40 a minute from one minute
    to the next is news, judged against the quiet (level.cold_seeded), not learnt as normal."""
    assert _first_burst(quiet_before=1440)[0] == [2] * 5
    # With no quiet known (a series' very first minute), its first bucket is its level.
    assert _first_burst(quiet_before=0)[0] == [0] * 5
    # The quiet counts as that many empty minutes ticked would: the same sums either way.
    states, seeded = _first_burst(quiet_before=20)
    assert states == [2] * 5
    assert _first_burst(quiet_before=0, zeros=20)[0] == [2] * 5
    ticked = _first_burst(quiet_before=0, zeros=20)[1]
    np.testing.assert_allclose(
        [ticked.level_observed, ticked.level_expected],
        [seeded.level_observed, seeded.level_expected],
    )


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


def _with_an_outage(*, seed: int):
    """(series, values, its fitted batch, start row) of 3 reports a minute fitted on four
    days, with 15 extra a minute for 20 minutes from the start row."""
    s = simulate_series(seed=seed, weeks=1.0, base_rate=3.0, outages_per_week=0)
    values = s.values.astype(float)
    fit_at = int(s.minutes[0]) + 4 * 1440
    baseline = fit_baseline(s.minutes, values, fitted_at=fit_at, config=CONFIG)
    start = 4 * 1440 + 100
    values[start : start + 20] += 15
    return s, values, BaselineBatch.from_baselines([baseline], CONFIG), start


def test_an_unheard_minute_is_not_quiet_and_teaches_the_level_nothing():
    """Minutes the caller says did not reach us (our own outage): an open outage does not
    count them as quiet, and the level trackers keep what they had; the same empty minutes
    heard are quiet, resolve it, and pull the level down."""
    s, values, batch, start = _with_an_outage(seed=71)
    state = DetectorState.initial(1)
    for row in range(start - W, start + 20):  # an hour before it warms the level
        window = values[row - W + 1 : row + 1]
        tick = run_tick(batch, state, window[None, :], int(s.minutes[row]), CONFIG)
        state = tick.transition.state
    assert state.state[0] == 2
    padded = values[start + 20 - W : start + 20]

    def after_empty_minutes(unheard: bool) -> tuple[list[int], DetectorState]:
        st, window, seen = state, padded.copy(), []
        for k in range(2 * CONFIG.state.quiet_minutes):
            window = np.append(window[1:], 0.0)
            minute = int(s.minutes[start + 20 + k])
            tick = run_tick(batch, st, window[None, :], minute, CONFIG, unheard=unheard)
            st = tick.transition.state
            seen.append(int(st.state[0]))
        return seen, st

    seen, held = after_empty_minutes(unheard=True)
    assert set(seen) == {2}
    assert held.quiet_minutes[0] == state.quiet_minutes[0]
    np.testing.assert_array_equal(held.level_observed, state.level_observed)
    np.testing.assert_array_equal(held.level_expected, state.level_expected)
    seen, heard = after_empty_minutes(unheard=False)
    assert seen[-1] == 0
    assert heard.level_observed[0] < state.level_observed[0]


def test_skipped_buckets_in_excess_keep_an_open_outage_open_and_move_its_end():
    """A caller that skipped buckets (a long backlog) says where from: an outage quiet for a
    while before the skip and elevated within it does not resolve on the first bucket judged
    after it, and its last elevated bucket is the newest skipped one in excess."""
    s, values, batch, start = _with_an_outage(seed=72)
    state, row = DetectorState.initial(1), start - W
    # Judged up to the outage's end, then until one more quiet bucket would resolve it.
    while row < start + 20 or state.quiet_minutes[0] < CONFIG.state.quiet_minutes - 1:
        window = values[row - W + 1 : row + 1]
        tick = run_tick(batch, state, window[None, :], int(s.minutes[row]), CONFIG)
        state, row = tick.transition.state, row + 1
    assert state.state[0] == 2
    skip_from, first_after = row, row + 20
    values[skip_from + 5 : skip_from + 10] += 15  # elevated again in the skipped buckets
    window = values[first_after - W + 1 : first_after + 1][None, :]
    at = int(s.minutes[first_after])

    as_before = run_tick(batch, state, window, at, CONFIG).transition
    assert as_before.resolved[0]  # the skipped excess unseen: resolved on return
    bridged = run_tick(
        batch, state, window, at, CONFIG, skipped_from=int(s.minutes[skip_from])
    ).transition
    assert not bridged.resolved[0] and bridged.state.state[0] == 2
    assert bridged.state.last_hot[0] == int(s.minutes[skip_from + 9])
