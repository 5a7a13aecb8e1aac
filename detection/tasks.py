"""Thin Celery tasks; the work and its idempotency live in detection.services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from detection import services
from detection.alerts.tasks import *  # noqa: F403  (Celery autodiscovers detection.tasks)

# Retried only on errors that go away by themselves (a locked SQLite file, a dropped
# PostgreSQL connection); anything else is a bug and should surface.
_TRANSIENT = {"autoretry_for": (OperationalError,), "retry_backoff": 2, "max_retries": 3}


@shared_task(**_TRANSIENT, ignore_result=True)
def detect_minute() -> dict:
    """Bucket new reports, then judge every closed minute not judged yet."""
    aggregated = services.buckets_aggregate()
    ticks = services.detect_tick()
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
