"""A sign-up's answer takes as long whether or not the address already gets the alerts
(privacy tester, forty-fifth session: the fastest of three requests told 40 of 40 addresses
apart, 5-9 ms for a subscribed one against 9-18 ms); what the sign-ups leave behind."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from alerts import services, tokens
from alerts.models import Subscription
from outagewatch import timing
from outagewatch.keyed_hash import keyed_hash

pytestmark = pytest.mark.django_db


class _Clock:
    """time.monotonic and time.sleep of outagewatch.timing: the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(timing.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(timing.time, "sleep", clock.sleep)
    return clock


def test_a_block_is_padded_to_the_minimum_however_it_ends(clock):
    with timing.lasting_at_least(0.25):
        clock.now += 0.05
    assert clock.slept == [pytest.approx(0.2)]
    with pytest.raises(ValueError), timing.lasting_at_least(0.25):
        raise ValueError
    assert clock.slept[-1] == pytest.approx(0.25)
    with timing.lasting_at_least(0.25):
        clock.now += 0.3  # longer already: no sleep
    with timing.lasting_at_least(0):
        pass
    assert len(clock.slept) == 2


def test_a_known_and_a_new_address_are_answered_after_the_same_minimum(
    clock, service, settings, django_capture_on_commit_callbacks
):
    settings.SUBSCRIPTION_ANSWER_MIN_SECONDS = 0.25
    ask = {"service": service, "countries": []}
    with django_capture_on_commit_callbacks(execute=False):
        known = services.subscription_request(email="known@example.com", **ask)
    Subscription.objects.filter(pk=known.subscription.pk).update(confirmed_at=timezone.now())
    clock.slept.clear()
    with django_capture_on_commit_callbacks(execute=False):
        again = services.subscription_request(email="known@example.com", **ask)
        new = services.subscription_request(email="new@example.com", **ask)
    assert not again.confirmation_queued and new.confirmation_queued  # the two paths
    assert clock.slept == [pytest.approx(0.25), pytest.approx(0.25)]  # the clock stood still


def test_the_unsubscribed_are_forgotten_after_the_keep_days(service, settings):
    settings.SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS = 30
    now = timezone.now()
    rows = {
        name: Subscription.objects.create(
            email=f"{name}@example.com",
            service=service,
            confirmed_at=now - timedelta(days=90),
            unsubscribed_at=None if left is None else now - timedelta(days=left),
        )
        for name, left in (("stays", None), ("recent", 29), ("gone", 31))
    }
    purged = services.subscriptions_purge(now=now)
    assert purged.subscriptions == 1
    remaining = set(Subscription.objects.values_list("email", flat=True))
    assert remaining == {"stays@example.com", "recent@example.com"}
    assert rows["gone"].email not in remaining


def test_a_channel_disabled_long_ago_is_forgotten_too(service, settings):
    # Refused or failing for good, nobody told: kept for ever with its address or URL (soak
    # tester, forty-sixth session).
    settings.SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS = 30
    now = timezone.now()
    for name, disabled in (("recent", 29), ("gone", 31)):
        Subscription.objects.create(
            email=f"{name}@example.com",
            service=service,
            channel="webhook",
            url="https://hooks.example/x",
            confirmed_at=now - timedelta(days=90),
            disabled_at=now - timedelta(days=disabled),
            disabled_reason="HTTP 410 three times",
        )
    assert services.subscriptions_purge(now=now).subscriptions == 1
    assert set(Subscription.objects.values_list("email", flat=True)) == {"recent@example.com"}


@pytest.mark.parametrize("keep_days", [0, 2])
def test_a_sign_up_s_own_link_does_not_keep_one_who_left(service, settings, keep_days):
    # Confirmed with a link mailed two days before, gone since: kept until that link was a
    # week old, whatever the setting said (soak tester, forty-sixth session).
    settings.SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS = keep_days
    now = timezone.now()
    Subscription.objects.create(
        email="left@example.com",
        service=service,
        confirmation_sent_at=now - timedelta(days=3),
        confirmed_at=now - timedelta(days=3),
        unsubscribed_at=now - timedelta(days=keep_days, minutes=1),
    )
    assert services.subscriptions_purge(now=now).subscriptions == 1


def test_one_who_left_long_ago_and_asked_again_keeps_the_new_link(
    service, settings, client, django_capture_on_commit_callbacks, mailoutbox, eager
):
    # The row is the old one, unsubscribed until the new link is followed: the purge took it
    # with the link just mailed (regression tester, forty-fifth session).
    now = timezone.now()
    old = Subscription.objects.create(
        email="back@example.com",
        service=service,
        confirmed_at=now - timedelta(days=90),
        unsubscribed_at=now - timedelta(days=40),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_request(email="back@example.com", service=service, countries=[])
    assert services.subscriptions_purge(now=now + timedelta(hours=12)).subscriptions == 0
    [message] = mailoutbox
    link = re.search(r"https?://[^\s]+(/subscriptions/confirm/[^\s]+/)", message.body).group(1)
    client.post(link)
    old.refresh_from_db()
    assert old.unsubscribed_at is None and old.confirmed_at is not None
    # Not followed within its days, the link dies and the purge forgets the address after all.
    Subscription.objects.filter(pk=old.pk).update(
        unsubscribed_at=now - timedelta(days=40), confirmation_sent_at=now - timedelta(days=8)
    )
    assert services.subscriptions_purge(now=now).subscriptions == 1


def test_a_forgotten_subscription_s_unsubscribe_link_says_not_subscribed(service):
    # Its old emails' one-click link must not read as broken: 200, "not subscribed".
    subscription = Subscription.objects.create(
        email="ann@example.com", service=service, confirmed_at=timezone.now()
    )
    path = f"/subscriptions/unsubscribe/{tokens.unsubscribe_token_make(subscription=subscription)}/"
    subscription.delete()
    strict = Client(enforce_csrf_checks=True)
    for response in (
        strict.get(path),
        strict.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        ),
    ):
        assert response.status_code == 200
        assert "You are not subscribed" in response.content.decode()
    forged = strict.get(path.replace("/unsubscribe/", "/unsubscribe/x"))
    assert forged.status_code == 400


def test_the_daily_cap_s_redis_key_is_a_keyed_hash_of_the_address(
    service, django_capture_on_commit_callbacks
):
    # It was sha256(address): anyone reading Redis recovered addresses by hashing likely ones
    # (privacy tester, forty-fifth session).
    with django_capture_on_commit_callbacks(execute=False):
        services.subscription_request(email="ann@example.com", service=service, countries=[])
    plain = "alerts:confirmations:" + hashlib.sha256(b"ann@example.com").hexdigest()
    keyed = "alerts:confirmations:" + keyed_hash("alerts.confirmations", "ann@example.com")
    assert cache.get(plain) is None
    assert cache.get(keyed) == 1
