"""Excess that comes back at the same hour in consecutive weeks is the series' pattern.

The fit leaves known outage rows out, so that an outage does not teach the baseline to expect
it. But a flagged excess that the profile itself caused (a weekly edge the fit placed an hour
off, a weekly rush it has not learned) is left out too, so the fit never sees the hour it got
wrong, flags it again the next week and leaves it out again: the alarm feeds itself. On the
simulator a series at 84/min whose weekend starts at local midnight alarmed at that edge
week after week this way. A pattern comes back every week; outages come back at the same
hour only by chance, and two in consecutive weeks rarely. So an excluded row is kept in the
fit when its hour of the week was also excluded the week before or the week after: the
profile learns the hour, and the alarms it caused stop. Such rows are still left out of the
dispersion estimate (fitting._with_dispersion): they are not the series' noise, and when they
are two outages after all, counting them as noise blunted the detector for weeks
(bench/README.md, "Recurring excess is learned").
"""

from __future__ import annotations

import numpy as np

from .timegrid import MINUTES_PER_WEEK, minute_of_week

_HOUR = 60
HOURS_PER_WEEK = MINUTES_PER_WEEK // _HOUR


def recurring(minutes: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Of the excluded rows, those whose hour of the week was also excluded the week before
    or the week after (bool, shaped like minutes)."""
    minutes = np.asarray(minutes, dtype=np.int64)
    excluded = np.asarray(excluded, dtype=bool)
    out = np.zeros(len(minutes), dtype=bool)
    if not excluded.any():
        return out
    mow = minute_of_week(minutes[excluded]).astype(np.int64)
    week = (minutes[excluded] - mow) // MINUTES_PER_WEEK
    # One code per (week, hour of the week): the same hour a week later is HOURS_PER_WEEK on.
    code = week * HOURS_PER_WEEK + mow // _HOUR
    flagged = np.unique(code)
    out[excluded] = np.isin(code + HOURS_PER_WEEK, flagged) | np.isin(
        code - HOURS_PER_WEEK, flagged
    )
    return out
