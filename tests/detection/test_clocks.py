"""A series' clock from its country (detection.clocks)."""

import datetime as dt

import numpy as np

from detection.clocks import country_clock, country_zone, utc_offsets_at
from detection.core import UNKNOWN_OFFSET


def minute(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp()) // 60


def test_a_country_follows_its_main_zone():
    assert country_zone("DE") == "Europe/Berlin"
    assert country_zone("US") == "America/New_York"
    # Where tzdata's table starts with a small zone whose clock changes on other days.
    assert country_zone("AU") == "Australia/Sydney"
    assert country_zone("CA") == "America/Toronto"
    assert country_zone("") is None  # a service's overall series mixes countries
    assert country_zone("XX") is None


def test_offsets_per_series_over_a_tick_window():
    summer, winter = minute(2026, 7, 1), minute(2026, 12, 1)
    countries = ["DE", "", "US", "IN", "DE", "XX"]
    # No clock changed within the window: one offset per series, at the newest minute.
    assert utc_offsets_at(countries, np.arange(summer - 59, summer + 1)).tolist() == [
        120, UNKNOWN_OFFSET, -240, 330, 120, UNKNOWN_OFFSET
    ]  # fmt: skip
    assert utc_offsets_at(countries, np.array([winter])).tolist() == [
        60, UNKNOWN_OFFSET, -300, 330, 60, UNKNOWN_OFFSET
    ]  # fmt: skip
    assert utc_offsets_at([], np.array([summer])).tolist() == []
    # Berlin went back an hour at 01:00 UTC on 25 October 2026: the window 00:31-01:30 holds
    # the change, so every series gets each bucket's own offset.
    change = minute(2026, 10, 25, 1)
    window = np.arange(change - 29, change + 31)
    offsets = utc_offsets_at(["DE", "", "IN"], window)
    assert offsets.shape == (3, 60)
    assert offsets[0, :29].tolist() == [120] * 29 and offsets[0, 29:].tolist() == [60] * 31
    assert (offsets[1] == UNKNOWN_OFFSET).all() and (offsets[2] == 330).all()


def test_a_country_clock_covers_a_fit_history():
    clock = country_clock("GB", minute(2026, 3, 1), minute(2026, 4, 15))
    assert clock.at([minute(2026, 3, 29, 0, 59), minute(2026, 3, 29, 1)]).tolist() == [0, 60]
    assert country_clock("", 0, 1) is None
