"""The minute-spaced logging filters (outagewatch.log_filters.SpacedFilter) in tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from outagewatch.log_filters import SpacedFilter


def spaced_filter(logger: str) -> SpacedFilter:
    (found,) = [f for f in logging.getLogger(logger).filters if isinstance(f, SpacedFilter)]
    return found


@contextmanager
def fresh_minute(logger: str) -> Iterator[SpacedFilter]:
    """At most one line a minute per process: a test starts a minute of its own."""
    spaced = spaced_filter(logger)
    spaced.reset()
    try:
        yield spaced
    finally:
        spaced.reset()
