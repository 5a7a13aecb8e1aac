"""Webhooks on real processes: a Celery worker posts to a real HTTP receiver in the test.

The detector's transaction writes the rows (alerts_notify), the worker sends them; a
receiver that is down, then up, gets each message exactly once, signed; and with the real
detector in the worker, "resolved" is posted as soon as the detector resolves the outage.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription
from alerts.tasks import alert_delivery_send_task
from detection.models import Outage
from tests.alerts.receiver import Answer, Receiver
from tests.alerts.test_channels import verify
from tests.conftest import wait_until
from tests.e2e.conftest import quiet_history
from tests.e2e.test_detection_lifecycle import T0, M, _report, _tick
from tests.e2e.test_email_alerts import Sweeper

pytestmark = [pytest.mark.e2e]

SECRET = "e2e-" + "7" * 60


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def stack_env(stack_env) -> dict[str, str]:
    return {
        **stack_env,
        "SITE_URL": "http://ow.test",
        "ALERT_HTTP_ALLOW_LOOPBACK": "1",
        "ALERT_HTTP_TIMEOUT_SECONDS": "2",
        "ALERT_RETRY_BACKOFF_SECONDS": "1",
        "ALERT_RETRY_BACKOFF_MAX_SECONDS": "2",
        "ALERT_MAX_ATTEMPTS": "30",
    }


@pytest.fixture
def worker(celery_worker_process) -> subprocess.Popen:
    return celery_worker_process


@pytest.fixture
def sweeper(redis_url) -> Iterator[Sweeper]:
    with Sweeper(redis_url) as running:
        yield running


def _hook(service, url: str) -> Subscription:
    return Subscription.objects.create(
        email="ops@example.com",
        service=service,
        channel="webhook",
        url=url,
        secret=SECRET,
        confirmed_at=timezone.now(),
    )


def _open(service) -> Outage:
    now = timezone.now()
    with transaction.atomic():
        outage = Outage.objects.create(
            service=service,
            started_at=now - timedelta(minutes=4),
            detected_at=now - timedelta(minutes=1),
            countries=["DE"],
            top_problems=[{"problem": "login", "count": 31}],
            peak_observed=31,
            peak_expected=2.4,
        )
        services.alerts_notify(outage=outage, change="opened")
    return outage


def _resolve(outage: Outage) -> None:
    with transaction.atomic():
        outage.status, outage.resolved_at = Outage.Status.RESOLVED, timezone.now()
        outage.save()
        services.alerts_notify(outage=outage, change="resolved")


def test_one_signed_opened_and_one_resolved_post(worker, sweeper, receiver, make_service):
    service = make_service("acme", "Acme Cloud")
    _hook(service, receiver.url)

    outage = _open(service)
    [opened] = receiver.wait_for(1)
    assert verify(secret=SECRET, headers=opened.headers, body=opened.body, now=time.time())
    assert opened.json()["event"] == "opened" and opened.json()["outage"]["id"] == outage.pk
    delivery = wait_until(
        lambda: AlertDelivery.objects.filter(status="sent").first(), timeout=10, what="sent"
    )
    # The task delivered twice more: no second POST.
    alert_delivery_send_task.delay(delivery_id=delivery.pk)
    alert_delivery_send_task.delay(delivery_id=delivery.pk)

    _resolve(outage)
    _, resolved = receiver.wait_for(2)
    assert resolved.json()["event"] == "resolved" and resolved.json()["outage"]["id"] == outage.pk
    assert verify(secret=SECRET, headers=resolved.headers, body=resolved.body, now=time.time())
    time.sleep(2)  # what was queued twice has run by now
    assert len(receiver.received) == 2


def test_the_receiver_down_then_up_gets_it_exactly_once(worker, sweeper, make_service):
    service = make_service("acme", "Acme Cloud")
    receiver = Receiver()  # nothing listens on its port yet
    _hook(service, receiver.url)

    _open(service)
    delivery = wait_until(
        lambda: AlertDelivery.objects.filter(attempts__gte=2).first(),
        timeout=30,
        what="two failed attempts",
    )
    assert "refused" in delivery.last_error.lower()

    receiver.start()
    try:
        receiver.answer(Answer(503, b"warming up"))  # up, but not ready: retried too
        first, second = receiver.wait_for(2)
        assert first.headers["x-outagewatch-delivery"] == second.headers["x-outagewatch-delivery"]
        wait_until(
            lambda: AlertDelivery.objects.filter(status="sent").exists(), timeout=10, what="sent"
        )
        time.sleep(2)  # the sweeper keeps running: nothing more is sent
        assert len(receiver.received) == 2
    finally:
        receiver.stop()


def test_the_detector_opens_and_resolves_and_the_webhook_hears_both(
    worker, celery_app, receiver, make_service
):
    service = make_service("acme", "Acme Cloud")
    quiet_history(service, until=T0)
    _hook(service, receiver.url)
    counter, resolved_at_tick = 0, None
    for k in range(40):
        minute = T0 + k * M
        n = 2 + (30 if 5 <= k < 12 else 0)  # an outage from T0 + 5 min to T0 + 12 min
        for _ in range(n):
            counter += 1
            _report(service, minute + timedelta(seconds=counter % 60), counter)
        _tick(celery_app, minute)
        outage = Outage.objects.filter(service=service).first()
        if outage and outage.status == "resolved" and resolved_at_tick is None:
            resolved_at_tick = time.monotonic()
            break
    assert resolved_at_tick is not None, "the detector did not resolve the outage"
    opened, resolved = receiver.wait_for(2, timeout=20)
    # Posted right after the detector's tick, not a reopen window later.
    assert time.monotonic() - resolved_at_tick < 20
    assert (opened.json()["event"], resolved.json()["event"]) == ("opened", "resolved")
    assert opened.json()["outage"]["id"] == resolved.json()["outage"]["id"] == outage.pk
    assert "DE" in opened.json()["outage"]["countries"]
    for request in (opened, resolved):
        assert verify(secret=SECRET, headers=request.headers, body=request.body, now=time.time())
