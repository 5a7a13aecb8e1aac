"""Each series' local clock, from its country: when its reporters' daily pattern moves.

A country's clock is that of its main zone: the first zone tzdata's zone.tab lists for it,
which is the most populous one, except where the table starts elsewhere (AU: Lord Howe, CA:
St John's, UA: Simferopol; checked over 2025-2027 against every country with zones that
change clocks on different days). Zones of one country that change on the same day but at
different hours (the US) move the national pattern by the same hour, which is all the
detector needs. A service's overall series mixes countries that change on different days,
so it has no clock: its phase is inferred from its counts (detection/core/phase.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from detection.core import UNKNOWN_OFFSET, Clock, zone_clock

_MAIN_ZONES = {
    "AU": "Australia/Sydney",
    "CA": "America/Toronto",
    "UA": "Europe/Kyiv",
    "XK": "Europe/Belgrade",  # in no row of zone.tab (not an ISO code); Kosovo keeps Serbia's time
}


def zone_tab() -> list[tuple[str, str]]:
    """(country, zone) of every row of tzdata's zone.tab, in its order."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    rows = (line.split("\t") for line in table.splitlines() if line and not line.startswith("#"))
    return [(row[0], row[2]) for row in rows]


@lru_cache(maxsize=1)
def _first_zones() -> dict[str, str]:
    zones: dict[str, str] = {}
    for country, zone in zone_tab():
        zones.setdefault(country, zone)
    return zones


def country_zone(country: str) -> str | None:
    """The IANA zone whose clock a country's series follows; None for the overall series or
    a code tzdata does not know."""
    if not country:
        return None
    return _MAIN_ZONES.get(country) or _first_zones().get(country)


def country_clock(country: str, first_minute: int, last_minute: int) -> Clock | None:
    zone = country_zone(country)
    return zone_clock(zone, first_minute, last_minute) if zone else None


def utc_offsets_at(countries: Sequence[str], minutes: np.ndarray) -> np.ndarray:
    """Each series' UTC offset over a tick's window of epoch minutes (UNKNOWN_OFFSET where it
    has no clock): (n,) at the newest minute when no clock changed within the window, else
    (n, w) so the core reads each bucket at its own offset. One clock lookup per country."""
    minutes = np.atleast_1d(np.asarray(minutes, dtype=np.int64))
    first, last = int(minutes[0]), int(minutes[-1])
    names = sorted(set(countries))
    rows = np.full((len(names), len(minutes)), UNKNOWN_OFFSET, dtype=np.int64)
    for k, country in enumerate(names):
        clock = country_clock(country, first, last)
        if clock is not None:
            rows[k] = clock.at(minutes)
    index = {country: k for k, country in enumerate(names)}
    which = np.fromiter((index[c] for c in countries), dtype=np.int64, count=len(countries))
    if (rows == rows[:, -1:]).all():
        return rows[which, -1]
    return rows[which]
