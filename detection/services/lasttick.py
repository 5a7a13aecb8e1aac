"""What this process's last committed tick left for the next one.

It holds only while the tick cursor is as that tick left it: then no other tick ran since,
so the state rows hold exactly what it wrote (only the tick writes them), and the buckets
it read can have changed only where the aggregation still recounts. The readers
(states_load, counts_recent) use it where that gives exactly what a fresh read gives.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detection.core import DetectorState
    from detection.services.series import SeriesKey, WindowRead


@dataclass(frozen=True, eq=False)
class LastTick:
    cursor: tuple[Any, Any]  # (position, claimed_at) as the tick left it
    keys: list[SeriesKey]  # the series it judged; row i of state is keys[i]
    state: DetectorState  # as written to the rows; read-only arrays
    window: WindowRead  # the buckets it read


_last: LastTick | None = None


def last_tick(found: tuple[Any, Any] | None) -> LastTick | None:
    """What the last tick left, if the claim found the cursor as that tick left it."""
    if found is None or _last is None or found != _last.cursor:
        return None
    return _last


def last_tick_remember(last: LastTick) -> None:
    """After the tick's commit."""
    global _last
    for f in fields(last.state):
        getattr(last.state, f.name).setflags(write=False)  # a later tick must not change it
    _last = last


def last_tick_forget() -> None:
    """Drop it: the next tick reads everything back."""
    global _last
    _last = None
