"""Baseline fitting and evaluation (pure numpy, no database)."""

import json

import numpy as np
import pytest

from detection.core import Baseline, BaselineBatch, DetectorConfig, fit_baseline, prior_baseline
from detection.core.baseline import PROFILE_FLOAT
from detection.simulation import simulate_series

CONFIG = DetectorConfig()


def clean(seed: int, base_rate: float, weeks: float = 3.0, **kwargs):
    params = {"outages_per_week": 0, "gaps_per_week": 0, "bumps_per_day": 0, "floods_per_week": 0}
    params.update(kwargs)
    return simulate_series(seed=seed, weeks=weeks, base_rate=base_rate, **params)


@pytest.fixture(scope="module")
def fitted():
    s = clean(1, 20.0)
    fit_at = int(s.minutes[-1]) + 1
    return s, fit_baseline(s.minutes, s.values, fitted_at=fit_at, config=CONFIG)


def test_hgb_baseline_follows_daily_and_weekly_shape(fitted):
    s, baseline = fitted
    assert baseline.method == "hgb"
    last_week = slice(len(s.minutes) - 7 * 1440, len(s.minutes))
    expected = baseline.expected(s.minutes[last_week])
    truth = s.base_rate[last_week]
    # Hourly means within 15 % of the true rate (the truth also wanders by a few percent).
    hourly_e = expected.reshape(-1, 60).mean(axis=1)
    hourly_t = truth.reshape(-1, 60).mean(axis=1)
    assert np.median(np.abs(hourly_e / hourly_t - 1)) < 0.08
    assert np.corrcoef(hourly_e, hourly_t)[0, 1] > 0.95


def test_round_trip_to_dict_from_dict(fitted):
    """A fitted baseline and the one its record makes are the same, bit for bit: the profile
    is held at the precision it is stored in (PROFILE_FLOAT) from the fit on."""
    _, baseline = fitted
    assert baseline.profile.dtype == PROFILE_FLOAT
    data = json.loads(json.dumps(baseline.to_dict()))
    again = Baseline.from_dict(data)
    np.testing.assert_array_equal(again.profile, baseline.profile)
    minutes = np.arange(baseline.fitted_at, baseline.fitted_at + 3000)
    np.testing.assert_array_equal(again.expected(minutes), baseline.expected(minutes))
    assert again.expected(minutes).dtype == np.float64
    assert again.method == baseline.method
    assert again.dispersion == pytest.approx(baseline.dispersion)


def test_batch_matches_per_series_expected(fitted):
    s, baseline = fitted
    other = fit_baseline(s.minutes, s.values, fitted_at=int(s.minutes[3000]), config=CONFIG)
    baselines = [baseline, other, prior_baseline(int(s.minutes[0]))]
    batch = BaselineBatch.from_baselines(baselines)
    window = np.arange(5) + int(s.minutes[-1]) - 4
    got = batch.judged(np.arange(3), np.tile(window, (3, 1)))
    for i, b in enumerate(baselines):
        np.testing.assert_allclose(got[i], b.expected(window, shift_tolerance_minutes=60))
    # A decided phase reads the profile shifted, within the narrow tolerance only.
    late = batch.judged(np.arange(3), np.tile(window, (3, 1)), 1, np.array([60, 0, 0]), True)
    np.testing.assert_allclose(late[0], baseline.expected(window + 60, shift_tolerance_minutes=15))
    np.testing.assert_allclose(late[1], other.expected(window, shift_tolerance_minutes=15))
    plain = batch.expected(np.arange(3), np.tile(window, (3, 1)))
    np.testing.assert_allclose(plain[0], baseline.expected(window))
    assert list(batch.cold) == [False, False, True]


def test_method_falls_back_with_little_history():
    s = clean(2, 5.0, weeks=1.0)
    t0 = int(s.minutes[0])
    assert fit_baseline(s.minutes, s.values, fitted_at=t0).method == "prior"
    assert fit_baseline(s.minutes, s.values, fitted_at=t0 + 600).method == "mean"
    assert fit_baseline(s.minutes, s.values, fitted_at=t0 + 5 * 1440).method == "hgb"


def test_mean_baseline_learns_the_hour_of_day():
    s = clean(3, 10.0, weeks=1.0)
    b = fit_baseline(s.minutes, s.values, fitted_at=int(s.minutes[0]) + 1440)
    assert b.method == "mean"
    assert b.profile.max() > 1.5 * b.profile.min()


def test_gap_does_not_drag_baseline_down():
    s = clean(4, 10.0)
    values = s.values.copy()
    # Ingestion down for two hours at the same time on several days.
    for day in range(5, 19, 2):
        start = day * 1440 + 14 * 60
        values[start : start + 120] = 0
    fit_at = int(s.minutes[-1]) + 1
    with_gaps = fit_baseline(s.minutes, values, fitted_at=fit_at)
    without = fit_baseline(s.minutes, s.values, fitted_at=fit_at)
    at = s.minutes[-1440 + 14 * 60 : -1440 + 16 * 60]
    assert with_gaps.expected(at).sum() == pytest.approx(without.expected(at).sum(), rel=0.1)


def test_excluded_minutes_are_not_learned():
    s = clean(5, 2.0)
    values = s.values.copy()
    start = len(values) - 3 * 1440
    values[start : start + 180] += 50
    exclude = np.zeros(len(values), dtype=bool)
    exclude[start : start + 180] = True
    fit_at = int(s.minutes[-1]) + 1
    masked = fit_baseline(s.minutes, values, fitted_at=fit_at, exclude=exclude)
    clean_fit = fit_baseline(s.minutes, s.values, fitted_at=fit_at)
    at = s.minutes[start - 4 * 1440 : start - 4 * 1440 + 180] + 7 * 1440
    assert masked.expected(at).sum() == pytest.approx(clean_fit.expected(at).sum(), rel=0.15)


def test_fit_uses_only_rows_before_fit_time():
    s = clean(6, 5.0)
    fit_at = int(s.minutes[0]) + 10 * 1440
    altered = s.values.copy()
    altered[10 * 1440 :] *= 7
    a = fit_baseline(s.minutes, s.values, fitted_at=fit_at)
    b = fit_baseline(s.minutes, altered, fitted_at=fit_at)
    np.testing.assert_array_equal(a.profile, b.profile)


def test_growth_is_followed():
    s = clean(7, 10.0, weeks=4.0)
    assert s.spec.growth_per_week != 0
    fit_at = int(s.minutes[-1]) + 1
    b = fit_baseline(s.minutes, s.values, fitted_at=fit_at)
    last_day = slice(-1440, None)
    ratio = b.expected(s.minutes[last_day]).sum() / s.base_rate[last_day].sum()
    assert ratio == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("half_width", [0, 1, 2, 4, 7, 13])
def test_the_circular_max_filter_is_the_max_over_each_slots_wrapped_neighbours(half_width):
    from detection.core.timegrid import circular_max_filter

    rng = np.random.default_rng(half_width)
    for profiles in (rng.random((5, 12)), rng.random(672), rng.random((3, 4))):
        slots = profiles.shape[-1]
        near = range(-half_width, half_width + 1)
        naive = np.stack(
            [np.max([profiles[..., (i + d) % slots] for d in near], axis=0) for i in range(slots)],
            axis=-1,
        )
        np.testing.assert_array_equal(circular_max_filter(profiles, half_width), naive)


@pytest.mark.parametrize("half_width", [0, 1, 4, 13])
def test_slot_maxima_are_the_filtered_profiles_where_they_are_read(half_width):
    """A batch filters its profiles only at the slots a minute reads; any read, by a tick's
    window (a column of rows against a window per row, wrapping past the week's end) or
    element by element, gives what the whole filtered array holds there. Windows read minute
    after minute keep the columns they use and drop those long unread, and read them again
    right."""
    from detection.core.timegrid import SlotMaxima, circular_max_filter

    rng = np.random.default_rng(half_width)
    for n in (3, 200):  # a small batch is filtered whole, a large one where read
        profiles = rng.random((n, 672))
        whole = circular_max_filter(profiles, half_width)
        maxima = SlotMaxima(profiles, half_width)
        rows = rng.permutation(n)[: n // 2]
        window = (np.arange(668, 668 + 9) + rng.integers(0, 3, size=(len(rows), 1))) % 672
        np.testing.assert_array_equal(maxima[rows[:, None], window], whole[rows[:, None], window])
        slots = rng.integers(0, 672, size=50)
        picked = rng.integers(0, n, size=50)
        np.testing.assert_array_equal(maxima[picked, slots], whole[picked, slots])
        for start in [*range(0, 60, 2), 0, 30, 670]:  # sliding on, then back to dropped slots
            window = (start + np.arange(5) + rng.integers(0, 4, size=(n, 1))) % 672
            every = np.arange(n)[:, None]
            np.testing.assert_array_equal(maxima[every, window], whole[every, window])
        none = np.zeros((0, 1), dtype=np.int64)
        assert maxima[none, np.zeros((0, 4), dtype=np.int64)].shape == (0, 4)


def test_a_batch_copies_only_what_its_caller_may_still_change():
    """A batch's arrays are its own: a writable array, or a read-only view of one, is copied;
    an array handed over read-only with its own data (a cold read's 269 MB of profiles at
    100k series) is taken as it is."""

    def batch(profiles: np.ndarray) -> BaselineBatch:
        n = len(profiles)
        return BaselineBatch(
            profiles=profiles, dispersion=np.zeros(n), level_dispersion=np.zeros(n),
            fitted_at=np.zeros(n, dtype=np.int64), growth_per_day=np.zeros(n),
            cold=np.zeros(n, dtype=bool), max_extrapolation_days=np.full(n, 2.0),
            phase_moved=np.zeros(n, dtype=bool),
        )  # fmt: skip

    writable = np.ones((2, 672))
    copied = batch(writable)
    writable[0, 0] = 5.0
    assert copied.profiles[0, 0] == 1.0 and not copied.profiles.flags.writeable
    view = writable[:]
    view.setflags(write=False)
    assert batch(view).profiles is not view
    handed = np.ones((2, 672), dtype=PROFILE_FLOAT)
    handed.setflags(write=False)
    taken = batch(handed)
    assert taken.profiles is handed
    assert taken.wide_profiles.profiles is handed
    # Of another precision, it is converted to the batch's.
    doubles = np.ones((2, 672))
    doubles.setflags(write=False)
    assert batch(doubles).profiles.dtype == PROFILE_FLOAT


@pytest.mark.parametrize("step", [1, 5, 60])
def test_a_series_with_no_reports_in_its_history_fits_a_flat_quiet_baseline(step):
    # A little-reported service: nothing for days, or nothing but an outage the fit leaves
    # out. The gradient-boosted fit refused an all-zero target (sklearn's Poisson loss needs
    # a positive sum) and the whole run stopped (CLI tester F0).
    minutes = np.arange(0, 8 * 1440, step, dtype=np.int64)
    values = np.zeros(len(minutes), dtype=np.int64)
    baseline = fit_baseline(minutes, values, fitted_at=int(minutes[-1]) + step, config=CONFIG)
    expected = baseline.expected(minutes[-1440 // step :], step)
    assert np.all(np.isfinite(expected)) and expected.max() < 0.01 * step
