"""After Redis fails to answer, a process leaves it alone for a few seconds.

A Redis that hangs costs every call its socket timeout (REDIS_SOCKET_TIMEOUT): a request asks
it for its rate limit, for the catalog's version and for cached reads, so each request waited
0.5-1.5 s and a web process served a tenth of its reports (infra review, 2026-12-06). One
failure, whichever use met it, rests them all for REST_SECONDS: reads are served uncached,
reports are stored uncounted (reports.intake counts those minutes as unheard), and the catalog
keeps its copy. Then the next call asks again.
"""

from __future__ import annotations

import math
import threading
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

REST_SECONDS = 5.0

_lock = threading.Lock()
_until = -math.inf


class RedisResting(RedisConnectionError):
    """Raised instead of asking a Redis that failed within REST_SECONDS."""

    def __init__(self) -> None:
        super().__init__(f"Redis failed less than {REST_SECONDS:g} s ago; not asked")


def _clock() -> float:
    return time.monotonic()  # tests move it


def redis_resting() -> bool:
    """Whether a call should go on without Redis now."""
    return _clock() < _until


def redis_failed(exc: RedisError) -> bool:
    """Remember that Redis failed. True for the failure that starts a rest, the one worth a
    log line: the threads that were waiting on it fail together."""
    global _until
    if isinstance(exc, RedisResting):
        return False
    with _lock:
        now = _clock()
        if now < _until:
            return False
        _until = now + REST_SECONDS
        return True


def redis_rest_forget() -> None:
    """Ask Redis again on the next call (tests that restore it)."""
    global _until
    _until = -math.inf
