"""A webhook, Slack or Discord channel disabled for failing: its owner's email names the way
back (the channel's management page, not the service page, whose form only takes email
addresses), and the page's "Send a test and re-enable" turns it on once a test gets
through."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.services import Outcome
from tests.alerts.receiver import Answer

pytestmark = pytest.mark.django_db

MANAGE = re.compile(r"https?://[^\s\"<>]+(/subscriptions/manage/[^\s\"<>]+/)")


@pytest.fixture
def disabled(subscriber, receiver):
    def make(channel: str = "webhook", url: str | None = None, **kw) -> Subscription:
        subscription = subscriber(
            "owner@example.com",
            channel=channel,
            url=url or receiver.url,
            secret="s" * 64,
            failures=3,
            **kw,
        )
        services.subscription_disable(subscription=subscription, reason="HTTP 410: gone")
        subscription.refresh_from_db()
        return subscription

    return make


def _disabled_email(mailoutbox):
    notice = ConfirmationDelivery.objects.get(purpose=ConfirmationDelivery.Purpose.DISABLED)
    assert services.confirmation_delivery_send(confirmation_id=notice.pk).outcome == Outcome.SENT
    [message] = mailoutbox
    return message, message.alternatives[0][0]


def test_the_disabled_email_sends_the_owner_to_the_channels_page(disabled, mailoutbox):
    disabled()

    message, html = _disabled_email(mailoutbox)

    assert message.subject == "OutageWatch stopped sending Acme Cloud alerts to your webhook"
    for body in (message.body, html):
        assert "Webhook" not in body and "your webhook" in body
        assert "subscribe it once more" not in body  # the service page takes emails only
        assert "Send a test and re-enable" in body
        assert MANAGE.search(body) is not None
    assert "/services/acme/" not in MANAGE.search(message.body).group(1)


def test_a_slack_channel_keeps_its_capital_in_prose(disabled, mailoutbox):
    disabled(channel="slack", url="https://hooks.slack.com/services/T0/B0/x")

    message, _ = _disabled_email(mailoutbox)

    assert message.subject.endswith("alerts to your Slack channel")
    assert "your Slack channel (https://hooks.slack.com/…)" in message.body


def test_the_link_in_the_email_re_enables_the_channel_once_a_test_gets_through(
    disabled, mailoutbox, client, receiver, outage
):
    subscription = disabled()
    message, _ = _disabled_email(mailoutbox)
    path = MANAGE.search(message.body).group(1)
    page = client.get(path)
    assert b"Disabled" in page.content and b"Send a test and re-enable" in page.content
    assert Subscription.objects.get().disabled_at is not None  # a GET changes nothing

    reenabled = client.post(path, {"action": "reenable"}, follow=True)

    assert reenabled.status_code == 200
    assert b"Re-enabled: your receiver accepted a test message" in reenabled.content
    assert b"Active since" in reenabled.content
    assert b"Send a test and re-enable" not in reenabled.content
    [test] = receiver.received
    assert test.json()["event"] == "test"
    subscription.refresh_from_db()
    assert subscription.disabled_at is None and subscription.failures == 0
    assert subscription.disabled_reason == ""
    # Alerts reach it again.
    services.alerts_notify(outage=outage(), change="opened")
    delivery = AlertDelivery.objects.get()
    assert services.alert_delivery_send(delivery_id=delivery.pk).outcome == Outcome.SENT
    assert receiver.received[-1].json()["event"] == "opened"


def test_a_receiver_still_failing_leaves_the_channel_disabled(disabled, client, receiver):
    from alerts import emails

    subscription = disabled()
    receiver.answer(Answer(500, b"still broken"))
    path = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=subscription))

    page = client.post(path, {"action": "reenable"}, follow=True)

    assert b"The test failed: HTTP 500" in page.content
    assert b"The channel stays disabled." in page.content
    assert b"Send a test and re-enable" in page.content  # try again after fixing it
    subscription.refresh_from_db()
    assert subscription.disabled_at is not None and subscription.failures == 3


@pytest.mark.parametrize(
    "state",
    [
        {"confirmed_at": None},  # never confirmed: confirming is its way in
        {"unsubscribed_at": timezone.now()},  # its owner said stop
        {},  # active
    ],
    ids=["unconfirmed", "unsubscribed", "active"],
)
def test_only_a_disabled_channel_is_re_enabled(subscriber, receiver, client, state):
    from alerts import emails

    subscription = subscriber(
        "owner@example.com", channel="webhook", url=receiver.url, secret="s" * 64, **state
    )
    path = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=subscription))
    assert b"Send a test and re-enable" not in client.get(path).content

    page = client.post(path, {"action": "reenable"}, follow=True)

    assert b"This channel is not disabled." in page.content
    assert receiver.received == []  # no test sent
    assert Subscription.objects.filter(**state).exists()  # unchanged


def test_re_enabled_during_an_outage_the_channel_hears_of_it_at_once(
    disabled, receiver, outage, django_capture_on_commit_callbacks, eager
):
    """As a subscriber confirming during an outage is told: the channel missed its
    "detected" while disabled, and would otherwise wait for the outage's next change."""
    subscription = disabled()
    going_on = outage()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.channel_reenable(subscription=subscription).ok
    told = AlertDelivery.objects.get(subscription=subscription)
    assert (told.outage_id, told.kind) == (going_on.id, AlertDelivery.Kind.OPENED)
    assert [r.json()["event"] for r in receiver.received] == ["test", "opened"]


def test_a_link_for_a_service_retired_since_is_neither_mailed_nor_confirmable(service, mailoutbox):
    result = services.subscription_request(email="ann@example.com", service=service, countries=[])
    confirmation = result.subscription.confirmations.get()
    service.is_active = False
    service.save(update_fields=["is_active"])

    sent = services.confirmation_delivery_send(confirmation_id=confirmation.pk)

    assert (sent.outcome, sent.reason) == (Outcome.SKIPPED, "retired")
    assert mailoutbox == []
    assert services.subscription_confirm(confirmation=confirmation) is None
    assert Subscription.objects.get().confirmed_at is None
