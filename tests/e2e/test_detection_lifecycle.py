"""The outage lifecycle on the real stack: reports over HTTP to gunicorn, detection by a real
Celery worker through Redis, rows in the test database. Only the clock is simulated: each
minute's task is sent with an explicit `now`, so the test does not wait real minutes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from detection.models import JobCursor, Outage, ServiceStatus
from reports.models import Report
from reports.services import report_create
from tests.conftest import crowd_address, wait_until
from tests.e2e.conftest import quiet_history

pytestmark = [pytest.mark.e2e]
T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)


@pytest.fixture
def stack_env(stack_env):
    return {**stack_env, "THROTTLE_REPORTS": "10000/min"}


@pytest.fixture
def watched(make_service):
    """A service with three days of ~2 reports a minute and a fitted baseline."""
    service = make_service("acme", "Acme Cloud")
    quiet_history(service, until=T0)
    return service


def _report(service, minute, k, *, address=None):
    report_create(
        service=service, problem=service.problem_types.get(slug="login"), country="DE",
        source=Report.Source.API, address=address or crowd_address(k), now=minute,
    )  # fmt: skip


def _tick(celery_app, minute: dt.datetime) -> None:
    celery_app.send_task("detection.tasks.detect_minute", kwargs={"now": (minute + M).isoformat()})
    wait_until(
        lambda: JobCursor.objects.filter(name="tick", position__gte=minute).exists(),
        timeout=30,
        what=f"the worker to judge {minute:%H:%M}",
    )


def test_outage_opens_and_resolves_through_the_worker(celery_worker_process, celery_app, watched):
    counter = 0
    resolved_by = None
    for k in range(30):
        minute = T0 + k * M
        n = 2 + (30 if 5 <= k < 12 else 0)  # outage from T0 + 5 min to T0 + 12 min
        for _ in range(n):
            counter += 1
            _report(watched, minute + dt.timedelta(seconds=counter % 60), counter)
        _tick(celery_app, minute)
        if k == 6:
            outage = Outage.objects.get(service=watched)
            assert outage.started_at == T0 + 5 * M
            assert outage.detected_at <= T0 + 7 * M  # within two minutes of the onset
            assert ServiceStatus.objects.get(service=watched).level == 2
        resolved = Outage.objects.filter(service=watched, status="resolved").exists()
        if resolved_by is None and resolved:
            resolved_by = minute + M  # the tick that judged `minute` ran once it closed
    # Resolved within 15 minutes of the reports stopping (issue 12's live path).
    assert resolved_by is not None and resolved_by <= T0 + 12 * M + 15 * M
    outage = Outage.objects.get(service=watched)
    assert "DE" in outage.countries and "expected" in outage.explanation
    assert ServiceStatus.objects.get(service=watched).level == 0


def test_one_client_flooding_the_api_cannot_raise_a_status(
    web_server, celery_worker_process, celery_app, watched
):
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"}).encode()
    for _ in range(150):  # one client, as fast as it can
        response = web_server.request(
            "POST", "/api/v1/reports/", body, {"Content-Type": "application/json"}
        )
        assert response.status == 201
    sent = Report.objects.order_by("created_at")
    assert sent.count() == 150 and sent.filter(counted=True).count() == 1
    first = sent.first().created_at.replace(second=0, microsecond=0)
    last = sent.last().created_at.replace(second=0, microsecond=0)
    # Judge those minutes as if they came right after the quiet history.
    JobCursor.objects.filter(name="buckets").update(position=first)
    JobCursor.objects.filter(name="tick").delete()
    minute = first
    while minute <= last:
        _tick(celery_app, minute)
        minute += M
    assert not Outage.objects.exists()
    assert ServiceStatus.objects.get(service=watched).level == 0
