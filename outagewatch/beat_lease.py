"""Which Celery beat sends the periodic jobs, and when it was last heard: kept in Redis.

Two beats (a second host, a rolling deploy, `make run` beside a systemd beat) sent every job
twice: every minute's tick and sweep, the cold refit's fits every quarter of an hour, and the
nightly refit's first batch, or its whole chain when the two starts fell in different minutes
(docs/deployment.md, "Celery worker and beat"). So a beat sends only while it holds a lease,
a Redis key naming it with a TTL that it renews; any other beat stands by and takes the lease
when it expires. Its heartbeat (when it last renewed) is a key of its own that outlives the
lease, so /api/v1/health/ tells a beat stopped an hour ago from one never started.

Written by beat itself (outagewatch.beat.Scheduler), never by a task: a worker running
while beat is stopped must not look like beat.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches

# The leader renews its lease every RENEW_SECONDS; it lapses LEASE_SECONDS after the last
# renewal; a standby tries to take it every STANDBY_POLL_SECONDS. A beat killed without
# releasing it is replaced within LEASE_SECONDS + STANDBY_POLL_SECONDS (55 s); one stopped
# cleanly releases it, and is replaced within STANDBY_POLL_SECONDS.
LEASE_SECONDS = 45
RENEW_SECONDS = 15
STANDBY_POLL_SECONDS = 10
# The health check fails once the heartbeat is older than this: a takeover after a kill
# (at most RENEW_SECONDS + LEASE_SECONDS + STANDBY_POLL_SECONDS = 70 s) does not fail it.
HEARTBEAT_STALE_SECONDS = 90
# Kept long after beat stops, so the health check can say since when.
HEARTBEAT_KEEP_SECONDS = 7 * 86400

LEADER_KEY = "beat:leader"
HEARTBEAT_KEY = "beat:heartbeat"
STANDBY_KEY = "beat:standby"

# Take the lease if it is free or already ours (renewal), in one step: a GET then a SET would
# let two standbys both take a lease that had just lapsed.
_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Heartbeat:
    at: datetime
    by: str  # the beat: host, process and a random tag ("web01 pid 4321 #a1b2")


def beat_name() -> str:
    """This process's name in the lease: readable in a log, unique even when two containers
    share a host name and a process number."""
    return f"{socket.gethostname()} pid {os.getpid()} #{secrets.token_hex(2)}"


def _redis() -> tuple[Any, Any]:
    """(the default cache, the redis.Redis its writes go to): the lease lives beside the
    cache's keys, under its KEY_PREFIX, so stacks sharing a Redis (tests) keep apart."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return backend, backend._cache.get_client(None, write=True)  # type: ignore[attr-defined]


class Lease:
    """The leader's lease, from one beat's side. Every call may raise redis.RedisError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def take(self) -> bool:
        """Take the lease or renew it: whether this beat holds it now."""
        backend, client = _redis()
        key = backend.make_key(LEADER_KEY)
        return bool(client.eval(_TAKE, 1, key, self.name, LEASE_SECONDS))

    def holder(self) -> str | None:
        backend, client = _redis()
        value = client.get(backend.make_key(LEADER_KEY))
        return None if value is None else value.decode()

    def release(self) -> None:
        backend, client = _redis()
        client.eval(_RELEASE, 1, backend.make_key(LEADER_KEY), self.name)

    def beat(self, *, at: datetime) -> None:
        """The leader's heartbeat: it has sent every job due up to `at`."""
        caches[DEFAULT_CACHE_ALIAS].set(
            HEARTBEAT_KEY, {"at": at, "by": self.name}, timeout=HEARTBEAT_KEEP_SECONDS
        )

    def stand_by(self) -> None:
        """Mark that a second beat waits, for the health check's detail."""
        caches[DEFAULT_CACHE_ALIAS].set(STANDBY_KEY, self.name, timeout=3 * STANDBY_POLL_SECONDS)


def heartbeat_read() -> tuple[Heartbeat | None, str | None]:
    """The leader's last heartbeat and the name of a beat standing by, if any. Raises what
    the cache's client raises when Redis does not answer."""
    found = caches[DEFAULT_CACHE_ALIAS].get_many([HEARTBEAT_KEY, STANDBY_KEY])
    value = found.get(HEARTBEAT_KEY)
    heartbeat = None if value is None else Heartbeat(at=value["at"], by=value["by"])
    return heartbeat, found.get(STANDBY_KEY)
