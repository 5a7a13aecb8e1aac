"""Versioned read cache: every detection tick bumps the version, so cached reads are
invalidated at once without hunting for keys.

The version lives only in Redis. When Redis restarts (or evicts the key) it starts again,
from the current time in microseconds rather than from 1, so a new counter never reuses a
number that keys cached before the restart; ETags are hashes of the body, not the version
(detection.api.views), so a reset can never make a client trust a stale answer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.core.cache import cache
from redis.exceptions import RedisError

from outagewatch.redis_rest import REST_SECONDS, RedisResting, redis_failed, redis_resting

logger = logging.getLogger(__name__)
VERSION_KEY = "detection:data-version"
# A process asks Redis for the version at most this often. The version moves once a minute
# (each tick) and API answers may be reused for 15 s anyway
# (outagewatch.api.conditional.MAX_AGE_SECONDS), so a read may lag a tick by up to a second,
# and the round trip (a third of a cached read's cost, bench/load/README.md) is paid once a
# second per process, not once per request.
VERSION_CHECK_SECONDS = 1.0
T = TypeVar("T")

_known: tuple[float, int] | None = None  # (valid until, version); version 0: no cache


def data_version() -> int:
    global _known
    known = _known
    if known is not None and _clock() < known[0]:
        return known[1]
    if redis_resting():  # it failed a moment ago (outagewatch.redis_rest): reads uncached
        return 0
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, _fresh_version(), timeout=None)
            version = cache.get(VERSION_KEY) or _fresh_version()
    except RedisError as exc:
        if redis_failed(exc):
            logger.warning(
                "Cache unavailable (%s: %s); reads are served uncached for %.0f s",
                type(exc).__name__,
                exc,
                REST_SECONDS,
            )
        return 0
    version = int(version)
    _known = (_clock() + VERSION_CHECK_SECONDS, version)
    return version


def _clock() -> float:
    return time.monotonic()


def data_version_forget() -> None:
    """Ask Redis again on the next read (this process bumped it, or a test reset Redis)."""
    global _known
    _known = None


def data_version_bump() -> None:
    """Called after each tick commits, and after each catalog edit (detection.signals):
    everything read before is stale.

    A failure is one line per rest of Redis (outagewatch.redis_rest), without a traceback:
    a catalog load or an admin action on hundreds of rows with Redis away wrote a traceback
    per row (271 of them, 14,000 lines, for one edit of every service).
    """
    try:
        if redis_resting():
            raise RedisResting()
        cache.add(VERSION_KEY, _fresh_version(), timeout=None)
        cache.incr(VERSION_KEY)
    except RedisError as exc:
        if redis_failed(exc):
            logger.warning(
                "Cache unavailable (%s: %s); could not invalidate reads", type(exc).__name__, exc
            )
    finally:
        data_version_forget()


def _fresh_version() -> int:
    # Each bump is a Redis round trip (ticks bump once a minute): a counter started from
    # the clock in microseconds is ahead of every number an earlier one reached (never 0,
    # which means "no cache").
    return time.time_ns() // 1_000


def cached_read(name: str, compute: Callable[[], T], *, timeout: int = 300) -> T:
    """`compute()` cached under the current data version, so the next tick invalidates it.

    The timeout bounds staleness if ticks stop (reads such as "last 15 minutes" move with
    the clock). Without a working cache the value is just computed.
    """
    version = data_version()
    if version == 0:
        return compute()
    key = f"detection:read:{version}:{name}"
    try:
        hit = cache.get(key)
    except RedisError as exc:
        logger.warning("Cache unavailable (%s); computing %s", type(exc).__name__, name)
        return compute()
    if hit is not None:
        return hit
    with computing(key):
        # Another thread of this process may have computed it while this one waited.
        with contextlib.suppress(RedisError):
            hit = cache.get(key)
        if hit is not None:
            return hit
        value = compute()
        try:
            cache.set(key, value, timeout)
        except RedisError as exc:
            logger.warning("Cache unavailable (%s); could not store %s", type(exc).__name__, name)
    return value


class _KeyLocks:
    """One lock per key while anyone holds or waits for it (then forgotten: keys carry the
    data version, so a new set comes every minute)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}  # key -> [lock, holders and waiters]

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


_key_locks = _KeyLocks()


def computing(key: str):
    """Held while this process computes the value cached under `key`: one thread at a time.

    Each tick makes every cached read stale at once; without it every request in flight for
    a popular page or answer (a giant service's, on the day it breaks) computed the same
    value, each with the same queries. A lock per key, not shared by keys: a computation
    that reads another cached value (a page's answer built from its live read) can never
    wait on itself.
    """
    return _key_locks.hold(key)
