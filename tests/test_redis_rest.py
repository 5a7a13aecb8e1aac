"""A Redis that hangs is asked once, then left alone for a few seconds by every use in a
request (rate limits, the catalog's version, cached reads): before, each request waited out
the socket timeout two or three times and a web process served a tenth of its reports
(infra review F2)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from redis.exceptions import RedisError
from rest_framework.test import APIClient

from outagewatch import redis_rest
from reports.models import Report


class HangingRedis:
    """A TCP peer that accepts connections and never answers: a Redis stopped (SIGSTOP), a
    network that drops replies. Counts the connections made to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            self.held.append(conn)

    @property
    def connections(self) -> int:
        return len(self.held)

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hanging_redis() -> Iterator[HangingRedis]:
    peer = HangingRedis()
    yield peer
    peer.close()


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(redis_rest, "_clock", lambda: now[0])
    return now


def _checks(client, n: int):
    from outagewatch.api.throttling import _Check

    return [_Check(client, "rest-test", (repr(1.0), 60, 10, f"m{i}")) for i in range(n)]


def test_after_a_check_failed_no_check_asks_redis_until_the_rest_is_over(hanging_redis, clock):
    import redis

    from outagewatch.api.throttling import _sliding_windows

    client = redis.Redis(
        port=hanging_redis.port, socket_timeout=0.2, socket_connect_timeout=0.2, retry=None
    )
    first = _sliding_windows(_checks(client, 3))
    asked = hanging_redis.connections
    assert asked >= 1 and all(isinstance(r, RedisError) for r in first)

    for _ in range(5):
        rested = _sliding_windows(_checks(client, 2))
        assert all(isinstance(r, redis_rest.RedisResting) for r in rested)
    assert hanging_redis.connections == asked

    clock[0] += redis_rest.REST_SECONDS
    _sliding_windows(_checks(client, 1))
    assert hanging_redis.connections > asked  # asked again


def test_reports_while_redis_hangs_are_stored_and_ask_it_once(
    service, settings, hanging_redis, caplog
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{hanging_redis.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    api = APIClient()
    body = {"service": "acme", "problem": "login", "country": "DE"}
    statuses = [
        api.post("/api/v1/reports/", body, format="json", REMOTE_ADDR=f"203.0.113.{k}").status_code
        for k in range(1, 4)
    ]
    asked = hanging_redis.connections
    statuses += [
        api.post("/api/v1/reports/", body, format="json", REMOTE_ADDR=f"203.0.113.{k}").status_code
        for k in range(4, 12)
    ]
    assert api.get("/api/v1/status/").status_code == 200

    assert statuses == [201] * 11
    assert Report.objects.count() == 11 and not Report.objects.filter(counted=True).exists()
    # Only the first request waited on Redis (its rate limit); the others, and the read,
    # went on without it.
    assert 1 <= asked == hanging_redis.connections
