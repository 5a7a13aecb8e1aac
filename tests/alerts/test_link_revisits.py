"""Links opened a second time: a used confirmation link and an unsubscribe link after
unsubscribing tell where the subscription stands, not "not valid" or "Unsubscribe?" again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts import services, tokens
from alerts.models import Subscription

pytestmark = pytest.mark.django_db


def _confirm_path(service, email: str = "ann@example.com", countries=("DE",)) -> str:
    result = services.subscription_request(email=email, service=service, countries=list(countries))
    confirmation = result.subscription.confirmations.latest("created_at")
    return f"/subscriptions/confirm/{tokens.confirm_token_make(confirmation=confirmation)}/"


def _unsubscribe_path(subscription: Subscription) -> str:
    return f"/subscriptions/unsubscribe/{tokens.unsubscribe_token_make(subscription=subscription)}/"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_used_confirmation_link_tells_a_subscriber_they_are_subscribed(service, client, method):
    path = _confirm_path(service)
    assert client.post(path).status_code == 200

    again = getattr(client, method)(path)

    assert again.status_code == 200
    page = again.content.decode()
    assert "You already get Acme Cloud alerts" in page and "Germany" in page
    assert "not valid" not in page and "subscribe again" not in page
    assert "<form" not in page.split("<main", 1)[-1]  # nothing left to press


def test_a_link_used_up_by_a_newer_one_also_says_subscribed(service, client):
    first = _confirm_path(service)
    second = _confirm_path(service, countries=("FR",))
    assert client.post(second).status_code == 200

    page = client.get(first).content.decode()
    assert "You already get Acme Cloud alerts" in page and "France" in page


def test_a_used_link_after_unsubscribing_is_still_not_valid(service, client):
    path = _confirm_path(service)
    client.post(path)
    services.subscription_unsubscribe(subscription=Subscription.objects.get())

    response = client.get(path)

    assert response.status_code == 400 and b"This link is not valid" in response.content


def test_an_unsubscribe_link_opened_after_unsubscribing_says_so(service, client):
    subscription = Subscription.objects.create(
        email="carol@example.com", service=service, confirmed_at=timezone.now()
    )
    path = _unsubscribe_path(subscription)
    first = client.post(path, data="List-Unsubscribe=One-Click",
                        content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert b"You are unsubscribed" in first.content

    for again in (client.get(path), client.post(path)):
        page = again.content.decode()
        assert again.status_code == 200
        assert "You are already unsubscribed from Acme Cloud alerts" in page
        assert "Stop emailing" not in page and ">Unsubscribe</button>" not in page
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None


def test_an_unsubscribe_link_still_asks_first_while_subscribed(service, client):
    subscription = Subscription.objects.create(
        email="carol@example.com", service=service, confirmed_at=timezone.now()
    )
    page = client.get(_unsubscribe_path(subscription)).content.decode()
    assert "Stop emailing" in page and "already" not in page


def test_the_confirmation_page_names_the_countries(service, client):
    # It asked "Send outage alerts for Acme Cloud in DE" and the next page said "in Germany"
    # (pages tester F25).
    page = client.get(_confirm_path(service, countries=("DE", "FR"))).content.decode()
    assert "<strong>Acme Cloud</strong> in Germany, France to" in page
    assert " in DE" not in page


def test_a_posted_channels_unsubscribe_link_says_it_stops_the_posts(service, client):
    # Its page said "Stop emailing c•••@example.com" and turned the webhook off: the address
    # only ever got the confirmation that carried the link (cross-surface tester, 47th session).
    hook = Subscription.objects.create(
        email="carol@example.com", service=service, confirmed_at=timezone.now(),
        channel=Subscription.Channel.WEBHOOK, url="https://hooks.example/x",
    )  # fmt: skip
    path = _unsubscribe_path(hook)
    page = client.get(path).content.decode()
    assert "Stop posting Acme Cloud outages to the webhook that" in page
    assert "emailing" not in page
    done = client.post(path).content.decode()
    assert "We will post no more Acme Cloud outages to the webhook that" in done
    assert "email " not in done.split("<main", 1)[-1]
