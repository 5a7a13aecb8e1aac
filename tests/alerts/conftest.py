"""Fixtures of the alerts tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from alerts.models import Subscription
from detection.models import Outage, OutageProblemSite
from detection.services.config import listing_sites
from tests.alerts.receiver import Receiver
from tests.alerts.relay import relay_settings
from tests.conftest import free_port
from tests.e2e.test_email_alerts import Mailbox


@pytest.fixture
def smtp_sink(settings) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback, with the SMTP backend sending to it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    relay_settings(settings, controller.port)
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def subscriber(service):
    def make(email: str = "ann@example.com", countries=(), **kw) -> Subscription:
        fields = {"confirmed_at": timezone.now(), **kw}
        return Subscription.objects.create(
            email=email, service=service, countries=list(countries), **fields
        )

    return make


@pytest.fixture
def outage(service, problem_types):
    from tests.detection.status_data import baseline_store, flat_baseline

    # A service with history: its messages quote a normal (a cold start's do not).
    baseline_store(service, flat_baseline(3.2))

    def make(countries=(), minutes_ago: int = 5, **kw) -> Outage:
        started = timezone.now() - timedelta(minutes=minutes_ago)
        fields = {
            "service": service,
            "started_at": started,
            "detected_at": started + timedelta(minutes=2),
            "countries": list(countries),
            "top_problems": [{"problem": "login", "count": 40}, {"problem": "app", "count": 7}],
            "peak_observed": 42,
            "peak_expected": 3.2,
            "score": 0.99,
            "rule": "poisson_tail",
            "explanation": "42 reports a minute where about 3 are usual.",
            **kw,
        }
        outage = Outage.objects.create(**fields)
        # Its problems have the sites behind them that a tick would have recorded to list
        # them (a relapse's messages name only such problems).
        OutageProblemSite.objects.bulk_create(
            OutageProblemSite(outage=outage, problem=problem_types[p["problem"]], site_key=f"s{k}")
            for p in outage.top_problems
            for k in range(listing_sites())
        )
        return outage

    return make


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A webhook receiver on loopback, which the sender is allowed to reach in tests."""
    settings.ALERT_HTTP_ALLOW_LOOPBACK = True
    settings.ALERT_HTTP_TIMEOUT_SECONDS = 2
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def subscribe(api_client, service, eager, django_capture_on_commit_callbacks):
    """subscribe(body): POST /api/v1/subscriptions/ (for "acme" unless the body names a
    service), its emails sent."""

    def post(body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(
                "/api/v1/subscriptions/",
                data=json.dumps({"service": "acme", **body}),
                content_type="application/json",
            )

    return post
