"""Thin Celery tasks for the official status poller (loaded through CELERY_IMPORTS).

``official_sweep`` runs on the beat schedule and claims the sources that are due (their
``next_poll_at`` row, the host's request budget); each claimed source is polled by one
``official_source_poll`` task. Nothing retries with a countdown: a failed poll stores its
backoff in the row and the sweeper sends it again when it is due.
"""

from __future__ import annotations

from celery import shared_task

__all__ = ["official_source_poll_task", "official_sweep_task"]


@shared_task(name="detection.official.tasks.official_sweep", ignore_result=True)
def official_sweep_task() -> int:
    """Claim every due source within its host's budget and queue one poll for each."""
    from detection.official import services

    return len(services.official_sweep())


@shared_task(name="detection.official.tasks.official_source_poll", ignore_result=True)
def official_source_poll_task(*, source_id: int) -> str:
    """Poll one source once: safe twice (a second poll of the same page changes nothing)."""
    from detection.official import services

    return services.status_source_poll(source_id=source_id).outcome
