"""detect_series end to end on simulated series (no database)."""

import numpy as np
import pytest

from detection.core import DetectorConfig, detect_series
from detection.simulation import simulate_series

DAY = 1440
CONFIG = DetectorConfig()


def clean(seed: int, base_rate: float, weeks: float = 2.5, **kwargs):
    params = {"outages_per_week": 0, "gaps_per_week": 0, "bumps_per_day": 0, "floods_per_week": 0}
    params.update(kwargs)
    return simulate_series(seed=seed, weeks=weeks, base_rate=base_rate, **params)


def alarms_after(result, first_row: int) -> int:
    """Outages opened at or after a row (the first day is cold start)."""
    t = int(result.minutes[first_row])
    return sum(1 for o in result.outages if o.opened_at >= t)


@pytest.fixture(scope="module", params=[0.3, 5.0, 60.0])
def quiet_series(request):
    # Daily peak, weekends, growth, level wander, NB noise and a mid-series DST shift.
    s = clean(10 + int(request.param), request.param)
    return s, detect_series(s.minutes, s.values, 1, CONFIG)


def test_seasonality_and_noise_do_not_alarm(quiet_series):
    _, result = quiet_series
    assert alarms_after(result, 2 * DAY) == 0


def test_dst_shift_does_not_alarm(quiet_series):
    s, result = quiet_series
    shift_row = int(s.spec.dst_minute - s.minutes[0])
    assert shift_row < len(s.minutes)
    assert not result.is_anomaly[shift_row:].any()


def test_score_and_flags_are_well_formed(quiet_series):
    _, result = quiet_series
    assert np.all((result.anomaly_score >= 0) & (result.anomaly_score <= 1))
    assert set(np.unique(result.is_anomaly)) <= {0, 1}
    assert np.all(result.expected >= 0)


@pytest.mark.parametrize("base_rate", [0.2, 8.0, 80.0])
def test_real_outage_is_detected_within_two_minutes(base_rate):
    s = clean(20, base_rate)
    values = s.values.copy()
    start = 16 * DAY + 15 * 60
    extra = max(6.0, 1.5 * s.base_rate[start])
    values[start : start + 30] += np.random.default_rng(1).poisson(extra, 30)
    result = detect_series(s.minutes, values, 1, CONFIG)
    first = np.flatnonzero(result.is_anomaly[start:])[0]
    assert first <= 2
    # One outage for the incident, nothing else on the days around it. (The false-alarm rate
    # over many series is bench/evaluate.py's job: this 80/min series has one on a Monday
    # morning two days earlier, where its first fine-grained fit is 10 % low.)
    t0 = int(s.minutes[start])
    around = [o for o in result.outages if abs(o.opened_at - t0) <= DAY]
    assert len(around) == 1
    assert abs(around[0].onset - t0) <= 2


@pytest.mark.parametrize("base_rate", [1.0, 8.0])
def test_an_outage_ends_at_its_last_minute_of_excess(base_rate):
    # A short window still holds a burst's minutes for a few minutes after it: the outage
    # ended up to four minutes late, its duration and counts with it (lifecycle tester 3:
    # 26 a minute for 8 minutes over 1 a minute "lasted 12 min").
    s = clean(20, base_rate)
    values = s.values.copy()
    start, length = 16 * DAY + 15 * 60, 8
    values[start : start + length] += int(25 + 3 * base_rate)
    result = detect_series(s.minutes, values, 1, CONFIG)
    t0 = int(s.minutes[start])
    [outage] = [o for o in result.outages if abs(o.opened_at - t0) <= DAY]
    assert outage.ended_at == t0 + length


@pytest.mark.parametrize("base_rate", [0.5, 8.0, 50.0])
def test_an_outage_resolves_within_fifteen_minutes_of_its_reports_stopping(base_rate):
    # The short windows hold a burst's minutes for four minutes after it, and the quiet count
    # starts once they let go: with 15 calm minutes `simulate live` resolved 19 minutes after
    # the reports stopped where issue 12 asks for at most 15. The tick judges a minute once it
    # has closed: the row of the 14th minute after the reports stop is the first unflagged,
    # judged 14 minutes after they stopped (15 when they stopped just after a minute began).
    s = clean(20, base_rate)
    values = s.values.copy()
    start, length = 16 * DAY + 15 * 60, 10
    values[start : start + length] += int(40 + 3 * base_rate)
    result = detect_series(s.minutes, values, 1, CONFIG)
    stop = start + length
    assert result.is_anomaly[start] and result.is_anomaly[stop + 12]
    assert not result.is_anomaly[stop + 13]


def test_small_bump_and_flood_do_not_open():
    s = clean(30, 1.0)
    values = s.values.copy()
    for day in range(3, 17):
        values[day * DAY + 600 : day * DAY + 602] += 2  # a few extra reporters for 2 minutes
        values[day * DAY + 900] += 1  # one person flooding counts once
    result = detect_series(s.minutes, values, 1, CONFIG)
    assert alarms_after(result, 2 * DAY) == 0


def test_gap_then_normal_traffic_does_not_alarm():
    s = clean(40, 20.0)
    values = s.values.copy()
    gaps = [(day * DAY + 13 * 60, day * DAY + 15 * 60) for day in (6, 9, 13, 16)]
    for a, b in gaps:
        values[a:b] = 0
    result = detect_series(s.minutes, values, 1, CONFIG)
    # Neither the gap nor the return of traffic after it opens anything. (False alarms from
    # noise elsewhere are measured by bench/evaluate.py, not by one seed here.)
    for a, b in gaps:
        near = (int(s.minutes[a]), int(s.minutes[b]) + 3 * 60)
        assert not [o for o in result.outages if near[0] <= o.opened_at <= near[1]]
    assert not result.is_anomaly[gaps[0][0] : gaps[-1][1] + 3 * 60].any()


def test_cold_start_big_spike_opens_but_tiny_counts_do_not():
    minutes = np.arange(29_000_000, 29_000_000 + 40, dtype=np.int64)
    tiny = np.random.default_rng(2).poisson(0.3, 40).astype(float)
    assert detect_series(minutes, tiny).is_anomaly.sum() == 0
    spiked = tiny.copy()
    spiked[30] += 25
    result = detect_series(minutes, spiked)
    assert result.is_anomaly[30] == 1
    assert result.rule[30].startswith("excess_")


def test_output_at_t_does_not_depend_on_later_rows():
    s = clean(50, 5.0, weeks=1.0, outages_per_week=2)
    cut = 5 * DAY + 123
    altered = s.values.copy()
    altered[cut + 1 :] = altered[cut + 1 :] * 3 + 50
    a = detect_series(s.minutes, s.values, 1, CONFIG)
    b = detect_series(s.minutes, altered, 1, CONFIG)
    for name in ("expected", "anomaly_score", "is_anomaly", "level"):
        np.testing.assert_array_equal(getattr(a, name)[: cut + 1], getattr(b, name)[: cut + 1])


def test_coarse_buckets_are_supported():
    s = clean(60, 10.0)
    values = s.values.copy()
    start = 16 * DAY + 12 * 60
    values[start : start + 60] += 40
    step = 15
    minutes = s.minutes[::step]
    coarse = values.reshape(-1, step).sum(axis=1)
    result = detect_series(minutes, coarse, step, CONFIG)
    row = start // step
    assert result.is_anomaly[row : row + 2].any()
    assert alarms_after(result, 2 * DAY // step) == 1


@pytest.mark.parametrize("base_rate", [0.1, 0.5, 5.0, 30.0, 100.0])
def test_new_series_with_steady_traffic_does_not_alarm(base_rate):
    # A brand-new series: no history, its first day is ordinary traffic (daily shape, noise).
    for seed in (80, 81):
        s = clean(seed, base_rate, weeks=1.0)
        result = detect_series(s.minutes[:DAY], s.values[:DAY], 1, CONFIG)
        assert result.outages == (), (seed, [o.opened_at - s.minutes[0] for o in result.outages])


def test_new_series_alarms_on_a_clear_burst_after_some_history():
    minutes = np.arange(29_000_000, 29_000_000 + 120, dtype=np.int64)
    rng = np.random.default_rng(5)
    for start in (30, 60):  # still on the prior's own-level rule / on the first "mean" fit
        values = rng.poisson(1.0, 120).astype(float)
        values[start:] += rng.poisson(39.0, 120 - start)
        result = detect_series(minutes, values, 1, CONFIG)
        assert np.flatnonzero(result.is_anomaly)[0] == start
        assert result.outages[0].onset == minutes[start]


def test_slow_modest_outage_is_not_absorbed_by_the_level():
    """+45 % for two and a half hours after a half-hour ramp: the level tracker follows it
    within the hour, so the hour-long sum is judged at the level from before it began."""
    s = clean(21, 10.0)
    start = 16 * DAY + 14 * 60
    t = np.arange(150)
    extra = 0.45 * s.base_rate[start : start + 150] * np.minimum(1.0, (t + 1) / 30)
    values = s.values.copy()
    values[start : start + 150] += np.random.default_rng(1).poisson(extra)

    def first_alarm(config):
        hit = np.flatnonzero(detect_series(s.minutes, values, 1, config).is_anomaly[start:])
        return hit[0] if len(hit) else None

    assert first_alarm(CONFIG) <= 60
    # Judged at the current level, it is never flagged.
    no_lag = {"level_lag_min_window": max(CONFIG.scoring.windows) + 1}
    unlagged = first_alarm(DetectorConfig.from_dict(no_lag))
    assert unlagged is None or unlagged > 150


def test_unknown_config_names_are_refused():
    import pytest

    from detection.core import DetectorConfig

    with pytest.raises(ValueError, match="unknown detector setting"):
        DetectorConfig.from_dict({"quiet_minute": 20})
    assert DetectorConfig.from_dict({"quiet_minutes": 20}).state.quiet_minutes == 20


def test_no_sum_longer_than_the_levels_time_constant_at_coarse_spacing():
    # A ramp to +100 % over six hours, after a week flat: at 2-minute buckets the 60-bucket sum
    # (two hours) is among the deciding windows; at 5 minutes it would span five hours, longer
    # than the level's time constant, and is not used (DetectorConfig.at_spacing). Rule names
    # say the minutes a window sums.
    rng = np.random.default_rng(1)
    rules = {}
    for step in (2, 5):
        n = 8 * DAY // step
        ramp = 6 * 60 // step
        start = n - ramp - 10
        rate = np.full(n, 40.0)
        rate[start : start + ramp] *= 1 + np.linspace(0.0, 1.0, ramp)
        rate[start + ramp :] *= 2
        values = rng.poisson(rate).astype(float)
        minutes = np.arange(n, dtype=np.int64) * step + 28_000_000
        result = detect_series(minutes, values, step, CONFIG)
        assert result.is_anomaly[start:].any()
        rules[step] = {r for r in result.rule if r}
        if step == 5:
            capped = DetectorConfig.from_dict({"windows": [1, 2, 3, 5, 10, 20]})
            same = detect_series(minutes, values, step, capped)
            np.testing.assert_array_equal(result.anomaly_score, same.anomaly_score)
            np.testing.assert_array_equal(result.is_anomaly, same.is_anomaly)
    assert "poisson_120m" in rules[2]
    assert "poisson_100m" in rules[5]  # 20 buckets
    assert max(int(r.split("_")[1][:-1]) for r in rules[5]) <= 120


@pytest.mark.parametrize("extra", [1, -1])
def test_minutes_and_values_of_different_lengths_are_refused(extra):
    """Review (forty-third session): a value too many or too few gave a result for a short
    series and a broadcast error from deep inside for a long one."""
    minutes = np.arange(2 * 1440)
    with pytest.raises(ValueError, match="one value each"):
        detect_series(minutes, np.ones(len(minutes) + extra))
