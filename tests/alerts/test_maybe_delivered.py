"""Messages that may have reached their receiver though no attempt was recorded as sent: a
relay slow to answer the end of a message, a worker that died while sending (chaos tester,
forty-third session: a subscriber left with "resolved" as the last word of an outage that had
come back, and a slow relay given one copy per retry)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from alerts import selectors, services
from alerts.models import AlertDelivery
from alerts.services import Outcome
from detection.models import Outage, OutageEvent
from tests.alerts.relay import relay_settings
from tests.conftest import free_port
from tests.e2e.test_email_alerts import Mailbox

pytestmark = pytest.mark.django_db
Kind, Status = AlertDelivery.Kind, AlertDelivery.Status


class SlowMailbox(Mailbox):
    """Keeps each message, then takes `delay` seconds to say so, as a scanning relay does."""

    delay = 0.0

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer


@pytest.fixture
def slow_relay(settings):
    mailbox = SlowMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    relay_settings(settings, controller.port)
    settings.EMAIL_TIMEOUT = 1
    try:
        yield mailbox
    finally:
        controller.stop()


def _opened(subscriber, outage) -> AlertDelivery:
    subscriber("ann@example.com")
    o = outage(minutes_ago=10)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    return AlertDelivery.objects.get()


def test_a_relay_slower_than_the_timeout_to_answer_a_message_s_end_gets_it_once(
    subscriber, outage, slow_relay, settings
):
    slow_relay.delay, settings.EMAIL_DATA_TIMEOUT = 2.0, 6
    delivery = _opened(subscriber, outage)
    assert services.alert_delivery_send(delivery_id=delivery.pk).outcome == Outcome.SENT
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.maybe_sent, len(slow_relay.messages)) == (1, False, 1)


def test_a_relay_silent_after_the_whole_message_leaves_it_counted_as_maybe_told(
    subscriber, outage, slow_relay, settings
):
    slow_relay.delay, settings.EMAIL_DATA_TIMEOUT = 2.5, 1
    delivery = _opened(subscriber, outage)
    result = services.alert_delivery_send(delivery_id=delivery.pk)
    assert result.outcome == Outcome.RETRY and "may have kept it" in result.reason
    delivery.refresh_from_db()
    assert delivery.maybe_sent and delivery.status == Status.PENDING
    assert len(slow_relay.wait_for("ann@example.com", 1)) == 1  # it did keep it


def _reopen(o: Outage) -> Outage:
    Outage.objects.filter(pk=o.pk).update(status=Outage.Status.ACTIVE, resolved_at=None)
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind=OutageEvent.Kind.REOPENED)
    o.refresh_from_db()
    return o


def _resolved(subscriber, outage, mailoutbox) -> tuple[Outage, AlertDelivery]:
    subscriber("ann@example.com")
    o = outage(minutes_ago=120)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    assert services.alert_delivery_send(delivery_id=AlertDelivery.objects.get().pk).outcome == (
        Outcome.SENT
    )
    Outage.objects.filter(pk=o.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=timezone.now() - timedelta(minutes=1)
    )
    o.refresh_from_db()
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    return o, AlertDelivery.objects.get(kind=Kind.RESOLVED)


def test_problems_again_follow_a_resolved_email_the_relay_may_have_kept(
    subscriber, outage, mailoutbox, monkeypatch
):
    o, resolved = _resolved(subscriber, outage, mailoutbox)
    silent = TimeoutError("timed out")
    silent.outagewatch_handed_over = True  # as alerts.channels.smtp marks it

    def send(self, fail_silently=False):
        raise silent

    with monkeypatch.context() as patch:
        patch.setattr(EmailMultiAlternatives, "send", send)
        assert services.alert_delivery_send(delivery_id=resolved.pk).outcome == Outcome.RETRY
    o = _reopen(o)
    services.alerts_notify(outage=o, change=Kind.REOPENED)
    resolved.refresh_from_db()
    assert resolved.status == Status.SKIPPED and resolved.maybe_sent
    [due] = selectors.deliveries_due(now=timezone.now())
    assert services.alert_delivery_send(delivery_id=due).outcome == Outcome.SENT
    assert mailoutbox[-1].subject.startswith("Acme Cloud: problems again")


def test_problems_again_follow_a_resolved_email_whose_worker_died_while_sending(
    subscriber, outage, mailoutbox, settings
):
    o, resolved = _resolved(subscriber, outage, mailoutbox)
    now = timezone.now()
    AlertDelivery.objects.filter(pk=resolved.pk).update(status=Status.SENDING, claimed_at=now)
    o = _reopen(o)
    services.alerts_notify(outage=o, change=Kind.REOPENED)
    again = AlertDelivery.objects.get(kind=Kind.REOPENED)
    # The sweeper takes the dead worker's claim over: no longer true, and perhaps sent.
    later = now + timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS + 1)
    assert services.alert_delivery_send(delivery_id=resolved.pk, now=later).outcome == (
        Outcome.SKIPPED
    )
    resolved.refresh_from_db()
    assert resolved.maybe_sent
    assert services.alert_delivery_send(delivery_id=again.pk, now=later).outcome == Outcome.SENT
    assert mailoutbox[-1].subject.startswith("Acme Cloud: problems again")


def test_resolved_follows_a_detected_email_the_relay_may_have_kept(
    subscriber, outage, mailoutbox, monkeypatch
):
    """The mirror case: its "detected" maybe delivered, the outage over before a retry, the
    subscriber still hears that it ended (before: "not told about this outage")."""
    subscriber("ann@example.com")
    o = outage(minutes_ago=30)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    opened = AlertDelivery.objects.get()
    silent = TimeoutError("timed out")
    silent.outagewatch_handed_over = True

    def send(self, fail_silently=False):
        raise silent

    with monkeypatch.context() as patch:
        patch.setattr(EmailMultiAlternatives, "send", send)
        assert services.alert_delivery_send(delivery_id=opened.pk).outcome == Outcome.RETRY
    Outage.objects.filter(pk=o.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=timezone.now() - timedelta(minutes=1)
    )
    o.refresh_from_db()
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    later = timezone.now() + timedelta(hours=1)
    for pk in selectors.deliveries_due(now=later):
        services.alert_delivery_send(delivery_id=pk, now=later)
    opened.refresh_from_db()
    assert opened.status == Status.SKIPPED  # over: not sent late
    assert [m.subject.split(":")[0] for m in mailoutbox] == ["Resolved"]
