"""A webhook receiver that trickles its status line and headers: the delivery worker and the
management page's "Send a test" (run inside the web request) both give up at
ALERT_HTTP_TIMEOUT_SECONDS in all, and a delivery cut off so is retried, not counted
against the channel (REPRO 2: the worker sat in "sending", the page hung > 90 s)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from alerts import emails, services
from alerts.models import AlertDelivery, Subscription
from alerts.services import Outcome
from tests.trickling import TricklingServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def trickling(settings) -> Iterator[TricklingServer]:
    settings.ALERT_HTTP_ALLOW_LOOPBACK = True
    settings.ALERT_HTTP_TIMEOUT_SECONDS = 1
    server = TricklingServer(gap=0.3).start()
    yield server
    server.stop()


@pytest.fixture
def slow_hook(subscriber, trickling) -> Subscription:
    return subscriber("ops@example.com", channel="webhook", url=trickling.url(), secret="s" * 64)


def test_a_delivery_to_a_trickling_receiver_is_cut_off_and_retried(slow_hook, outage):
    services.alerts_notify(outage=outage(), change="opened")
    delivery = AlertDelivery.objects.get()
    started = time.monotonic()

    result = services.alert_delivery_send(delivery_id=delivery.pk)

    assert time.monotonic() - started < 10  # it returned: the worker is free again
    assert result.outcome == Outcome.RETRY
    delivery.refresh_from_db()
    assert delivery.status == AlertDelivery.Status.PENDING  # not left "sending"
    assert "timed out" in delivery.last_error.lower()
    slow_hook.refresh_from_db()
    assert slow_hook.failures == 0 and slow_hook.disabled_at is None  # transient, not counted


def test_send_a_test_to_a_trickling_receiver_answers_the_page(slow_hook, client):
    path = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=slow_hook))
    started = time.monotonic()

    page = client.post(path, {"action": "test"}, follow=True)

    assert time.monotonic() - started < 10
    assert page.status_code == 200
    assert b"The test failed: timed out after" in page.content
