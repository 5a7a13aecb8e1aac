"""The Redis cache backend, with one client and one connection pool per process.

Django's RedisCache builds its client, and with it a connection pool, per cache handler; the
handlers are context-local, and under ASGI every request runs in a context of its own. So
each request opened a new TCP connection to Redis for its first cache call (throttle, read
cache) and built a new redis.Redis object for every call after that. Here every handler with
the same servers and options shares one client and one pool for the life of the process
(redis-py's pool is thread-safe and starts afresh in a forked child).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[str, SharedRedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCacheClient(RedisCacheClient):
    """Hands out the same redis.Redis per server instead of a new one per call."""

    if TYPE_CHECKING:  # Django's, missing from its stubs

        def _get_connection_pool_index(self, write: bool) -> int: ...

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._redis: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._redis.get(index)
        if client is None:
            client = self._redis.setdefault(index, super().get_client(key, write=write))
        return client


class RedisCache(DjangoRedisCache):
    # Django's, missing from its stubs.
    _servers: list[str]
    _options: dict[str, Any]

    @cached_property
    def _cache(self) -> SharedRedisCacheClient:
        key = repr((self._servers, sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = SharedRedisCacheClient(self._servers, **self._options)
            return client
