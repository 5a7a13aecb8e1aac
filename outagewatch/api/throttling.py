"""Rate limits per client, stored in the shared Redis cache.

A client is an IPv4 address or an IPv6 /64 (outagewatch.clients; an IPv6 address that carries
an IPv4 one, 6to4, Teredo or NAT64, is that IPv4 address: clients.counted_address). An IPv6
client's /48 also has an allowance of its own, THROTTLE_IPV6_SITE_FACTOR times a client's: one
machine can hold a whole /48 (a tunnel broker's, free), whose /64s would otherwise each have
the full limit, as many reports, sign-ups and admin password guesses a minute as it cared to
send.

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
from typing import Any, cast

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from outagewatch.clients import client_site, client_unit
from outagewatch.group_commit import GroupCommit
from outagewatch.keyed_hash import keyed_hash
from outagewatch.redis_rest import RedisResting, redis_failed, redis_resting

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
    """A keyed hash of the client (its address, or its IPv6 /64: clients.client_unit):
    throttle keys in Redis never hold the address."""
    return keyed_hash("outagewatch.throttle", client_unit(request), "sha1")[:32]


def site_ident(request: Any) -> str | None:
    """A keyed hash of an IPv6 client's /48 (clients.client_site); None for IPv4."""
    site = client_site(request)
    return None if site is None else keyed_hash("outagewatch.throttle", site, "sha1")[:32]


# The cache backend and its Redis client, which every request would otherwise look up again
# (Django builds a new backend for each request's context under ASGI); cleared when a test
# changes CACHES.
_resolved: dict[str, Any] = {}


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        _resolved.clear()


def _redis_cache() -> tuple[Any, Any] | None:
    """(the default cache backend, the redis.Redis its writes go to); None when the cache is
    not Redis (DRF's own bookkeeping then)."""
    try:
        return _resolved["redis"]
    except KeyError:
        backend = caches[DEFAULT_CACHE_ALIAS]
        client_of = getattr(getattr(backend, "_cache", None), "get_client", None)
        # Every write goes to the first server, whatever the key (Django's RedisCacheClient).
        found = None if client_of is None else (backend, client_of(None, write=True))
        return _resolved.setdefault("redis", found)


# DRF's SimpleRateThrottle keeps each client's request times as a pickled list: a GET and a
# SET per request (two round trips, and two requests at once can both pass the last slot).
# The same sliding window as a sorted set, trimmed, counted and added to in one atomic call.
# A check whose member is already in the window was admitted before: a batch sent again after
# a read timeout (did it run? the reply never came) must not count it twice.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZSCORE', key, ARGV[4]) then
  return {1, '0'}
end
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


def _round_trip(client: Any, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """The commands on one pooled connection, sent in one write, replies read in order; a
    command's own error (a script Redis forgot) is its reply, the others still count.

    Below redis-py's command layer on purpose: its per-command retry and instrumentation
    wrappers and a pipeline object per batch cost more CPU than the round trip itself (about
    half of the throttle's time on the report endpoint, bench/load/README.md). A connection that
    fails is retried once on a fresh one, as redis-py's retry would after a Redis restart; a
    batch that ran but whose replies were lost is safe to send again (_SLIDING_WINDOW).
    """
    pool = client.connection_pool
    for attempt in range(2):
        connection = pool.get_connection()
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            return [_reply(connection) for _ in commands]
        except (RedisConnectionError, RedisTimeoutError):
            connection.disconnect()
            if attempt:
                raise
        except BaseException:
            connection.disconnect()  # replies may be left unread: never reuse it
            raise
        finally:
            pool.release(connection)
    raise AssertionError("unreachable")


def _reply(connection: Any) -> Any:
    try:
        return connection.read_response()
    except ResponseError as exc:
        return exc


def _evalsha(check: _Check) -> tuple[Any, ...]:
    return ("EVALSHA", _SLIDING_WINDOW_SHA, 1, check.key, *check.args)


def _sliding_windows(checks: Sequence[_Check]) -> list[Any]:
    """Several clients' checks in one round trip, each still atomic; a failed check's result is
    its exception.

    Redis unreachable: every check in the batch gets the error (not a retry each, which would
    make the last one wait out every connection timeout before it), and for a few seconds
    after, checks are not sent at all (outagewatch.redis_rest).
    """
    if redis_resting():
        return [RedisResting() for _ in checks]
    client = checks[0].client
    if any(check.client is not client for check in checks):  # several servers: one by one
        return [_sliding_windows([check])[0] for check in checks]
    try:
        results = _round_trip(client, [_evalsha(check) for check in checks])
        forgotten = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if forgotten:
            # Redis restarted: load the script and send again only what did not run.
            _round_trip(client, [("SCRIPT", "LOAD", _SLIDING_WINDOW)])
            again = _round_trip(client, [_evalsha(checks[i]) for i in forgotten])
            for i, result in zip(forgotten, again, strict=True):
                results[i] = result
        return results
    except RedisError as exc:
        redis_failed(exc)
        return [exc] * len(checks)


def _sliding_window(check: _Check) -> Any:
    result = _sliding_windows([check])[0]
    if isinstance(result, Exception):
        raise result
    return result


# The checks of concurrent requests of this process share one Redis round trip.
_checks: GroupCommit[_Check, Any] = GroupCommit(_sliding_windows, _sliding_window, max_batch=64)


class RedisRateThrottle(SimpleRateThrottle):
    """SimpleRateThrottle's limit (num_requests per duration, sliding) in one Redis call."""

    # Set by SimpleRateThrottle.__init__ from the rate (allow_request reads them only with one).
    num_requests: int
    duration: int

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        redis_cache = _redis_cache()
        if redis_cache is None:  # not a Redis cache: DRF's own bookkeeping
            return super().allow_request(request, view)
        self.now = self.timer()
        if not self._admit(redis_cache, self.key, self.num_requests):
            return False
        site = site_ident(request)
        if site is None:
            return True
        key = self.cache_format % {"scope": self.scope, "ident": f"site-{site}"}
        return self._admit(redis_cache, key, self.num_requests * settings.THROTTLE_IPV6_SITE_FACTOR)

    def _admit(self, redis_cache: tuple[Any, Any], key: str, limit: int) -> bool:
        """One sliding window's check; when refused, how long until its oldest entry ages."""
        backend, client = redis_cache
        allowed, oldest = _checks.submit(
            _Check(
                client,
                # The key is ours (scope and hex hashes): no need for make_and_validate_key's
                # scan for characters memcached refuses.
                backend.make_key(key),
                (
                    repr(self.now),
                    self.duration,
                    limit,
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


# The allowance every request spends that cannot change anything (GET, HEAD, OPTIONS).
READ_SCOPE = "reads"


class _SafeMethodsRead(ScopedRateThrottle):
    """A view's scope limits what it writes; its safe methods spend the reads' allowance.

    DRF checks throttles for every method, so an OPTIONS to /api/v1/reports/ (a browser's
    CORS preflight, a client discovering the API) spent THROTTLE_REPORTS, and a client that
    asked nine times had its one real report refused with 429. They are still bounded, by
    THROTTLE_READS. A refused POST (400, 415) keeps counting as a submission: that is
    the guard against probing or flooding with invalid bodies.
    """

    def allow_request(self, request: Any, view: Any) -> bool:
        scope = getattr(view, self.scope_attr, None)
        if not scope:
            return True
        self.scope = READ_SCOPE if request.method in SAFE_METHODS else scope
        self.rate = self.get_rate()
        # get_rate raises for a scope without a rate, and of a rate parse_rate gives numbers.
        self.num_requests, self.duration = cast(tuple[int, int], self.parse_rate(self.rate))
        # ScopedRateThrottle's own allow_request would read the view's scope again.
        return super(ScopedRateThrottle, self).allow_request(request, view)


class ScopedClientThrottle(_Unchecked, _SafeMethodsRead, RedisRateThrottle):
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
