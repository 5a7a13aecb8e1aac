"""Versioned read cache: every detection tick bumps the version, so cached reads are
invalidated at once without hunting for keys. The version doubles as an ETag seed."""

from __future__ import annotations

import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
VERSION_KEY = "detection:data-version"


def data_version() -> int:
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, 1, timeout=None)
            version = cache.get(VERSION_KEY, 1)
        return int(version)
    except RedisError:
        logger.warning("Cache unavailable; reads are served uncached", exc_info=True)
        return 0


def data_version_bump() -> None:
    """Called after each tick commits: everything read before is stale."""
    try:
        cache.add(VERSION_KEY, 1, timeout=None)
        cache.incr(VERSION_KEY)
    except RedisError:
        logger.warning("Cache unavailable; could not invalidate reads", exc_info=True)
