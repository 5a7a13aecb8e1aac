"""Attacks replayed on real processes: the production server (gunicorn + uvicorn workers), a
real Celery worker judging each minute through Redis, and the test database.

Clients come from real source addresses: every 127.x.y.z is this machine's loopback, so a
test can send from 30 addresses in one /24 or from 20 networks in 20 different /16 blocks.
Only the detector's clock is steered: each minute's task is sent with an explicit `now`.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from alerts.models import AlertDelivery
from detection.models import JobCursor, Outage
from detection.services.timeutil import minute_floor
from tests.conftest import wait_until
from tests.e2e.conftest import (  # noqa: F401  (fixtures)
    celery_app,
    celery_worker_process,
    quiet_history,
    stack_environment,
    web_server,
)

M = dt.timedelta(minutes=1)
REPORT = {"service": "acme", "problem": "login", "country": "DE"}


@pytest.fixture
def trusted_proxies(request) -> str:
    """TRUSTED_PROXIES of the server; a test parametrizes it (indirect=True)."""
    return getattr(request, "param", "")


@pytest.fixture
def stack_env(transactional_db, redis_url, tmp_path, trusted_proxies) -> dict[str, str]:
    # The attacks are about what counts, not about the rate limit: let every request in.
    return {
        **stack_environment(redis_url, tmp_path),
        "THROTTLE_REPORTS": "100000/min",
        "TRUSTED_PROXIES": trusted_proxies,
    }


@dataclass
class Sent:
    status: int
    body: dict


@pytest.fixture
def post_report(web_server) -> Callable[..., Sent]:  # noqa: F811
    """post_report(source="127.0.0.1", user_agent=..., forwarded_for=..., **fields)."""
    parts = urlsplit(web_server.url)

    def post(source: str = "127.0.0.1", user_agent: str = "curl/8.0", forwarded_for=None, **kw):
        conn = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=20, source_address=(source, 0)
        )
        headers = {"Content-Type": "application/json", "User-Agent": user_agent}
        if forwarded_for is not None:
            headers["X-Forwarded-For"] = forwarded_for
        try:
            conn.request("POST", "/api/v1/reports/", json.dumps({**REPORT, **kw}), headers)
            response = conn.getresponse()
            return Sent(response.status, json.loads(response.read() or b"{}"))
        finally:
            conn.close()

    return post


@pytest.fixture
def watched(make_service):
    """Acme with three days of ~2 counted reports a minute up to now, a fitted baseline and a
    confirmed subscriber: any outage the attack opened would queue an email."""
    from alerts.models import Subscription

    service = make_service("acme", "Acme Cloud")
    now = minute_floor(timezone.now())
    quiet_history(service, until=now)
    Subscription.objects.create(email="ops@example.com", service=service, confirmed_at=now)
    return service


@pytest.fixture
def judge(celery_app):  # noqa: F811
    """judge(): the worker buckets and judges every minute from the first report to now."""
    from reports.models import Report

    def run() -> None:
        first = Report.objects.order_by("created_at").first()
        start = minute_floor(first.created_at if first else timezone.now())
        end = minute_floor(timezone.now())
        minute = start
        while minute <= end:
            celery_app.send_task(
                "detection.tasks.detect_minute",
                kwargs={"now": (minute + M + dt.timedelta(seconds=1)).isoformat()},
            )
            wait_until(
                lambda m=minute: JobCursor.objects.filter(name="tick", position__gte=m).exists(),
                timeout=60,
                what=f"the worker to judge {minute:%H:%M}",
            )
            minute += M

    return run


def assert_no_outage_and_no_email(mail_dir: Path) -> None:
    assert not Outage.objects.exists()
    assert not AlertDelivery.objects.exists()
    assert not list(mail_dir.glob("*")) if mail_dir.exists() else True
