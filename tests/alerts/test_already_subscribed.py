"""Signing up again with an address that already gets a service's alerts: the email says so
and what its link would change (no email when nothing would), never "no alerts come unless
you confirm"; the answer is the one any address gets."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone

from alerts.models import Subscription

pytestmark = pytest.mark.django_db

CONFIRM = re.compile(r"https?://[^\s\"<>]+(/subscriptions/confirm/[^\s\"<>]+/)")
MANAGE = re.compile(r"https?://[^\s\"<>]+(/subscriptions/manage/[^\s\"<>]+/)")


def _texts(message) -> list[str]:
    return [message.body, message.alternatives[0][0]]


def test_a_new_address_is_answered_and_asked_to_confirm(subscribe, mailoutbox):
    response = subscribe({"email": "new@example.com"})
    [message] = mailoutbox
    assert message.subject == "Confirm OutageWatch alerts for Acme Cloud"
    assert "no alerts come unless you confirm" in message.body
    assert response.status_code == 201


def test_asking_again_with_other_countries_says_you_already_get_them(
    subscribe, subscriber, mailoutbox, client
):
    subscriber("alice@example.com")  # all countries
    fresh = subscribe({"email": "new@example.com", "countries": ["DE"]})
    mailoutbox.clear()

    response = subscribe({"email": "alice@example.com", "countries": ["DE"]})

    assert response.status_code == fresh.status_code == 201
    assert response.json()["message"] == fresh.json()["message"]  # nothing to probe
    [message] = mailoutbox
    assert message.subject == "Your OutageWatch alerts for Acme Cloud"
    for text in _texts(message):
        assert "You already get an email when" in text
        assert "all countries → Germany" in text
        assert "unless you confirm" not in text and "no alerts come" not in text
        assert "your alerts go on as they are" in text
    assert Subscription.objects.get(email="alice@example.com").countries == []

    path = CONFIRM.search(message.body).group(1)
    page = client.get(path).content.decode()
    assert "You already get Acme Cloud alerts" in page and "all countries → Germany" in page
    client.post(path)
    assert Subscription.objects.get(email="alice@example.com").countries == ["DE"]


def test_asking_again_for_the_same_alerts_sends_nothing(subscribe, subscriber, mailoutbox):
    subscriber("alice@example.com", ["DE"], timezone="Europe/Berlin")
    fresh = subscribe({"email": "new@example.com", "countries": ["DE"]})
    mailoutbox.clear()

    response = subscribe(
        {"email": "alice@example.com", "countries": ["DE"], "timezone": "Europe/Berlin"}
    )

    assert response.status_code == 201 and response.json()["message"] == fresh.json()["message"]
    assert mailoutbox == []


def test_an_unsubscribed_address_is_asked_to_confirm_as_new(subscribe, subscriber, mailoutbox):
    subscriber("alice@example.com", unsubscribed_at=timezone.now())
    subscribe({"email": "alice@example.com"})
    [message] = mailoutbox
    assert "no alerts come unless you confirm" in message.body


def test_a_channel_that_is_on_gets_its_page_and_can_take_the_change_there(
    subscribe, subscriber, mailoutbox, client
):
    url = "https://hooks.slack.com/services/T0/B0/x"
    subscriber("ops@example.com", channel="slack", url=url)

    subscribe({"email": "ops@example.com", "channel": "slack", "url": url, "countries": ["FR"]})

    [message] = mailoutbox
    for text in _texts(message):
        assert "already gets" in text
        assert "all countries → France" in text
        assert "nothing is posted to it unless you confirm" not in text
    path = MANAGE.search(message.body).group(1)
    page = client.post(path, {"action": "confirm"}, follow=True)
    assert page.status_code == 200
    assert Subscription.objects.get().countries == ["FR"]


@pytest.mark.parametrize(("channel", "url", "secret"), [
    ("webhook", "https://hooks.example.com/ow", True),
    ("slack", "https://hooks.slack.com/services/T0/B0/x", False),
    ("discord", "https://discord.com/api/webhooks/1/x", False),
])  # fmt: skip
def test_only_a_webhooks_confirmation_mentions_a_signing_secret(
    subscribe, mailoutbox, channel, url, secret
):
    subscribe({"email": "ops@example.com", "channel": channel, "url": url})
    [message] = mailoutbox
    for text in _texts(message):
        assert ("signing secret" in text) is secret


@pytest.mark.parametrize(("channel", "example"), [
    ("discord", "https://discord.com/api/webhooks/..."),
    ("slack", "https://hooks.slack.com/services/..."),
])  # fmt: skip
def test_a_wrong_chat_url_is_shown_the_url_people_have(subscribe, channel, example):
    response = subscribe(
        {"email": "ops@example.com", "channel": channel, "url": "https://example.com/x"}
    )
    assert response.status_code == 400
    assert f"gave you ({example})" in json.dumps(response.json(), ensure_ascii=False)


def test_the_token_pages_are_never_cached(subscribe, mailoutbox, client):
    """The manage page shows a webhook's signing secret once: a browser's cached copy showed
    it again (security tester F3). The confirm and unsubscribe pages' URLs are credentials."""
    subscribe({"email": "ops@example.com", "channel": "webhook", "url": "https://h.example/ow"})
    [message] = mailoutbox
    page = client.post(MANAGE.search(message.body).group(1), {"action": "confirm"}, follow=True)
    assert "signing secret" in page.content.decode().lower()
    links = re.findall(r"https?://[^\s\"<>/]+(/subscriptions/[a-z]+/[^\s\"<>/]+/)", message.body)
    assert {link.split("/")[2] for link in links} >= {"manage", "unsubscribe"}
    for response in (page, *(client.get(link) for link in links)):
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]
