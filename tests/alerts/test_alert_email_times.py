"""A "problems detected" email is read later than it is sent: its times are absolute, and
the one relation it gives ("detected 2 min after it started") stays true in the inbox."""

from __future__ import annotations

import pytest

from alerts import services
from alerts.models import AlertDelivery

pytestmark = pytest.mark.django_db


def test_the_detected_email_has_no_time_relative_to_its_sending(subscriber, outage, mailoutbox):
    subscriber("alice@example.com", timezone="Europe/Berlin")
    o = outage(["DE"], minutes_ago=7)  # detected 2 minutes after it started
    services.alerts_notify(outage=o, change="opened")
    services.alert_delivery_send(delivery_id=AlertDelivery.objects.get().pk)

    [message] = mailoutbox
    for text in (message.body, message.alternatives[0][0]):
        assert " ago" not in text
        assert "2 min after it started" in text
        assert "detected at " in text
