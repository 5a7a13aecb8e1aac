"""Alerts about upstream outages: the provider's followers hear that several services on it
are down together, once per upstream outage, even when nobody reported the provider itself.

Detection calls ``alerts_upstream_notify`` inside the transaction that created the
UpstreamOutage (detection.services.upstream): the rows commit with it, their sending is
queued on commit, and ``alerts_sweep`` sends whatever was lost or is due for a retry.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.utils import timezone

from alerts import emails, presentation, selectors
from alerts.models import UpstreamDelivery
from alerts.services.outbox import (
    Outcome,
    SendResult,
    claim,
    queue_after_commit,
)
from alerts.services.sending import message_id_keep, notice_send
from alerts.tasks import upstream_delivery_send_task
from detection import selectors as detection_selectors
from detection.models import UpstreamOutage

logger = logging.getLogger(__name__)
Status = UpstreamDelivery.Status


def alerts_upstream_notify(*, upstream: UpstreamOutage, now: datetime | None = None) -> int:
    """A new upstream outage: one message to each active follower of its provider's catalog
    service (none when the provider is not in the catalog). Calling it again adds nothing
    (unique rows). Returns the number of subscriptions told."""
    now = now or timezone.now()
    ids = selectors.subscriptions_for_provider(service_id=upstream.provider.service_id)
    if not ids:
        return 0
    UpstreamDelivery.objects.bulk_create(
        [
            UpstreamDelivery(upstream=upstream, subscription_id=pk, next_attempt_at=now)
            for pk in ids
        ],
        ignore_conflicts=True,
    )
    pending = list(
        UpstreamDelivery.objects.filter(upstream=upstream, status=Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    for pk in pending:
        # robust: a broker outage must not fail the detector; the sweeper sends the rows later.
        queue_after_commit(upstream_delivery_send_task, delivery_id=pk)
    return len(ids)


def upstream_deliveries_queue(*, now: datetime) -> list[int]:
    """The sweeper's part: queue every upstream message that is due or was lost."""
    ids = selectors.upstream_deliveries_due(now=now)
    for pk in ids:
        upstream_delivery_send_task.delay(delivery_id=pk)
    return ids


def upstream_delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendResult:
    """Claim one upstream message, check it is still wanted, send it, record the outcome."""
    now = now or timezone.now()
    mine = claim(UpstreamDelivery, pk=delivery_id, now=now)
    if mine is None:
        return SendResult(Outcome.NOT_CLAIMED)
    delivery = selectors.upstream_delivery_get(delivery_id=delivery_id)
    subscription = delivery.subscription
    reason = ""
    if subscription.unsubscribed_at or subscription.disabled_at or not subscription.confirmed_at:
        reason = "Subscription no longer active."
    elif delivery.upstream.resolved_at is not None:
        reason = "Over before the alert could be sent."
    view = detection_selectors.upstream_views(ids=[delivery.upstream_id]).get(delivery.upstream_id)
    if not reason and (view is None or not view.affected):
        reason = "No outage is grouped in it any more."
    if reason:
        mine.update(status=Status.SKIPPED, last_error=reason)
        return SendResult(Outcome.SKIPPED, reason=reason)
    message_id_keep(
        mine=mine,
        row=delivery,
        make=partial(emails.upstream_message_id, delivery_id=delivery.pk, made=delivery.created_at),
    )
    return notice_send(
        mine=mine,
        attempts=delivery.attempts,
        subscription=subscription,
        build=partial(presentation.upstream_notice_build, delivery=delivery, view=view, now=now),
        now=now,
        what=f"Upstream delivery {delivery_id}",
    )
