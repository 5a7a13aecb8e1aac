"""The record of messages about outages long over is forgotten (soak tester, forty-sixth
session: one row per follower and outage event, kept for ever)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery

pytestmark = pytest.mark.django_db


def test_finished_messages_of_outages_long_over_are_forgotten(subscriber, outage, settings):
    settings.ALERT_DELIVERY_KEEP_DAYS = 90
    now = timezone.now()
    sub = subscriber()
    old = outage(
        minutes_ago=200 * 24 * 60, resolved_at=now - timedelta(days=100), status="resolved"
    )
    over_recently = outage(
        minutes_ago=100 * 24 * 60, resolved_at=now - timedelta(days=10), status="resolved"
    )
    going = outage(minutes_ago=100 * 24 * 60)
    long_ago = now - timedelta(days=120)
    rows = {
        "old sent": (old, "opened", AlertDelivery.Status.SENT),
        "old failed": (old, "resolved", AlertDelivery.Status.FAILED),
        "old pending": (old, "reopened", AlertDelivery.Status.PENDING),  # still to work on
        "recent": (over_recently, "opened", AlertDelivery.Status.SENT),
        "going": (going, "opened", AlertDelivery.Status.SENT),
    }
    for outage_, kind, status in rows.values():
        row = AlertDelivery.objects.create(
            outage=outage_, subscription=sub, kind=kind, status=status
        )
        AlertDelivery.objects.filter(pk=row.pk).update(created_at=long_ago)
    assert services.deliveries_purge(now=now) == 2
    kept = set(AlertDelivery.objects.values_list("outage_id", "kind"))
    assert kept == {(old.pk, "reopened"), (over_recently.pk, "opened"), (going.pk, "opened")}


def test_the_purge_is_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "alerts.tasks.deliveries_purge" in tasks
