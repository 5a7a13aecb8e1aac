"""The website's subscribe form also sets up a Slack, Discord or webhook channel, as the API
does: the owner's email gets the confirmation with the channel's management link."""

from __future__ import annotations

import html

import pytest
from django.core import mail

from alerts.models import Subscription

pytestmark = pytest.mark.django_db

SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"


@pytest.fixture
def post(client, service, eager, django_capture_on_commit_callbacks):
    def send(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/services/acme/subscribe/", {"email": "ops@example.com", **fields})

    return send


def test_a_slack_channel_is_requested_and_its_owner_emailed(client, post):
    response = post(channel="slack", url=SLACK, countries="Germany")
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.channel, subscription.url, subscription.countries) == (
        "slack",
        SLACK,
        ["DE"],
    )
    assert subscription.confirmed_at is None  # nothing is posted before the owner confirms
    [email] = mail.outbox
    assert email.to == ["ops@example.com"] and "/subscriptions/manage/" in email.body
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert "a link to confirm and manage the Slack channel is on its way" in page


def test_a_webhook_url_is_checked_as_the_api_checks_it(post):
    response = post(channel="webhook", url="http://10.0.0.5/hook")
    assert response.status_code == 400
    assert 'id="subscribe-url-error"' in response.content.decode()
    assert not Subscription.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"channel": "slack", "url": "https://example.com/hook"}, "incoming webhook URL Slack"),
        ({"channel": "discord", "url": ""}, "Enter the URL to post alerts to."),
        ({"channel": "email", "url": SLACK}, "A URL is only for Slack, Discord or a webhook"),
        ({"channel": "sms"}, "Choose email, Slack, Discord or a webhook."),
    ],
)
def test_a_wrong_channel_or_url_is_a_plain_error_and_changes_nothing(post, fields, error):
    response = post(**fields)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert error in page
    # The choice stays open with what was typed, for correcting.
    assert '<details class="form-more subscribe-channel" open>' in page
    assert not Subscription.objects.exists() and not mail.outbox


def test_no_channel_given_is_email(post):
    assert post().status_code == 302
    assert Subscription.objects.get().channel == "email"


def test_the_service_page_offers_the_channels_folded_away(client, service):
    page = client.get("/services/acme/").content.decode()
    assert '<details class="form-more subscribe-channel">' in page
    assert 'id="subscribe-channel-email" type="radio" name="channel" value="email" checked' in page
    for channel in ("slack", "discord", "webhook"):
        assert f'value="{channel}">' in page
