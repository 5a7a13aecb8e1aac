"""The provider's acknowledgement in alerts (issue 16 item 2): every notice says whether the
official status page mentions the outage yet, and subscribers who asked get one more message
in the outage's thread when it first does (hooked where the poller stores a new incident)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import channels, presentation, services
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.services import Outcome
from alerts.tokens import manage_token_make
from detection.models import Outage
from detection.official import services as official
from tests.detection.official.conftest import (  # noqa: F401  (fixtures)
    official_settings,
    official_source,
    status_server,
)
from tests.detection.official.recorded import statuspage_open_at, statuspage_quiet
from tests.detection.official.statusserver import Page

pytestmark = pytest.mark.django_db

Kind = AlertDelivery.Kind
M = timedelta(minutes=1)
SUMMARY = "/api/v2/summary.json"


@pytest.fixture
def watched(service, official_source, status_server):  # noqa: F811
    """Acme with an official source, read 12 minutes ago with no incident; ``poll`` serves
    an incident published at ``published`` and reads the page again."""

    def poll(*, published, incident_id: str = "") -> official.PollResult:
        now = timezone.now()
        body = statuspage_open_at(
            started=now - 35 * M, published=published, incident_id=incident_id
        )
        status_server.serve(SUMMARY, Page(body))
        return official.status_source_poll(source_id=source.pk, now=now)

    # Read once before the incident is published, with nothing open.
    source = official_source(service, status_server.serve(SUMMARY, Page(statuspage_quiet())))
    official.status_source_poll(source_id=source.pk, now=timezone.now() - 12 * M)
    return poll


def _opened_then_acknowledged(subscriber, outage, watched) -> tuple[Outage, AlertDelivery]:
    """One follower who asked for it, told of an open outage; then the provider acknowledges
    it, which queues the acknowledgement (returned unsent)."""
    subscriber("ask@example.com", notify_acknowledged=True)
    o = outage(minutes_ago=30)
    services.alerts_notify(outage=o, change="opened")
    opened = AlertDelivery.objects.get(kind=Kind.OPENED)
    assert services.alert_delivery_send(delivery_id=opened.pk).outcome == Outcome.SENT
    watched(published=timezone.now() - 10 * M)
    return o, AlertDelivery.objects.get(kind=Kind.ACKNOWLEDGED)


def test_the_acknowledgement_is_one_notice_in_the_thread_for_those_who_asked(
    subscriber, outage, watched, mailoutbox, eager, django_capture_on_commit_callbacks
):
    asked = subscriber("ask@example.com", notify_acknowledged=True)
    subscriber("quiet@example.com")
    o = outage(minutes_ago=30)
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_notify(outage=o, change="opened")
    assert len(mailoutbox) == 2
    assert all("The official status page does not mention it yet." in m.body for m in mailoutbox)
    root = next(m for m in mailoutbox if m.to == ["ask@example.com"]).extra_headers["Message-ID"]
    mailoutbox.clear()

    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert watched(published=now - 10 * M).opened == 1

    [delivery] = AlertDelivery.objects.filter(kind=Kind.ACKNOWLEDGED)
    assert (delivery.subscription_id, delivery.status) == (asked.pk, AlertDelivery.Status.SENT)
    [message] = mailoutbox
    assert message.to == ["ask@example.com"]
    assert message.subject.startswith("Acme Cloud: the official status page acknowledged")
    assert message.extra_headers["In-Reply-To"] == root
    assert "Acme Cloud acknowledged it at" in message.body
    assert "Disruption with some GitHub services" in message.body
    assert (
        "OutageWatch detected this 18 minutes before the official status page acknowledged it."
        in message.body
    )
    html = message.alternatives[0][0]
    assert "Acme Cloud acknowledged it at" in html and 'href="https://stspg.io/' in html

    # Another incident of the same outage, a poll repeated: no second notice.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        watched(published=now - 5 * M, incident_id="second1")
        watched(published=now - 5 * M, incident_id="second1")
    assert AlertDelivery.objects.filter(kind=Kind.ACKNOWLEDGED).count() == 1
    assert mailoutbox == []

    # The aside does not stop the thread: its end is told, with what the provider said.
    o.status, o.resolved_at = Outage.Status.RESOLVED, timezone.now()
    o.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_notify(outage=o, change="resolved")
    assert {m.to[0] for m in mailoutbox} == {"ask@example.com", "quiet@example.com"}
    assert all("Acme Cloud acknowledged it at" in m.body for m in mailoutbox)


def test_no_notice_without_an_open_outage_or_for_those_never_told(
    subscriber, outage, watched, django_capture_on_commit_callbacks
):
    subscriber("ask@example.com", notify_acknowledged=True)
    over = outage(minutes_ago=30)
    over.status, over.resolved_at = Outage.Status.RESOLVED, timezone.now() - 2 * M
    over.save()
    with django_capture_on_commit_callbacks(execute=True):
        watched(published=timezone.now() - 10 * M)
    assert not AlertDelivery.objects.exists()

    # Open, but nobody was told it is on (e.g. countries did not match): nothing either.
    outage(minutes_ago=20)
    with django_capture_on_commit_callbacks(execute=True):
        watched(published=timezone.now() - 3 * M, incident_id="other1")
    assert not AlertDelivery.objects.exists()


def test_an_acknowledgement_still_unsent_when_the_outage_ends_is_not_sent(
    subscriber, outage, watched, mailoutbox
):
    # Created while the outage was open, sent later (an SMTP retry, a lost broker message the
    # sweep picks up): by then it is over, and "the provider acknowledged it" after the end
    # helps nobody. Only the creation was tested; sending it anyway passed every test
    # (mutation tester, forty-sixth session).
    o, acknowledged = _opened_then_acknowledged(subscriber, outage, watched)
    o.status, o.resolved_at = Outage.Status.RESOLVED, timezone.now()
    o.save()
    services.alerts_notify(outage=o, change="resolved")
    mailoutbox.clear()

    result = services.alert_delivery_send(delivery_id=acknowledged.pk)
    assert result.outcome == Outcome.SKIPPED
    assert result.reason == "Over before the acknowledgement was sent."
    acknowledged.refresh_from_db()
    assert acknowledged.status == AlertDelivery.Status.SKIPPED and acknowledged.sent_at is None
    assert mailoutbox == []
    # The end is still told.
    resolved = AlertDelivery.objects.get(kind=Kind.RESOLVED)
    assert services.alert_delivery_send(delivery_id=resolved.pk).outcome == Outcome.SENT
    assert [m.to for m in mailoutbox] == [["ask@example.com"]]


def test_a_webhook_gets_the_acknowledged_event_with_the_outage_id(
    subscriber, outage, watched, receiver
):
    hook = subscriber(
        "ops@example.com",
        channel="webhook",
        url=receiver.url,
        secret="ab" * 32,
        notify_acknowledged=True,
    )
    o = outage(minutes_ago=30)
    services.alerts_notify(outage=o, change="opened")
    opened = AlertDelivery.objects.get(subscription=hook, kind=Kind.OPENED)
    assert services.alert_delivery_send(delivery_id=opened.pk).outcome == Outcome.SENT
    assert receiver.received[0].json()["official"] == (
        "The official status page does not mention it yet."
    )

    watched(published=timezone.now() - 10 * M)
    delivery = AlertDelivery.objects.get(kind=Kind.ACKNOWLEDGED)
    assert services.alert_delivery_send(delivery_id=delivery.pk).outcome == Outcome.SENT

    body = receiver.received[1].json()
    assert receiver.received[1].headers["x-outagewatch-event"] == "acknowledged"
    assert body["event"] == "acknowledged" and body["outage"]["id"] == o.pk
    assert body["official"].startswith("Acme Cloud acknowledged it at")
    incident = body["official_incident"]
    assert incident["title"] == "Disruption with some GitHub services"
    assert incident["url"] == "https://stspg.io/yq4kbvh2wm1t"
    assert incident["status"] == "investigating" and incident["acknowledged_at"].endswith("Z")


def test_the_choice_is_taken_from_the_api_and_kept_on_confirmation(api_client, service):
    def post(**extra):
        body = {"email": "me@example.com", "service": "acme", **extra}
        return api_client.post(
            "/api/v1/subscriptions/", data=json.dumps(body), content_type="application/json"
        )

    refused = post(notify_acknowledged="yes")
    assert refused.status_code == 400 and "notify_acknowledged" in refused.json()["fields"]
    assert not Subscription.objects.exists()

    answer = post(notify_acknowledged=True)
    assert answer.status_code == 201 and answer.json()["notify_acknowledged"] is True
    subscription = Subscription.objects.get()
    assert subscription.notify_acknowledged is True
    confirmation = ConfirmationDelivery.objects.get()
    assert confirmation.notify_acknowledged is True
    services.subscription_confirm(confirmation=confirmation)
    assert Subscription.objects.get().notify_acknowledged is True

    # Left out: the subscription's choice is kept (the answer echoes the request).
    assert post().json()["notify_acknowledged"] is None


def test_the_subscribe_form_offers_the_choice(client, service):
    page = client.get("/services/acme/").content.decode()
    assert 'name="notify_acknowledged"' in page
    client.post(
        "/services/acme/subscribe/", {"email": "me@example.com", "notify_acknowledged": "on"}
    )
    assert Subscription.objects.get().notify_acknowledged is True


def test_the_management_page_changes_the_choice(subscriber, client):
    hook = subscriber("ops@example.com", channel="slack", url="https://hooks.slack.com/x/y")
    path = f"/subscriptions/manage/{manage_token_make(subscription=hook)}/"
    assert b"Not posted" in client.get(path).content

    page = client.post(path, {"action": "acknowledged", "notify_acknowledged": "on"}, follow=True)
    assert b"Saved: we will also post" in page.content
    assert Subscription.objects.get().notify_acknowledged is True
    client.post(path, {"action": "acknowledged"}, follow=True)
    assert Subscription.objects.get().notify_acknowledged is False


def test_the_choice_saved_before_confirming_survives_the_confirmation(service):
    requested = services.subscription_request(
        email="ops@example.com",
        service=service,
        countries=[],
        channel="webhook",
        url="https://hooks.example.com/x",
    )
    subscription = requested.subscription
    services.subscription_acknowledged_set(subscription=subscription, notify=True)

    services.subscription_confirm(confirmation=subscription.confirmations.get())

    assert Subscription.objects.get().notify_acknowledged is True


def test_chat_channels_say_whether_the_provider_acknowledged_it(subscriber, outage, watched):
    chat = subscriber("ops@example.com", channel="slack", url="https://hooks.slack.com/x/y")
    o = outage(minutes_ago=30)
    services.alerts_notify(outage=o, change="opened")
    delivery = AlertDelivery.objects.get(subscription=chat)
    before = presentation.notice_build(delivery=delivery, now=timezone.now())
    assert "The official status page does not mention it yet." in json.dumps(
        [channels.slack.payload(before), channels.discord.payload(before)], ensure_ascii=False
    )

    watched(published=timezone.now() - 10 * M)
    after = presentation.notice_build(delivery=delivery, now=timezone.now())
    for body in (channels.slack.payload(after), channels.discord.payload(after)):
        assert "Acme Cloud acknowledged it at" in json.dumps(body, ensure_ascii=False)


def test_the_acknowledged_email_goes_over_real_smtp_in_the_outage_thread(
    subscriber, outage, watched, smtp_sink
):
    _, acknowledged = _opened_then_acknowledged(subscriber, outage, watched)
    assert services.alert_delivery_send(delivery_id=acknowledged.pk).outcome == Outcome.SENT

    first, second = smtp_sink.wait_for("ask@example.com", 2)
    assert second["In-Reply-To"] == first["Message-ID"]
    assert "acknowledged" in second["Subject"]
    assert "Acme Cloud acknowledged it at" in second.get_body(("plain",)).get_content()
