"""Shared fixtures: a real Redis for every test, catalog factories, API client."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def crowd_address(k: int) -> str:
    """The k-th member of a crowd: each in a network and a /16 block of its own (k < 51,200).

    A crowd's reports count one per network and a few per block (reports.networks), so test
    crowds must not share either.
    """
    return f"{11 + (k // 256) % 200}.{k % 256}.0.1"


def wait_until(predicate, *, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


def _redis_ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TEST_REDIS_URL (CI) or a private redis-server, never the developer's own Redis."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        if not _redis_ping(url):
            pytest.exit(f"TEST_REDIS_URL={url} does not answer", returncode=3)
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("The tests need Redis: apt-get install redis-server", returncode=3)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ow-redis-")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(lambda: _redis_ping(url), timeout=10, what="redis-server")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _use_test_redis(redis_url: str) -> Iterator[None]:
    from django.conf import settings
    from django.test import override_settings

    # The production cache (backend, timeouts) on the test Redis.
    caches = {
        "default": {**settings.CACHES["default"], "LOCATION": redis_url, "KEY_PREFIX": "owtest"}
    }
    with override_settings(CACHES=caches, REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url):
        yield


@pytest.fixture(scope="session", autouse=True)
def _unpadded_sign_ups() -> Iterator[None]:
    from django.test import override_settings

    # A quarter of a second per sign-up, hundreds of times over; tests/alerts/test_answer_time
    # turns it back on.
    with override_settings(SUBSCRIPTION_ANSWER_MIN_SECONDS=0):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from django.core.cache import cache

    from detection.cache import data_version_forget
    from outagewatch.redis_rest import redis_rest_forget
    from reports.cache import catalog_forget
    from reports.intake import marks_forget
    from tests.logs import spaced_filters_reset

    cache.clear()
    # The catalog held in process came from rows an earlier test rolled back; the data version
    # it remembers, from the Redis just cleared; so did the minutes it marked unchecked, a
    # failure of an earlier test's Redis, and the log lines held back this minute.
    catalog_forget()
    data_version_forget()
    marks_forget()
    redis_rest_forget()
    spaced_filters_reset()
    yield


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient  # lazily: core tests run without Django too

    return APIClient()


@pytest.fixture
def eager() -> Iterator[None]:
    """Run queued Celery tasks in-process (emails land in the locmem outbox)."""
    from outagewatch.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def problem_types(db):
    from reports.models import ProblemType

    rows = [("login", "Login"), ("website", "Website"), ("app", "App"), ("payments", "Payments")]
    return {
        slug: ProblemType.objects.update_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in rows
    }


@pytest.fixture
def make_service(db, problem_types):
    from reports.models import Category, Service

    category, _ = Category.objects.get_or_create(slug="test-category", defaults={"name": "Tests"})

    def make(
        slug: str = "acme", name: str | None = None, problems=("login", "website", "app"), **kw
    ):
        service, _ = Service.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name or slug.title(),
                "category": category,
                "website": f"https://{slug}.example",
                **kw,
            },
        )
        service.problem_types.set([problem_types[p] for p in problems])
        return service

    return make


@pytest.fixture
def service(make_service):
    return make_service("acme", "Acme Cloud")


@pytest.fixture
def throttle_rate(settings):
    """throttle_rate(scope, rate): lower one throttle scope for a test."""
    from rest_framework.throttling import SimpleRateThrottle

    # DRF copies the rates into the class at import time, so both places change.
    original = SimpleRateThrottle.THROTTLE_RATES

    def set_rate(scope: str, rate: str) -> None:
        rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
        SimpleRateThrottle.THROTTLE_RATES = rates

    yield set_rate
    SimpleRateThrottle.THROTTLE_RATES = original


@pytest.fixture
def midday(monkeypatch) -> dt.datetime:
    """The clock pinned at 12:00:30 UTC. Pages and the API word a time on another day
    differently ("since 23:30 UTC yesterday"), and a day's window crosses midnight, so tests
    that build their data around "now" would otherwise pass or fail by the hour they run."""
    from django.utils import timezone

    at = dt.datetime(2026, 11, 25, 12, 0, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: at)
    return at


@pytest.fixture
def redis_down(settings):
    """The cache points at a port where nothing listens: every throttle check fails."""
    free_tcp_port = free_port()

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_tcp_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    # Django's setting_changed handler rebuilds the cache connection from the new settings.
    yield
