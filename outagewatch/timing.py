"""Answers whose duration must not tell what happened."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def lasting_at_least(seconds: float) -> Iterator[None]:
    """Pad the block to at least `seconds` (0: no padding), however it ends.

    For an answer that is the same whatever happened, so that its timing is too: a sign-up
    for an address that already gets these alerts skips the writes and the queued email
    of a new one, and answered in half the time (privacy tester, forty-fifth session: 40
    of 40 addresses told apart by the fastest of three requests)."""
    start = time.monotonic()
    try:
        yield
    finally:
        left = seconds - (time.monotonic() - start)
        if left > 0:
            time.sleep(left)
