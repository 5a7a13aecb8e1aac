"""Official status on the real stack: a real Celery worker polls a fake status page through
Redis and the incident lands in the test database within one poll interval. The beat is
played by the test (the sweep sent twice a second) so no other schedule runs meanwhile."""

from __future__ import annotations

import json
import time

import pytest

from detection.official import selectors, services
from detection.official.models import OfficialIncident, StatusSource
from tests.conftest import wait_until
from tests.detection.official.statusserver import Page, StatusServer, payload

pytestmark = [pytest.mark.e2e]
POLL_SECONDS = 4
BEAT_SECONDS = 0.5


@pytest.fixture
def stack_env(stack_env):
    return {
        **stack_env,
        "OFFICIAL_HTTP_ALLOW_LOOPBACK": "1",
        "OFFICIAL_POLL_SECONDS": str(POLL_SECONDS),
        "OFFICIAL_HOST_REQUESTS_PER_MINUTE": "600",
    }


@pytest.fixture
def status_page():
    server = StatusServer().start()
    yield server
    server.stop()


def test_an_official_incident_reaches_the_database_within_one_poll_interval(
    celery_worker_process, celery_app, make_service, status_page, tmp_path
):
    service = make_service("acme", "Acme Cloud")
    url = status_page.serve("/api/v2/summary.json", Page(payload("statuspage_resolved.json")))
    sources = tmp_path / "sources.json"
    sources.write_text(json.dumps({"sources": {"acme": {"kind": "statuspage", "url": url}}}))
    assert services.status_sources_load(path=sources) == 1

    def beat_until(predicate):
        def tick():
            celery_app.send_task("detection.official.tasks.official_sweep")
            return predicate()

        return tick

    source = StatusSource.objects.get()
    wait_until(
        beat_until(lambda: StatusSource.objects.filter(last_success_at__isnull=False).exists()),
        timeout=30,
        interval=BEAT_SECONDS,
        what="the first poll",
    )
    source.refresh_from_db()
    assert source.indicator == "none" and not OfficialIncident.objects.exists()

    status_page.serve("/api/v2/summary.json", Page(payload("statuspage_open.json")))
    published = time.monotonic()
    wait_until(
        beat_until(OfficialIncident.objects.exists),
        timeout=30,
        interval=BEAT_SECONDS,
        what="the incident",
    )

    assert time.monotonic() - published <= POLL_SECONDS + 2 * BEAT_SECONDS + 1
    official = selectors.official_status(service=service)
    assert official.indicator == "major" and not official.stale
    [incident] = official.open_incidents
    assert incident.title == "Disruption with some GitHub services"
    assert len(status_page.requests) >= 2
