"""A series' known clock (detection.core.clock): offsets, zones, and the phase it decides."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detection.core import UNKNOWN_OFFSET, Clock, DetectorConfig, detect_series, fit_baseline
from detection.core.clock import zone_clock
from detection.core.phase import (
    PHASE_MINUS,
    PHASE_PLUS,
    PHASE_UNDECIDED,
    PHASE_ZERO,
    clock_phase,
)
from tests.detection.dst_series import DAY, DST_DAY, START, series_with_dst

CONFIG = DetectorConfig()
DST = START + DST_DAY * DAY + 120  # the minute series_with_dst's clock changes


def epoch_minute(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp()) // 60


def zoneinfo_offset(zone: str, minute: int) -> int:
    """The zone's UTC offset at an epoch minute, as zoneinfo says (minutes). Worked out here
    rather than with the clock's own utc_offset, so the tests check that too."""
    moment = dt.datetime.fromtimestamp(minute * 60, dt.UTC).astimezone(ZoneInfo(zone))
    return moment.utcoffset().total_seconds() // 60


def test_a_clock_is_a_step_function_of_the_minute():
    clock = Clock(np.array([100, 200]), np.array([60, 120, 60]))
    assert clock.at([0, 99, 100, 199, 200, 10**9]).tolist() == [60, 60, 120, 120, 60, 60]
    assert Clock.fixed(330).at(12345) == 330
    with pytest.raises(ValueError):
        Clock(np.array([200, 100]), np.array([0, 60, 0]))
    with pytest.raises(ValueError):
        Clock(np.array([100]), np.array([0]))


def test_a_zone_clock_changes_on_the_minute_the_zone_does():
    first, last = epoch_minute(2025, 12, 1), epoch_minute(2027, 2, 1)
    clock = zone_clock("Europe/Berlin", first, last)
    inside = clock.changes[(clock.changes >= first) & (clock.changes <= last)]
    assert [dt.datetime.fromtimestamp(m * 60, dt.UTC) for m in inside] == [
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC),
    ]
    assert clock.at([first, inside[0] - 1, inside[0], inside[1], last]).tolist() == [
        60, 60, 120, 60, 60
    ]  # fmt: skip
    assert zone_clock("Asia/Kolkata", epoch_minute(2026, 1, 1), epoch_minute(2026, 12, 1)).at(
        epoch_minute(2026, 6, 1)
    ) == [330]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney", "Australia/Lord_Howe"])
def test_a_zone_clock_agrees_with_zoneinfo_across_years(zone):
    first, last = epoch_minute(2024, 1, 1), epoch_minute(2027, 12, 31)
    clock = zone_clock(zone, first, last)
    probes = np.random.default_rng(1).integers(first, last, 300).tolist()
    probes += [int(c) + d for c in clock.changes for d in (-1, 0)]
    for minute in probes:
        assert clock.at(minute) == zoneinfo_offset(zone, minute), (zone, minute)


@pytest.mark.parametrize(
    "zone, first, last",
    [
        ("Africa/Casablanca", (2019, 1, 1), (2021, 12, 31)),  # Ramadan: a month back each year
        ("Pacific/Apia", (2011, 1, 1), (2012, 12, 31)),  # a whole day skipped, 2011-12-30
        ("Asia/Gaza", (2022, 1, 1), (2024, 12, 31)),
        ("Antarctica/Troll", (2025, 1, 1), (2025, 12, 31)),  # two hours of summer time
        ("Europe/Moscow", (2010, 1, 1), (2014, 12, 31)),  # summer time kept, then given up
    ],
)
def test_a_zone_clock_misses_no_change_of_odd_zones(zone, first, last):
    """Probed daily and then hourly, the clock still has every change an hourly look sees,
    each on its minute."""
    first, last = epoch_minute(*first), epoch_minute(*last)
    clock = zone_clock(zone, first, last)
    hours = range(first, last, 60)
    assert clock.at(list(hours)).tolist() == [zoneinfo_offset(zone, m) for m in hours]
    inside = [int(c) for c in clock.changes if first < c <= last]
    assert inside, "each case spans at least one change"
    for change in inside:
        for minute in (change - 1, change):
            assert clock.at(minute) == zoneinfo_offset(zone, minute), (zone, minute)


def test_the_clock_decides_the_phase_or_leaves_it_to_the_evidence():
    now = np.array([120, 60, 60, 90, UNKNOWN_OFFSET, 60])
    fitted = np.array([60, 120, 60, 60, 60, UNKNOWN_OFFSET])
    code, known = clock_phase(now, fitted)
    assert code.tolist() == [
        PHASE_PLUS,
        PHASE_MINUS,
        PHASE_ZERO,
        PHASE_UNDECIDED,  # not the one-hour shift: the wide tolerance
        PHASE_UNDECIDED,
        PHASE_UNDECIDED,
    ]
    assert known.tolist() == [True, True, True, True, False, False]


@pytest.mark.parametrize("shift", [-60, 60])
def test_a_fit_with_the_clock_moves_the_history_exactly_where_it_changed(shift):
    minutes, values, rate = series_with_dst(shift, days=DST_DAY + 1)
    clock = Clock(np.array([DST]), np.array([0, shift]))
    fitted_at = int(minutes[-1]) + 1
    baseline = fit_baseline(minutes, values, fitted_at=fitted_at, config=CONFIG, clock=clock)
    assert baseline.phase_moved and baseline.utc_offset == shift
    # One day after the change is too little for the search from the counts to move it
    # (it needs two), and the profile it fits is an hour off on the new day.
    blind = fit_baseline(minutes, values, fitted_at=fitted_at, config=CONFIG)
    assert not blind.phase_moved and blind.utc_offset == UNKNOWN_OFFSET
    after = slice(DST_DAY * DAY + 180, None)
    error = np.median(np.abs(baseline.expected(minutes[after]) / rate[after] - 1))
    blind_error = np.median(np.abs(blind.expected(minutes[after]) / rate[after] - 1))
    assert error < 0.06 and blind_error > 2 * error


def test_a_fit_with_a_clock_that_did_not_change_moves_nothing():
    minutes, values, _ = series_with_dst(0, days=10)
    baseline = fit_baseline(
        minutes, values, fitted_at=int(minutes[-1]) + 1, config=CONFIG, clock=Clock.fixed(-300)
    )
    assert not baseline.phase_moved and baseline.utc_offset == -300


@pytest.mark.parametrize("shift", [-60, 60])
def test_with_the_clock_the_phase_follows_from_the_first_minute_after_a_change(shift):
    minutes, values, _ = series_with_dst(shift)
    clock = Clock(np.array([DST]), np.array([0, shift]))
    result = detect_series(minutes, values, 1, CONFIG, clock)
    assert not any(o.opened_at >= START + 2 * DAY for o in result.outages)
    change = int(np.searchsorted(minutes, DST))
    seasonal = slice(4 * DAY, change)  # once the fit is seasonal (hgb)
    assert set(result.phase[seasonal].tolist()) == {PHASE_ZERO}
    # Read at the new offset from the change on, until a refit moves the profile onto it.
    assert result.phase[change] == (PHASE_PLUS if shift > 0 else PHASE_MINUS)
    assert np.all(result.phase[change : change + 20 * 60] == result.phase[change])
    assert np.all(result.phase[(DST_DAY + 2) * DAY :] == PHASE_ZERO)
