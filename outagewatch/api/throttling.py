"""Rate limits per client, stored in the shared Redis cache."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from outagewatch.clients import client_address

logger = logging.getLogger(__name__)


class _FailOpen:
    """A cache outage must not turn into refused reports: allow and log instead."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except RedisError:
            logger.warning("Throttle cache unavailable; allowing request", exc_info=True)
            return True


class ScopedClientThrottle(_FailOpen, ScopedRateThrottle):
    """DRF scoped throttle keyed by our trusted client address."""

    def get_ident(self, request: Any) -> str:
        return client_address(request)


class ClientRateLimit(_FailOpen, SimpleRateThrottle):
    """The same limit as an API scope, usable from plain Django views."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

    def check(self, request: HttpRequest) -> bool:
        return self.allow_request(request, None)
