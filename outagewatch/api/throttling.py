"""Rate limits per client, stored in the shared Redis cache.

When Redis cannot be reached the limit cannot be checked. Refusing every report then would
turn a cache outage into lost reports, and allowing them as usual would let anyone flood a
series while the guard is down. So the request goes through, marked unchecked
(`throttle_unchecked`): a report stored from it is kept but not counted as evidence.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from redis.exceptions import NoScriptError, RedisError
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from outagewatch.clients import client_address
from outagewatch.group_commit import GroupCommit

logger = logging.getLogger(__name__)
UNCHECKED_ATTR = "throttle_unchecked"
# One log line per this many seconds while Redis is down, not a traceback per request.
_LOG_EVERY_SECONDS = 60.0
_last_logged = 0.0
_log_lock = threading.Lock()


def throttle_unchecked(request: Any) -> bool:
    """True when a rate limit could not be checked for this request (Redis down)."""
    request = getattr(request, "_request", request)  # DRF Request wraps the HttpRequest
    return bool(getattr(request, UNCHECKED_ATTR, False))


def _log_unavailable(exc: RedisError) -> None:
    global _last_logged
    now = time.monotonic()
    with _log_lock:
        if now - _last_logged < _LOG_EVERY_SECONDS and _last_logged:
            return
        _last_logged = now
    logger.warning(
        "Throttle cache unavailable (%s: %s); accepting requests but not counting reports",
        type(exc).__name__,
        exc,
    )


def client_ident(request: Any) -> str:
    """A keyed hash of the client's address: throttle keys in Redis never hold the address."""
    return salted_hmac("outagewatch.throttle", client_address(request)).hexdigest()[:32]


# DRF's SimpleRateThrottle keeps each client's request times as a pickled list: a GET and a
# SET per request (two round trips, and two requests at once can both pass the last slot).
# The same sliding window as a sorted set, trimmed, counted and added to in one atomic call.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return {1, '0'}
end
return {0, redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]}
"""
_SLIDING_WINDOW_SHA = hashlib.sha1(_SLIDING_WINDOW.encode()).hexdigest()


@dataclass(frozen=True)
class _Check:
    client: Any  # the redis.Redis that holds the key
    key: str
    args: tuple[Any, ...]


def _sliding_window(check: _Check) -> Any:
    """EVALSHA, loading the script on the first call after a Redis (re)start."""
    try:
        return check.client.evalsha(_SLIDING_WINDOW_SHA, 1, check.key, *check.args)
    except NoScriptError:
        return check.client.eval(_SLIDING_WINDOW, 1, check.key, *check.args)


def _sliding_windows(checks: Sequence[_Check]) -> list[Any]:
    """Several clients' checks in one pipeline (one round trip), each still atomic.

    Redis unreachable: every check in the batch gets the error (not a retry each, which would
    make the last one wait out every connection timeout before it).
    """
    client = checks[0].client
    if any(check.client is not client for check in checks):
        return [_sliding_window(check) for check in checks]  # several servers: one by one
    for attempt in range(2):
        pipe = client.pipeline(transaction=False)
        for check in checks:
            pipe.evalsha(_SLIDING_WINDOW_SHA, 1, check.key, *check.args)
        try:
            return pipe.execute()
        except NoScriptError:
            if attempt:
                raise
            client.script_load(_SLIDING_WINDOW)  # Redis restarted: load it, send again
        except RedisError as exc:
            return [exc] * len(checks)
    raise AssertionError("unreachable")


# The checks of concurrent requests of this process share one Redis round trip.
_checks: GroupCommit[_Check, Any] = GroupCommit(_sliding_windows, _sliding_window, max_batch=64)


class RedisRateThrottle(SimpleRateThrottle):
    """SimpleRateThrottle's limit (num_requests per duration, sliding) in one Redis call."""

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        client_of = getattr(getattr(self.cache, "_cache", None), "get_client", None)
        if client_of is None:  # not a Redis cache: DRF's own bookkeeping
            return super().allow_request(request, view)
        client = client_of(self.key, write=True)
        self.now = self.timer()
        allowed, oldest = _checks.submit(
            _Check(
                client,
                self.cache.make_and_validate_key(self.key),
                (
                    repr(self.now),
                    self.duration,
                    self.num_requests,
                    os.urandom(8).hex(),  # the member: unique, two requests in one instant are two
                ),
            )
        )
        if allowed:
            return True
        self._retry_after = max(0.0, self.duration - (self.now - float(oldest)))
        return False

    def wait(self) -> float | None:
        retry_after = getattr(self, "_retry_after", None)
        return super().wait() if retry_after is None else retry_after


class _Unchecked:
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except RedisError as exc:
            _log_unavailable(exc)
            setattr(getattr(request, "_request", request), UNCHECKED_ATTR, True)
            return True


class ScopedClientThrottle(_Unchecked, ScopedRateThrottle, RedisRateThrottle):
    """DRF scoped throttle keyed by (a hash of) our trusted client address."""

    def get_ident(self, request: Any) -> str:
        return client_ident(request)


class ClientRateLimit(_Unchecked, RedisRateThrottle):
    """The same limit as an API scope, usable from plain Django views."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ident(request)}

    def check(self, request: HttpRequest) -> bool:
        return self.allow_request(request, None)
