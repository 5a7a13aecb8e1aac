"""Thin Celery tasks; the work and its idempotency live in detection.services."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from detection import services
from detection.alerts.tasks import *  # noqa: F403  (Celery autodiscovers detection.tasks)

# Retried only on errors that go away by themselves (a locked SQLite file, a dropped
# PostgreSQL connection); anything else is a bug and should surface.
_TRANSIENT = {"autoretry_for": (OperationalError,), "retry_backoff": 2, "max_retries": 3}


@shared_task(**_TRANSIENT, ignore_result=True)
def detect_minute(now: str | None = None) -> dict:
    """Bucket new reports, then judge every closed minute not judged yet.

    `now` (ISO 8601) replaces the clock, for replays and for end-to-end tests.
    """
    at = dt.datetime.fromisoformat(now) if now else None
    aggregated = services.buckets_aggregate(now=at)
    ticks = services.detect_tick(now=at)
    return {
        "buckets": aggregated.buckets,
        "minutes": [t.minute.isoformat() for t in ticks],
        "opened": sum(t.opened for t in ticks),
        "resolved": sum(t.resolved for t in ticks),
    }


@shared_task(**_TRANSIENT, ignore_result=True)
def baselines_refit(only_cold: bool = False) -> dict:
    result = services.baselines_refit(only_cold=only_cold)
    return {"fitted": result.fitted, "methods": result.methods}


@shared_task(**_TRANSIENT, ignore_result=True)
def retention_purge() -> dict:
    purged = services.retention_purge()
    return {"reports": purged.reports, "buckets": purged.buckets}
