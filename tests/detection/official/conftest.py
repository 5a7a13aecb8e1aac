from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.detection.official.statusserver import StatusServer

# The clock of these tests: shortly after the recorded incidents (payloads/) were published.
NOW = datetime(2026, 11, 30, 9, 45, tzinfo=UTC)


@pytest.fixture
def status_server() -> Iterator[StatusServer]:
    server = StatusServer().start()
    yield server
    server.stop()


@pytest.fixture
def official_settings(settings):
    settings.OFFICIAL_HTTP_ALLOW_LOOPBACK = True
    settings.OFFICIAL_POLL_SECONDS = 120
    settings.OFFICIAL_BACKOFF_MAX_SECONDS = 3600
    settings.OFFICIAL_HTTP_TIMEOUT_SECONDS = 2.0
    settings.OFFICIAL_MAX_BODY_BYTES = 2_000_000
    settings.OFFICIAL_HOST_REQUESTS_PER_MINUTE = 6
    settings.OFFICIAL_STALE_SECONDS = 900
    return settings


@pytest.fixture
def official_source(db, official_settings):
    """official_source(service, url, kind="statuspage", components=()): a source due now."""
    from detection.official.models import ServiceStatusSource, StatusSource

    def make(service, url: str, kind: str = "statuspage", components=()) -> StatusSource:
        source, _ = StatusSource.objects.get_or_create(
            url=url, defaults={"kind": kind, "host": urlsplit(url).hostname, "next_poll_at": NOW}
        )
        ServiceStatusSource.objects.create(
            service=service, source=source, components=list(components)
        )
        return source

    return make
