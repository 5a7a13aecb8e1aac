"""The record of messages sent about outages long over, forgotten: one row per subscriber
and outage event, kept for ever, grew by millions a year for a service with many followers
(soak tester, forty-sixth session)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from alerts.models import AlertDelivery, UpstreamDelivery

logger = logging.getLogger(__name__)

# Rows still to be worked on are never forgotten, however old.
_DONE = [
    AlertDelivery.Status.SENT,
    AlertDelivery.Status.SKIPPED,
    AlertDelivery.Status.FAILED,
]


def deliveries_purge(*, now: datetime | None = None) -> int:
    """Forget the finished messages about outages (and upstream outages) resolved over
    ALERT_DELIVERY_KEEP_DAYS ago; how many rows went. What reads them (cool-downs, reopening,
    whether a follower was told) looks back hours."""
    before = (now or timezone.now()) - timedelta(days=settings.ALERT_DELIVERY_KEEP_DAYS)
    alerts, _ = AlertDelivery.objects.filter(
        status__in=_DONE, created_at__lt=before, outage__resolved_at__lt=before
    ).delete()
    upstream, _ = UpstreamDelivery.objects.filter(
        status__in=_DONE, created_at__lt=before, upstream__resolved_at__lt=before
    ).delete()
    if alerts or upstream:
        logger.info("Purged %s alert and %s upstream deliveries", alerts, upstream)
    return alerts + upstream
