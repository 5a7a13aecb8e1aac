"""Thin Celery tasks; the work and its idempotency live in detection.services."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from detection import services
from outagewatch.allocator import keep_freed_memory

# No retries with countdowns: a countdown task sits unacknowledged in the worker, which a
# Redis restart turns into a dead worker (docs/deployment.md). Each of these runs on a
# schedule and resumes from its watermark, so a failed run is simply redone by the next one.


def detector_process() -> None:
    """Set up the process that runs the tick (only the detector takes its queue): it keeps
    the memory each minute frees for the next (outagewatch/allocator.py)."""
    keep_freed_memory(enabled=settings.DETECTOR_KEEP_FREED_MEMORY)


@shared_task(ignore_result=True)
def detect_minute(now: str | None = None) -> dict:
    """Bucket new reports, then judge every closed minute not judged yet.

    `now` (ISO 8601) replaces the clock, for replays and for end-to-end tests.
    """
    from detection.services.simulate import tick_paused

    detector_process()
    if tick_paused():
        # `simulate history` is writing; the next run resumes from the watermarks.
        return {"paused": True}
    at = dt.datetime.fromisoformat(now) if now else None
    aggregated = services.buckets_aggregate(now=at)
    ticks = services.detect_tick(now=at)
    return {
        "buckets": aggregated.buckets,
        "minutes": [t.minute.isoformat() for t in ticks],
        "opened": sum(t.opened for t in ticks),
        "resolved": sum(t.resolved for t in ticks),
    }


@shared_task(ignore_result=True)
def detector_prime() -> dict:
    """Sent by the detector to itself when it starts: the next tick's baselines, read ahead."""
    detector_process()
    return {"series": services.tick_prime()}


@shared_task(ignore_result=True)
def baselines_refit(only_cold: bool = False) -> dict:
    """Periodic: the cold baselines (every 15 minutes, a bounded number), or every series
    (nightly), as a chain of batches (detection.services.baselines_refit_batch)."""
    if not only_cold:
        return {"queued": services.baselines_refit_start().isoformat()}
    result = services.baselines_refit(only_cold=True)
    return {"fitted": result.fitted, "methods": result.methods}


@shared_task(ignore_result=True)
def baselines_refit_batch(*, until: str, after: list | None) -> dict:
    """One batch of the nightly refit; it queues the next."""
    place = None if after is None else (int(after[0]), str(after[1]))
    result = services.baselines_refit_batch(until=dt.datetime.fromisoformat(until), after=place)
    return {"fitted": result.fitted, "methods": result.methods}


@shared_task(ignore_result=True)
def retention_purge() -> dict:
    # Every count, without naming them: a list written by hand here fell behind the ones
    # added to RetentionPurged later.
    return asdict(services.retention_purge())
