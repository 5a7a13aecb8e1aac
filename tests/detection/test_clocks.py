"""A series' clock from its country (detection.clocks)."""

import datetime as dt

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


def test_offsets_per_series_now():
    summer, winter = minute(2026, 7, 1), minute(2026, 12, 1)
    countries = ["DE", "", "US", "IN", "DE", "XX"]
    assert utc_offsets_at(countries, summer).tolist() == [
        120, UNKNOWN_OFFSET, -240, 330, 120, UNKNOWN_OFFSET
    ]  # fmt: skip
    assert utc_offsets_at(countries, winter).tolist() == [
        60, UNKNOWN_OFFSET, -300, 330, 60, UNKNOWN_OFFSET
    ]  # fmt: skip
    assert utc_offsets_at([], summer).tolist() == []


def test_a_country_clock_covers_a_fit_history():
    clock = country_clock("GB", minute(2026, 3, 1), minute(2026, 4, 15))
    assert clock.at([minute(2026, 3, 29, 0, 59), minute(2026, 3, 29, 1)]).tolist() == [0, 60]
    assert country_clock("", 0, 1) is None
