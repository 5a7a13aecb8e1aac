"""Per-series calibration of the alarm threshold (no database, fixed seeds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detection.core import DetectorConfig
from detection.core.calibration import (
    ALARM,
    BANDS,
    CHATTER_WEIGHT,
    EPISODE_LEVEL,
    GRID,
    HEAVY_RATE,
    OPEN,
    PEAK,
    QUIET_HEAVY,
    RECENT,
    RECENT_HOURS,
    ROW,
    TAIL,
    WIDTH,
    N,
    Params,
    _alarm_weight,
    band_index,
    band_surprises,
    conform,
    conform_bands,
    initial,
    initial_bands,
    power_tail,
    scan,
    scan_bands,
    step,
    tick_bands,
)

CONFIG = DetectorConfig()
FLOOR = -math.log10(CONFIG.scoring.p_outage)
P = Params.of(CONFIG, 1)
BUDGET = CONFIG.calibration.alarms_per_month


def _chatter(rng, minutes: int, episodes_per_day: float, heavy: bool) -> np.ndarray:
    """Surprise of a series' ordinary traffic: bursts a few minutes long, with peaks as a
    calibrated model gives them (exponential, 10**-s) or heavy-tailed like real chatter."""
    s = rng.exponential(0.3, minutes)  # ordinary minutes, well below the episode level
    starts = np.flatnonzero(rng.random(minutes) < episodes_per_day / 1440)
    peaks = (
        EPISODE_LEVEL * (1.0 + rng.pareto(1.2, len(starts)))
        if heavy
        else EPISODE_LEVEL + rng.exponential(1 / math.log(10), len(starts))
    )
    for start, peak in zip(starts, peaks, strict=True):
        s[start : start + 5] = peak
    return s


def _scan(surprise, cal=None, start: int = 0):
    minutes = start + np.arange(len(surprise))
    return scan(initial(1)[0] if cal is None else cal, surprise, None, CONFIG, 1, minutes)


def _alarms(surprise: np.ndarray, limits: np.ndarray) -> int:
    return int((np.diff((surprise >= limits).astype(int)) == 1).sum())


def _one(
    cal: np.ndarray, s: float, judged: bool = True, minute: int = 0, fresh: bool = True
) -> tuple[float, float]:
    limit, score = step(cal, np.array([s]), np.array([judged]), P, minute, np.array([fresh]))
    return float(limit[0]), float(score[0])


def test_a_new_series_alarms_at_the_models_own_threshold():
    quiet = np.zeros((3, len(CONFIG.scoring.windows)))
    limits, _, _ = tick_bands(initial_bands(3), quiet, np.ones(3, bool), CONFIG, 1, 0)
    assert limits.tolist() == [[FLOOR] * BANDS] * 3


def test_a_series_the_model_describes_keeps_the_models_threshold():
    limits, _, _ = _scan(_chatter(np.random.default_rng(1), 28 * 1440, 20, heavy=False))
    assert limits[-1] == FLOOR


def test_heavy_chatter_raises_the_threshold_to_hold_the_budget():
    surprise = _chatter(np.random.default_rng(2), 56 * 1440, 8, heavy=True)
    limits, _, _ = _scan(surprise)
    assert limits[-1] > 2 * FLOOR
    # Over the second month the series alarms about as often as its budget allows, where the
    # model's own threshold would have alarmed on many of its bursts.
    late = slice(28 * 1440, None)
    assert _alarms(surprise[late], limits[late]) <= 2 * BUDGET
    assert _alarms(surprise[late], np.full(28 * 1440, FLOOR)) > 30


def test_outages_of_a_well_described_series_are_left_out():
    """Weekly outages far above its threshold do not teach a calm series to ignore them."""
    rng = np.random.default_rng(3)
    weeks = []
    for _ in range(6):
        week = _chatter(rng, 7 * 1440, 20, heavy=False)
        week[3000:3180] = 40.0  # three hours far above any threshold
        weeks.append(week)
    surprise = np.concatenate(weeks)
    limits, _, cal = _scan(surprise)
    # (Within an outage that has alarmed, the threshold in force is its own peak.)
    assert (limits[surprise < 40.0] == FLOOR).all()
    assert _alarms(surprise, limits) == 6
    # No outage reached the tail above the floor: only the prior is there.
    assert cal[TAIL][GRID > 2 * FLOOR].max() < 1e-3


def test_alarms_of_heavy_chatter_count_against_the_budget():
    cal = _scan(_chatter(np.random.default_rng(4), 28 * 1440, 8, heavy=True))[2].reshape(1, -1)
    # Quiet episodes reach p = 1e-4 more than three times as often as the model says.
    assert cal[0, QUIET_HEAVY] > 3 * cal[0, N] * HEAVY_RATE
    limit, _ = _one(cal, 0.0)
    before = cal[0, TAIL].copy()
    _one(cal, limit + 1.0)
    _one(cal, 0.0)
    gained = cal[0, TAIL] - before * P.decay**2
    reached = limit + 1.0 >= GRID
    np.testing.assert_allclose(gained[reached], 1.0)  # in full, as chatter
    np.testing.assert_allclose(gained[~reached], 0.0, atol=1e-9)


def test_a_young_series_first_outage_does_not_lift_its_threshold():
    """Less than a week old, a series is judged as if the days it lacks were as the model
    says: one outage stays within budget."""
    cal = initial(1)
    for _ in range(1440):
        _one(cal, 0.0)
    limit, _ = _one(cal, 0.0)
    for _ in range(30):
        _one(cal, limit + 30.0)
    _one(cal, 0.0)
    # It counted in part: less than half, a day without heavy bursts being some evidence that
    # the series is no burstier than the model.
    assert 0.05 < cal[0, TAIL][limit + 30.0 >= GRID].min() < 0.5
    assert _one(cal, 0.0)[0] == FLOOR


def test_an_episode_is_one_observation_worth_its_peak():
    cal = initial(1)
    for s in (3.0, 4.5, 3.5):  # one burst over three buckets, above the episode level
        _one(cal, s)
    assert cal[0, OPEN] == 1 and cal[0, PEAK] == 4.5 and cal[0, QUIET_HEAVY] == 0
    _one(cal, 0.5)
    assert cal[0, OPEN] == 0 and cal[0, ALARM] == 0
    assert cal[0, QUIET_HEAVY] == 1  # 4.5 reaches 2 + 2
    np.testing.assert_array_equal(cal[0, TAIL], (GRID <= 4.5).astype(float))
    per_minute = 1 / (CONFIG.calibration.calibration_days * 1440)
    assert math.isclose(cal[0, N], sum(math.exp(-k * per_minute) for k in range(4)))


def test_unjudged_buckets_change_nothing():
    cal = _scan(_chatter(np.random.default_rng(6), 1440, 20, heavy=True))[2].reshape(1, -1)
    before = cal.copy()
    _one(cal, 9.0, judged=False)
    np.testing.assert_array_equal(cal, before)


def test_the_score_ranks_and_is_one_half_at_the_budget():
    cal = _scan(_chatter(np.random.default_rng(4), 28 * 1440, 8, heavy=True))[2].reshape(1, -1)
    surprise = [0.0, 1.0, 3.0, 10.0, 30.0, 300.0]
    scores = [_one(cal, s, judged=False)[1] for s in surprise]
    assert (np.diff(scores) > 0).all() and scores[0] == 0.0 and scores[-1] < 1.0
    limit = _one(cal, 0.0, judged=False)[0]
    assert math.isclose(_one(cal, limit, judged=False)[1], 0.5, abs_tol=1e-6)
    # An ordinary burst of this bursty series is far from certain to be an outage.
    assert scores[3] < 0.5


@pytest.mark.parametrize("heavy", [False, True])
def test_the_score_keeps_ranking_past_a_chance_of_1e_300(heavy):
    """The model's counts at the tail's top levels underflow; their logarithm does not, so a
    burst far past p = 1e-300 still scores above a smaller one (it was held at one value).
    Past the grid's top the tail keeps falling, also where this heavy series' own bursts went
    past it (its top levels hold the same count)."""
    rng = np.random.default_rng(4)
    cal = _scan(_chatter(rng, 28 * 1440, 8, heavy=heavy))[2].reshape(1, -1)
    assert (cal[0, TAIL][-1] > 0) == heavy
    surprise = [100.0, 500.0, 1000.0, 5000.0, 20000.0]
    scores = [_one(cal, s, judged=False)[1] for s in surprise]
    assert (np.diff(scores) > 0).all() and scores[-1] < 1.0


def test_a_burst_scores_in_full_only_where_it_goes_higher_than_the_last_day():
    cal = _scan(_chatter(np.random.default_rng(4), 7 * 1440, 8, heavy=True))[2].reshape(1, -1)
    start = 7 * 1440
    ordinary = _one(cal.copy(), EPISODE_LEVEL, judged=False, minute=start)[1]
    plain = _one(cal.copy(), 12.0, judged=False, minute=start)[1]
    scores = [_one(cal, s, minute=start + i) for i, s in enumerate((12.0, 12.0, 11.0, 15.0))]
    first, same, lower, higher = (sc for _, sc in scores)
    assert first == plain and first > ordinary
    # Staying up (or falling back) is no news: scored as an ordinary episode bucket.
    assert math.isclose(same, ordinary, rel_tol=1e-3) and math.isclose(
        lower, ordinary, rel_tol=1e-3
    )
    assert higher > first
    # A day later the same height is news again; within the day it is not.
    day = RECENT_HOURS * 60
    assert math.isclose(_one(cal, 12.0, minute=start + day - 60)[1], ordinary, rel_tol=1e-3)
    assert _one(cal, 12.0, minute=start + 2 * day)[1] > ordinary
    # Below the threshold only the score reads the memory.
    forgotten = cal.copy()
    forgotten[0, RECENT] = 0.0
    assert _one(cal, 11.0, minute=start + 2 * day + 1)[0] == _one(forgotten, 0.0)[0]


def test_an_episode_that_alarmed_is_news_once_however_high_it_climbs():
    """A climbing burst sets a new height every bucket; once it has alarmed, the rest of it
    scores as an ordinary episode bucket (one alert per episode, as the decision gives). Below
    the threshold a climb is still news at every step."""
    cal = _scan(_chatter(np.random.default_rng(4), 7 * 1440, 8, heavy=True))[2].reshape(1, -1)
    start = 7 * 1440
    ordinary = _one(cal.copy(), EPISODE_LEVEL, judged=False, minute=start)[1]
    limit = _one(cal.copy(), 0.0, judged=False, minute=start)[0]
    below = [limit * f for f in (0.4, 0.6, 0.8)]
    climb = [_one(cal, s, minute=start + i)[1] for i, s in enumerate(below)]
    assert np.all(np.diff(climb) > 0) and climb[0] > ordinary
    alarm = _one(cal, limit + 1.0, minute=start + 3)[1]
    assert alarm > 0.5 and cal[0, ALARM] == 1
    later = [_one(cal, limit + k, minute=start + 3 + k)[1] for k in (5.0, 20.0, 80.0)]
    np.testing.assert_allclose(later, ordinary, rtol=1e-3)
    _one(cal, 0.0, minute=start + 90)  # the episode ends: a new one is news again
    assert _one(cal, limit + 200.0, minute=start + 91)[1] > alarm


def test_a_long_sum_that_outlives_its_burst_is_no_news():
    """After a burst the hour-long sums stay surprising while the minutes are back to normal:
    such a bucket (short windows calm) scores as an ordinary episode bucket, and does not
    hide a fresh rise of the same height later that day."""
    cal = _scan(_chatter(np.random.default_rng(4), 7 * 1440, 8, heavy=True))[2].reshape(1, -1)
    start = 7 * 1440
    ordinary = _one(cal.copy(), EPISODE_LEVEL, judged=False, minute=start)[1]
    fresh = _one(cal.copy(), 12.0, judged=False, minute=start)[1]
    residue = _one(cal, 12.0, minute=start, fresh=False)[1]
    assert math.isclose(residue, ordinary, rel_tol=1e-3) and fresh > ordinary
    _one(cal, 0.0, minute=start + 1)  # the episode ends
    in_full = _one(cal.copy(), 12.0, judged=False, minute=start + 90)[1]
    assert _one(cal, 12.0, minute=start + 90)[1] == in_full > ordinary


def test_a_calibration_of_another_layout_starts_afresh():
    np.testing.assert_array_equal(conform(np.ones((2, 8))), initial(2))
    kept = np.full((1, WIDTH), 2.0)
    np.testing.assert_array_equal(conform(kept), kept)


def test_calibrations_of_the_earlier_layouts_keep_their_history():
    """Both earlier layouts counted all quiet episodes (at 1 + len(GRID)); the first had no
    recent peaks. The count is dropped, the rest kept in place."""
    g = len(GRID)
    without_recent = np.arange(6 + g, dtype=float)[None, :]
    extended = conform(without_recent)
    assert extended.shape == (1, WIDTH)
    np.testing.assert_array_equal(extended[0, : 1 + g], without_recent[0, : 1 + g])
    np.testing.assert_array_equal(
        extended[0, [QUIET_HEAVY, OPEN, PEAK, ALARM]], without_recent[0, 2 + g :]
    )
    assert (extended[0, ALARM + 1 :] == 0).all()
    with_quiet = np.arange(WIDTH + 1, dtype=float)[None, :]
    np.testing.assert_array_equal(conform(with_quiet)[0], np.delete(with_quiet[0], 1 + g))


def test_a_small_series_whose_few_episodes_are_far_out_is_not_heavy():
    """A small service's floors let few episodes start, and those few are far out: half of
    four reach p = 1e-4. Still fewer than the model's rate (three a week at 1 minute), so its
    alarms are outages, left out of the budget."""
    surprise = np.zeros(7 * 1440)
    for at, peak in ((1000, 3.0), (3000, 4.5), (5000, 5.0), (7000, 2.5)):
        surprise[at : at + 3] = peak
    cal = _scan(surprise)[2].reshape(1, -1)
    assert cal[0, QUIET_HEAVY] < cal[0, N] * HEAVY_RATE
    limit, _ = _one(cal, 0.0)
    before = cal[0, TAIL].copy()
    _one(cal, limit + 10.0)
    _one(cal, 0.0)
    np.testing.assert_allclose(cal[0, TAIL], before * P.decay**2, atol=1e-9)


def test_hills_estimator_recovers_a_power_law_in_surprise():
    rng = np.random.default_rng(7)
    for exponent in (1.0, 1.7, 3.0):
        peaks = EPISODE_LEVEL * (1.0 + rng.pareto(exponent, 4000))
        counts = (GRID[None, :] <= peaks[:, None]).sum(axis=0).astype(float)
        fitted = power_tail(counts[None, :])[0]
        estimated = math.log(fitted[0] / fitted[1]) / math.log(GRID[1] / GRID[0])
        assert estimated == pytest.approx(exponent, rel=0.05)


def _young_record(heavy_per_week: float) -> tuple[np.ndarray, Params, float]:
    """Ten days of a 5-minute series whose episodes follow a power law (exponent 1.5) up to
    their highest so far, s = 8: (its calibration, the parameters of three bands, that s)."""
    p = Params.of(CONFIG, 5, BANDS)
    cal = initial(1)
    cal[0, N] = 10 * 288
    top = 8.0
    cal[0, TAIL] = np.where(top >= GRID, 3.0 * 10 * (GRID / EPISODE_LEVEL) ** -1.5, 0.0)
    cal[0, QUIET_HEAVY] = heavy_per_week * 10 / 7
    return cal, p, top


def test_a_chattering_band_extrapolates_its_own_power_law_past_its_highest_episode():
    """Ten days cannot show the level a burst reaches once a month: a chattering band's
    threshold continues the power law its own episodes follow, not the model's exponential
    tail, so a burst that merely breaks a young record is no alarm."""
    chattering, p, top = _young_record(heavy_per_week=14.0)
    calm, _, _ = _young_record(heavy_per_week=0.0)
    assert _alarm_weight(chattering) > CHATTER_WEIGHT > _alarm_weight(calm)
    at = np.array([0.0])
    chatter_limit = step(chattering, at, np.array([True]), p, 0)[0][0]
    calm_limit = step(calm, at, np.array([True]), p, 0)[0][0]
    # The calm band's threshold stays below the next level of the grid (the model's tail adds
    # almost nothing past the highest episode); the chattering band's goes on past it.
    above = GRID[np.searchsorted(GRID, top) + 1]
    assert calm_limit < above < chatter_limit


def _second_wave(cal: np.ndarray, start: int, gap: int) -> tuple[float, float, float]:
    """A first wave that alarms, then `gap` minutes later a lower second one that the
    threshold alone would let through: (the second's surprise, the threshold in force at it,
    the threshold without the memory of recent peaks)."""
    limit, _ = _one(cal, 0.0, minute=start)
    first = limit + 10.0
    assert _one(cal, first, minute=start + 1)[0] < first  # the first wave alarms
    _one(cal, 0.0, minute=start + 2)
    at = start + 2 + gap
    forgotten = cal.copy()
    forgotten[0, RECENT] = 0.0
    plain = _one(forgotten, 0.0, minute=at)[0]
    assert plain < first  # its alarm lifted the threshold, not past its own height
    second = (plain + first) / 2
    return second, _one(cal, second, minute=at)[0], plain


def test_a_heavy_series_alarms_only_on_news():
    """A bursty series' second wave, no higher than its first that day, is more of the same
    chatter; a day later the same height is news again."""
    heavy = _scan(_chatter(np.random.default_rng(4), 7 * 1440, 8, heavy=True))[2].reshape(1, -1)
    start = 7 * 1440
    second, in_force, plain = _second_wave(heavy.copy(), start, 120)
    assert second < in_force and second > plain
    second, in_force, plain = _second_wave(heavy.copy(), start, RECENT_HOURS * 60 + 60)
    assert second > in_force == plain


def test_a_calm_series_alarms_on_every_wave():
    """Where alarms are outages, an outage that comes back is alerted again."""
    calm = _scan(_chatter(np.random.default_rng(1), 7 * 1440, 20, heavy=False))[2].reshape(1, -1)
    second, in_force, plain = _second_wave(calm, 7 * 1440, 120)
    assert second > in_force == plain == FLOOR


def test_an_alarmed_episode_alarms_again_only_past_its_own_peak():
    """A rise that hovers about the threshold is one alarm, not one each time it crosses."""
    cal = initial(1)
    first = FLOOR + 1.0
    assert _one(cal, first)[0] <= first  # alarms
    assert _one(cal, FLOOR + 0.5)[0] > FLOOR + 0.5  # dips, the same episode
    assert _one(cal, first)[0] > first  # back at the same height: no second alarm
    assert _one(cal, first + 2.0)[0] <= first + 2.0  # past its peak: news
    _one(cal, 0.0)  # the episode ends; the next one alarms at the threshold again
    assert _one(cal, first, minute=10)[0] == FLOOR


WINDOWS = CONFIG.scoring.windows


def _windows(short: np.ndarray, long: np.ndarray) -> np.ndarray:
    """(t, windows) surprises: `short` on the windows of up to 3 buckets, `long` on the rest
    of the windows of more than 10, nothing on those between."""
    out = np.zeros((len(short), len(WINDOWS)))
    band = band_index(WINDOWS)
    out[:, band == 0] = short[:, None]
    out[:, band == 2] = long[:, None]
    return out


def test_windows_fall_into_bands_by_the_buckets_they_sum():
    assert band_index((1, 2, 3, 5, 10, 20, 60)).tolist() == [0, 0, 0, 1, 1, 2, 2]
    ws = np.array([[1.0, 4.0, 2.0, 0.0, 3.0, 9.0, 5.0]])
    assert band_surprises(ws, (1, 2, 3, 5, 10, 20, 60)).tolist() == [[4.0, 3.0, 9.0]]


def test_each_band_is_judged_on_its_own_history():
    """A bursty series whose spikes reach far: a sustained rise no earlier day came near
    alarms in its own band, although it is lower than the spikes (the strongest window's one
    tail held it to their height)."""
    rng = np.random.default_rng(4)
    days = 28
    short = _chatter(rng, days * 1440, 8, heavy=True)
    long = np.minimum(_chatter(rng, days * 1440, 2, heavy=False), 5.0)
    rise = np.zeros(120)
    rise[30:90] = 12.0
    ws = _windows(np.concatenate([short, np.zeros(120)]), np.concatenate([long, rise]))
    minutes = np.arange(len(ws))
    limits, scores, after = scan_bands(initial_bands(1)[0], ws, None, CONFIG, 1, minutes)
    at = days * 1440 + 30
    assert limits[at, 0] > 12.0 >= limits[at, 2]
    assert scores[at] > 0.5
    single, _, _ = _scan(ws.max(axis=1))
    assert single[at] > 12.0
    assert after.shape == (ROW,)


def test_the_tick_and_the_offline_scan_take_the_same_steps_in_every_band():
    rng = np.random.default_rng(5)
    minutes = 2 * 1440
    ws = _windows(
        _chatter(rng, minutes, 8, heavy=True), _chatter(rng, minutes, 3, heavy=False) * 1.5
    )
    limits, scores, after = scan_bands(initial_bands(1)[0], ws, None, CONFIG, 1, np.arange(minutes))
    cal = initial_bands(2)
    tick_limits, tick_scores = [], []
    for minute in range(minutes):
        pair = np.stack([ws[minute], np.zeros(len(WINDOWS))])
        lim, sc, cal = tick_bands(cal, pair, np.array([True, True]), CONFIG, 1, minute)
        tick_limits.append(lim[0])
        tick_scores.append(sc[0])
    # The scan ages quiet stretches in closed form: the same numbers up to rounding, the same
    # decisions.
    np.testing.assert_allclose(tick_limits, limits, rtol=1e-9)
    np.testing.assert_allclose(tick_scores, scores, rtol=1e-9)
    surprise = band_surprises(ws, WINDOWS)
    np.testing.assert_array_equal(surprise >= np.array(tick_limits), surprise >= limits)
    np.testing.assert_allclose(cal[0], after, rtol=1e-9)
    assert cal.shape == (2, ROW)


def test_a_calibration_of_one_band_is_taken_for_every_band():
    one = np.arange(WIDTH, dtype=float)[None, :]
    np.testing.assert_array_equal(conform_bands(one)[0].reshape(BANDS, WIDTH), np.tile(one, (3, 1)))
    np.testing.assert_array_equal(conform_bands(np.ones((2, 8))), initial_bands(2))
