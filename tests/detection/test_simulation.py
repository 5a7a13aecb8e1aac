"""The synthetic series generator (pure numpy)."""

import csv
import json

import numpy as np

from detection.simulation import (
    DEFAULT_START_MINUTE,
    iso_minute,
    simulate_rates,
    simulate_series,
    write_labels_json,
    write_series_csv,
)


def test_same_seed_same_series():
    a = simulate_series(seed=3, weeks=1)
    b = simulate_series(seed=3, weeks=1)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.outages == b.outages


def test_volume_matches_requested_base_rate():
    s = simulate_series(seed=4, weeks=1, base_rate=20.0, outages_per_week=0)
    assert 15.0 < s.base_rate[: 7 * 1440].mean() < 25.0
    assert s.values.dtype == np.int64 and s.values.min() >= 0


def test_labels_lie_inside_the_series_and_add_reports():
    s = simulate_series(seed=5, weeks=3, outages_per_week=2)
    assert s.outages
    for o in s.outages:
        assert s.minutes[0] <= o.start < o.end <= s.minutes[-1] + 1
        assert 5 <= o.end - o.start <= 180
        assert o.extra_reports >= 0


def test_gaps_are_zero_and_floods_count_once():
    s = simulate_series(seed=6, weeks=2, gaps_per_week=2, floods_per_week=3)
    assert s.gaps and s.floods
    for start, end in s.gaps:
        assert not s.values[start - s.minutes[0] : end - s.minutes[0]].any()
    assert s.raw_values.sum() > s.values.sum()


def test_rates_expose_expected_and_outage_windows():
    r = simulate_rates(seed=7, weeks=1, outages_per_week=3)
    assert r.rate.shape == r.base_rate.shape == r.minutes.shape
    assert r.outages
    for o in r.outages:
        window = slice(o.start - r.minutes[0], o.end - r.minutes[0])
        assert np.all(r.rate[window] > r.base_rate[window])


def test_csv_and_labels_files(tmp_path):
    s = simulate_series(seed=8, weeks=0.1, outages_per_week=20)
    write_series_csv(tmp_path / "s.csv", s.minutes, s.values)
    write_labels_json(tmp_path / "s.json", s)
    with open(tmp_path / "s.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["timestamp", "value"]
    assert rows[1][0] == iso_minute(DEFAULT_START_MINUTE) == "2026-11-02T00:00:00Z"
    assert len(rows) == len(s.minutes) + 1
    labels = json.loads((tmp_path / "s.json").read_text())
    assert labels["labels"] == [list(o.as_label()) for o in s.outages]
