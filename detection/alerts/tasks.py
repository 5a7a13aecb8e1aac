"""Celery tasks for subscriptions and alerts: thin, take ids, safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.conf import settings

from detection.alerts import services

__all__ = [
    "alert_delivery_send",
    "alerts_dispatch",
    "alerts_sweep",
    "subscription_confirmation_send",
]


@shared_task(
    autoretry_for=services.TRANSIENT_ERRORS,
    retry_backoff=settings.ALERT_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=settings.ALERT_RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=False,
    max_retries=settings.ALERT_MAX_ATTEMPTS,
)
def subscription_confirmation_send(
    *, subscription_id: int, countries: list[str], requested_at: str
) -> str:
    return services.subscription_confirmation_send(
        subscription_id=subscription_id,
        countries=countries,
        requested_at=datetime.fromisoformat(requested_at),
    )


@shared_task
def alerts_dispatch(*, outage_id: int, kind: str) -> int:
    """Fan out: one send task per pending delivery of an outage and kind."""
    return len(services.alerts_queue(outage_id=outage_id, kind=kind))


@shared_task(bind=True, max_retries=None)
def alert_delivery_send(self, *, delivery_id: int) -> str:
    # The attempt count and its maximum live in the row (AlertDelivery.attempts), so a copy
    # re-queued by the sweeper does not start counting again.
    result = services.alert_delivery_send(delivery_id=delivery_id)
    if result.outcome == services.Outcome.RETRY:
        raise self.retry(countdown=result.delay, exc=result.error)
    if result.outcome == services.Outcome.HELD and result.delay is not None:
        # Capped so a long hold does not sit in the broker past its visibility timeout;
        # looking again early is harmless.
        alert_delivery_send.apply_async(
            kwargs={"delivery_id": delivery_id}, countdown=min(result.delay, 600)
        )
    return result.outcome.value


@shared_task
def alerts_sweep() -> int:
    """Periodic: re-queue pending deliveries whose message may be lost, and stale claims."""
    return len(services.alerts_sweep())
