"""One outage, one end time: its page header and timeline, the API, the Atom feed and the
"resolved" email all state resolved_at, not the minute the detector confirmed it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription
from detection.models import OutageEvent
from tests.detection.status_data import outage_make

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 11, 27, 13, 26, tzinfo=UTC)
ENDED = STARTED + timedelta(minutes=47)  # 14:13 UTC, the minute after the last busy one
CONFIRMED = ENDED + timedelta(minutes=15)  # 14:28 UTC, when the detector said so
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def resolved(service):
    outage = outage_make(service, started_at=STARTED, resolved_at=ENDED)
    OutageEvent.objects.filter(outage=outage, kind=OutageEvent.Kind.RESOLVED).update(at=CONFIRMED)
    return outage


def test_every_display_states_the_same_end(client, api_client, resolved, mailoutbox):
    # The page: header and timeline (UTC text; localtime.js only changes the zone).
    html = client.get(f"/outages/{resolved.pk}/").content.decode()
    header = html[html.index('class="outage-when"') : html.index("</p>", html.index("outage-when"))]
    assert 'ended <time datetime="2026-11-27T14:13:00Z"' in header
    timeline = html[html.index('id="timeline"') :]
    last = timeline[: timeline.index("</ol>")].rsplit("<li", 1)[1]
    assert '<time datetime="2026-11-27T14:13:00Z"' in last and "Back to normal" in last
    assert "14:28" not in header + timeline

    # The API: resolved_at and the timeline's end.
    body = api_client.get(f"/api/v1/outages/{resolved.pk}/").json()
    assert body["resolved_at"] == "2026-11-27T14:13:00Z"
    assert body["timeline"][-1]["at"] == "2026-11-27T14:13:00Z"

    # The feed.
    feed = ElementTree.fromstring(client.get("/outages/feed/").content)
    entry = feed.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text.endswith("to 14:13 UTC (over)")
    assert "to 14:13 UTC, for 47 min." in entry.find(f"{ATOM}summary").text

    # The email.
    subscription = Subscription.objects.create(
        email="ann@example.com", service=resolved.service, confirmed_at=timezone.now()
    )
    AlertDelivery.objects.create(
        outage=resolved,
        subscription=subscription,
        kind=AlertDelivery.Kind.OPENED,
        status=AlertDelivery.Status.SENT,
        sent_at=STARTED + timedelta(minutes=3),
    )
    delivery = AlertDelivery.objects.create(
        outage=resolved,
        subscription=subscription,
        kind=AlertDelivery.Kind.RESOLVED,
        next_attempt_at=CONFIRMED,
    )
    services.alert_delivery_send(delivery_id=delivery.pk, now=CONFIRMED)
    [message] = mailoutbox
    assert "ended at 27 Nov 14:13 UTC, after 47 min" in message.body
    assert "to 14:13 UTC" in message.subject
    assert not re.search(r"14:28", message.body + message.subject)
