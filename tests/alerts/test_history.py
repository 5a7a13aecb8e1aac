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


def test_upstream_messages_are_forgotten_only_once_their_upstream_outage_is_long_over(
    subscriber, settings
):
    # Only the outage alerts' purge was tested: an upstream outage still going lost its
    # messages, and with them the record that its followers were told; a skipped message
    # was kept for ever (mutation tester, forty-seventh session).
    from alerts.models import UpstreamDelivery
    from detection.models import UpstreamOutage
    from reports.models import Provider

    settings.ALERT_DELIVERY_KEEP_DAYS = 90
    now = timezone.now()
    sub = subscriber()
    provider = Provider.objects.create(slug="edgecdn", name="EdgeCDN", kind="cdn")
    long_ago = now - timedelta(days=120)

    def upstream(resolved_days_ago: int | None) -> UpstreamOutage:
        resolved = None if resolved_days_ago is None else now - timedelta(days=resolved_days_ago)
        return UpstreamOutage.objects.create(
            provider=provider, started_at=long_ago, detected_at=long_ago, resolved_at=resolved,
            chance=0.001,
        )  # fmt: skip

    rows = {
        "over sent": (upstream(100), AlertDelivery.Status.SENT),
        "over skipped": (upstream(100), AlertDelivery.Status.SKIPPED),
        "over pending": (upstream(100), AlertDelivery.Status.PENDING),
        "going sent": (upstream(None), AlertDelivery.Status.SENT),
        "recent sent": (upstream(10), AlertDelivery.Status.SENT),
    }
    made = {}
    for name, (row, status) in rows.items():
        made[name] = UpstreamDelivery.objects.create(upstream=row, subscription=sub, status=status)
    UpstreamDelivery.objects.update(created_at=long_ago)

    assert services.deliveries_purge(now=now) == 2
    kept = set(UpstreamDelivery.objects.values_list("pk", flat=True))
    assert kept == {made[name].pk for name in ("over pending", "going sent", "recent sent")}
