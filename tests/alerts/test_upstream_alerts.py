"""The provider's followers hear of an upstream outage once, through alerts' entry point,
even when nobody reported the provider itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import services
from alerts.models import Subscription, UpstreamDelivery
from detection.models import Outage
from detection.services.upstream import upstream_refresh
from reports.models import Service

pytestmark = pytest.mark.django_db
FASTLY = ["reddit", "spotify", "pinterest", "vimeo"]


def follower(slug: str = "fastly", email: str = "ann@example.com", **kw) -> Subscription:
    return Subscription.objects.create(
        email=email,
        service=Service.objects.get(slug=slug),
        confirmed_at=timezone.now(),
        **kw,
    )


def dependents_down(now, slugs=FASTLY) -> list[Outage]:
    return [
        Outage.objects.create(
            service=Service.objects.get(slug=slug),
            started_at=now - timedelta(minutes=10 - k),
            detected_at=now - timedelta(minutes=8 - k),
        )
        for k, slug in enumerate(slugs)
    ]


def test_followers_of_the_provider_get_one_email(eager, django_capture_on_commit_callbacks):
    now = timezone.now()
    ann = follower()
    follower(email="bob@example.com", unsubscribed_at=now)
    follower(slug="reddit", email="cy@example.com")  # follows a dependent: not this alert
    dependents_down(now)
    with django_capture_on_commit_callbacks(execute=True):
        [row] = upstream_refresh(now=now)
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    message = mail.outbox[0]
    assert message.subject.startswith(
        "Probably an outage at Fastly: Reddit, Spotify and 2 more are affected since"
    )
    body = message.body
    assert "4 services that run on Fastly started having problems" in body
    dependents = list(Outage.objects.filter(upstream=row))
    assert len(dependents) == 4
    for o in dependents:
        assert f"/outages/{o.pk}/" in body
    assert "unsubscribe" in body.lower() and message.extra_headers["List-Unsubscribe"]
    delivery = UpstreamDelivery.objects.get(subscription=ann)
    assert delivery.status == "sent"

    # Regrouping, a later dependent and another notify call tell nobody again.
    with django_capture_on_commit_callbacks(execute=True):
        upstream_refresh(now=now + timedelta(minutes=1))
        services.alerts_upstream_notify(upstream=row, now=now + timedelta(minutes=2))
    assert len(mail.outbox) == 1
    assert UpstreamDelivery.objects.count() == 1


def test_one_delivery_per_upstream_outage_and_subscription():
    now = timezone.now()
    ann = follower()
    dependents_down(now)
    [row] = upstream_refresh(now=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        UpstreamDelivery.objects.create(upstream=row, subscription=ann)


def test_a_provider_outside_the_catalog_has_no_followers_to_tell(eager):
    now = timezone.now()
    for slug in ("instagram", "whatsapp", "facebook"):
        Subscription.objects.create(
            email="ann@example.com", service=Service.objects.get(slug=slug), confirmed_at=now
        )
    dependents_down(now, ["instagram", "whatsapp", "facebook"])
    rows = upstream_refresh(now=now)
    assert [r.provider.slug for r in rows] == ["meta"] and rows[0].provider.service is None
    assert not UpstreamDelivery.objects.exists()


def test_an_upstream_outage_over_before_sending_is_skipped_and_the_sweeper_sends_lost_ones():
    now = timezone.now()
    follower()
    outages = dependents_down(now)
    upstream_refresh(now=now)  # no commit here: the send tasks were never queued
    [pk] = UpstreamDelivery.objects.values_list("pk", flat=True)
    assert services.alerts_sweep(now=now).upstream == [pk]
    Outage.objects.filter(pk__in=[o.pk for o in outages]).update(status="resolved", resolved_at=now)
    upstream_refresh(now=now + timedelta(minutes=1))
    result = services.upstream_delivery_send(delivery_id=pk, now=now + timedelta(minutes=1))
    assert result.outcome == "skipped" and not mail.outbox
    assert services.upstream_delivery_send(delivery_id=pk).outcome == "not_claimed"


def test_chat_and_webhook_followers_get_the_affected_services(
    eager, receiver, django_capture_on_commit_callbacks
):
    from alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

    now = timezone.now()
    for channel in ("slack", "discord"):
        follower(channel=channel, url=f"{receiver.url}/{channel}", secret="")
    hooked = follower(channel="webhook", url=f"{receiver.url}/hook", secret="s" * 32)
    outages = dependents_down(now)
    with django_capture_on_commit_callbacks(execute=True):
        [row] = upstream_refresh(now=now)
    received = {r.path.rsplit("/", 1)[1]: r for r in receiver.wait_for(3)}
    slack = received["slack"].json()
    assert slack["text"].startswith("Probably an outage at Fastly: Reddit, Spotify and 2 more")
    assert "Reddit, Spotify, Pinterest, Vimeo" in str(slack["blocks"])
    discord = received["discord"].json()["embeds"][0]
    assert discord["fields"] == [
        {"name": "Affected", "value": "Reddit, Spotify, Pinterest, Vimeo", "inline": False}
    ]
    assert discord["footer"]["text"] == "OutageWatch · Fastly"

    hook = received["hook"]
    delivery = UpstreamDelivery.objects.get(subscription=hooked)
    assert delivery.status == "sent"
    assert hook.headers["x-outagewatch-event"] == "upstream"
    # Counted apart from outage alerts' ids, so a receiver's dedup never confuses the two.
    assert hook.headers["x-outagewatch-delivery"] == f"upstream-{delivery.pk}"
    assert hook.json()["delivery"] == f"upstream-{delivery.pk}"
    timestamp = int(hook.headers[TIMESTAMP_HEADER.lower()])
    expected = signature(secret=hooked.secret, timestamp=timestamp, body=hook.body)
    assert hook.headers[SIGNATURE_HEADER.lower()] == expected
    body = hook.json()
    assert body["event"] == "upstream" and body["outage"] is None
    assert body["service"]["slug"] == "fastly"
    upstream = body["upstream"]
    assert (upstream["id"], upstream["provider"]) == (row.pk, "fastly")
    assert [s["outage_id"] for s in upstream["services"]] == [o.pk for o in outages]
    assert upstream["services"][0]["url"].endswith(f"/outages/{outages[0].pk}/")
