"""Celery tasks for subscriptions and alerts: thin, take ids, safe to run twice.

None of them retries itself or is queued with a countdown. Whatever is due later (an SMTP
retry, a cool-down) is a time in the row (``next_attempt_at``) that ``alerts_sweep`` reads
every minute: a countdown task is held unacked inside the
worker, and after a Redis restart kombu's restore of it crashed the worker (issue 11).

Imports go one way: services import these as ``<name>_task`` at module level to queue them
after commit; a task reaches its service only when it runs (imported inside the function),
so loading either module never loads the other's dependants and there is no cycle.

Registered as ``alerts.tasks.<name>``. Messages queued under the names of the first release
(``detection.alerts.tasks.<name>``) are dropped by a new worker as unregistered, which loses
nothing: every alert and confirmation is a row, and ``alerts_sweep`` sends what is due.
"""

from __future__ import annotations

from celery import shared_task

__all__ = [
    "alert_deliveries_send_task",
    "alert_delivery_send_task",
    "alerts_dispatch_task",
    "alerts_sweep_task",
    "confirmation_delivery_send_task",
    "subscriptions_purge_task",
    "upstream_delivery_send_task",
]


@shared_task(name="alerts.tasks.confirmation_delivery_send")
def confirmation_delivery_send_task(*, confirmation_id: int) -> str:
    """Send one confirmation email now if it is due and unclaimed."""
    from alerts import services

    return services.confirmation_delivery_send(confirmation_id=confirmation_id).outcome.value


@shared_task(name="alerts.tasks.alerts_dispatch")
def alerts_dispatch_task(*, outage_id: int, kind: str) -> int:
    """Fan out: one send task per due delivery of an outage and kind."""
    from alerts import services

    return len(services.alerts_queue(outage_id=outage_id, kind=kind))


@shared_task(name="alerts.tasks.alert_delivery_send")
def alert_delivery_send_task(*, delivery_id: int) -> str:
    """Send one alert email now if it is due and unclaimed; the row records any retry.
    (Queued one at a time before alert_deliveries_send; kept for messages already queued.)"""
    from alerts import services

    return services.alert_delivery_send(delivery_id=delivery_id).outcome.value


@shared_task(name="alerts.tasks.alert_deliveries_send")
def alert_deliveries_send_task(*, delivery_ids: list[int]) -> list[str]:
    """Send a batch of alerts, each as alert_delivery_send_task would, emails over one
    connection to the relay."""
    from alerts import services

    return [r.outcome.value for r in services.alert_deliveries_send(delivery_ids=delivery_ids)]


@shared_task(name="alerts.tasks.alerts_sweep")
def alerts_sweep_task() -> int:
    """Periodic: queue every alert and confirmation email that is due or was lost."""
    from alerts import services

    swept = services.alerts_sweep()
    return len(swept.deliveries) + len(swept.confirmations) + len(swept.upstream)


@shared_task(name="alerts.tasks.subscriptions_purge")
def subscriptions_purge_task() -> int:
    """Periodic: forget sign-ups never confirmed and subscriptions unsubscribed long ago."""
    from alerts import services

    return services.subscriptions_purge().subscriptions


@shared_task(name="alerts.tasks.deliveries_purge")
def deliveries_purge_task() -> int:
    """Periodic: forget the record of messages about outages long over."""
    from alerts import services

    return services.deliveries_purge()


@shared_task(name="alerts.tasks.upstream_delivery_send")
def upstream_delivery_send_task(*, delivery_id: int) -> str:
    """Send one upstream-outage alert now if it is due and unclaimed."""
    from alerts import services

    return services.upstream_delivery_send(delivery_id=delivery_id).outcome.value
