"""The minute-spaced logging filters (outagewatch.log_filters.SpacedFilter) in tests."""

from __future__ import annotations

import logging

from outagewatch.log_filters import SpacedFilter


def spaced_filter(logger: str) -> SpacedFilter:
    (found,) = [f for f in logging.getLogger(logger).filters if isinstance(f, SpacedFilter)]
    return found


def spaced_filters_reset() -> None:
    """Each test starts a minute of its own: a line another test's request logged (a 403, a
    foreign host) would hold back the one it checks for."""
    for logger in logging.Logger.manager.loggerDict.values():
        for found in getattr(logger, "filters", ()):
            if isinstance(found, SpacedFilter):
                found.reset()
