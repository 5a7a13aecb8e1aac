"""A giant service's outage: its alerts leave in batches, each batch's emails over one
connection to the relay, without losing or doubling a message (bench/alerts/README.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from celery.app.task import Task
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription
from tests.alerts.relay import relay_settings
from tests.conftest import free_port
from tests.e2e.test_email_alerts import Mailbox

pytestmark = pytest.mark.django_db

Status = AlertDelivery.Status


class Relay(Mailbox):
    """Counts connections (one EHLO each); drops the connection at RCPT for DROPPED, and
    answers 421 (closing) to every MAIL past `per_connection` on one connection."""

    DROPPED = "drop@example.com"

    def __init__(self, per_connection: int = 0) -> None:
        super().__init__()
        self.connections = 0
        self.per_connection = per_connection
        self._count = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self._count:
            self.connections += 1
        session.host_name = hostname
        session.sent_here = 0
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        session.sent_here = getattr(session, "sent_here", 0) + 1
        if self.per_connection and session.sent_here > self.per_connection:
            return "421 4.7.0 Too many messages on this connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.DROPPED:
            server.transport.close()
            return "451 4.4.2 Gone"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def _relay(settings, handler: Relay) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    relay_settings(settings, controller.port)
    return controller


@pytest.fixture
def relay(settings) -> Iterator[Relay]:
    handler = Relay()
    controller = _relay(settings, handler)
    yield handler
    controller.stop()


@pytest.fixture
def queued(monkeypatch) -> list[tuple[str, dict]]:
    """The tasks queued, by name with their arguments, none sent to a broker."""
    calls: list[tuple[str, dict]] = []

    def record(self, args=None, kwargs=None, **options):
        calls.append((self.name, dict(kwargs or {})))

    monkeypatch.setattr(Task, "apply_async", record)
    return calls


def _followers(service, count: int, *, prefix: str = "f") -> list[Subscription]:
    return Subscription.objects.bulk_create(
        Subscription(email=f"{prefix}{k}@example.com", service=service, confirmed_at=timezone.now())
        for k in range(count)
    )


def _ids_queued(queued: list[tuple[str, dict]]) -> list[int]:
    ids: list[int] = []
    for _, kwargs in queued:
        ids.extend(kwargs.get("delivery_ids") or [kwargs["delivery_id"]])
    return ids


def test_an_outage_with_many_followers_queues_a_task_per_batch_not_per_email(
    service, outage, queued
):
    _followers(service, 120)
    happening = outage()
    services.alerts_notify(outage=happening, change="opened")

    ids = services.alerts_queue(outage_id=happening.pk, kind="opened")

    assert len(ids) == 120
    # Each delivery once, in a handful of broker messages (120 before: one each).
    assert sorted(_ids_queued(queued)) == sorted(ids)
    assert len(queued) <= 3


def test_the_sweep_queues_what_is_due_in_batches(service, outage, queued):
    _followers(service, 120)
    services.alerts_notify(outage=outage(), change="opened")

    swept = services.alerts_sweep(now=timezone.now())

    assert len(swept.deliveries) == 120
    assert sorted(_ids_queued(queued)) == sorted(swept.deliveries)
    assert len(queued) <= 3


def test_a_batch_of_alerts_goes_over_one_relay_connection(
    service, outage, relay, eager, django_capture_on_commit_callbacks
):
    """The dispatch a fan-out queues after commit, run as a worker runs it: every email
    arrives, all on one connection (a connection each before)."""
    _followers(service, 5)
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_notify(outage=outage(), change="opened")

    assert len(relay.messages) == 5
    assert relay.connections == 1
    assert set(AlertDelivery.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def test_a_relay_that_closes_a_kept_connection_loses_no_email(settings, service, outage):
    """A relay that takes two messages a connection (421 to the third, as relays with a
    per-connection limit do): the rest go on new connections, none counted as failed."""
    handler = Relay(per_connection=2)
    controller = _relay(settings, handler)
    try:
        _followers(service, 5)
        services.alerts_notify(outage=outage(), change="opened")
        ids = list(AlertDelivery.objects.order_by("pk").values_list("pk", flat=True))

        results = services.alert_deliveries_send(delivery_ids=ids)
    finally:
        controller.stop()

    assert [r.outcome for r in results] == [services.Outcome.SENT] * 5
    assert len(handler.messages) == 5 and handler.connections == 3
    assert set(AlertDelivery.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def test_a_failure_before_the_handover_on_a_kept_connection_is_not_maybe_sent(
    service, outage, relay
):
    """The message before was handed over on the same connection: that says nothing of this
    one, which never reached DATA (retried on a new connection, then left for a retry)."""
    _followers(service, 1)
    Subscription.objects.create(email=Relay.DROPPED, service=service, confirmed_at=timezone.now())
    services.alerts_notify(outage=outage(), change="opened")
    ids = list(AlertDelivery.objects.order_by("subscription_id").values_list("pk", flat=True))

    results = services.alert_deliveries_send(delivery_ids=ids)

    assert [r.outcome for r in results] == [services.Outcome.SENT, services.Outcome.RETRY]
    dropped = AlertDelivery.objects.get(subscription__email=Relay.DROPPED)
    assert dropped.status == Status.PENDING and not dropped.maybe_sent
    assert "after it had the whole message" not in dropped.last_error
    # The sent one, a try on the kept connection, a try on a new one.
    assert relay.connections == 2
