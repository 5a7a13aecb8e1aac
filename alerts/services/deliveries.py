"""Alerts: every message an outage causes is a row, sent exactly once, through its channel.

Every message is a database row written in the transaction that decides it: an
AlertDelivery per (outage, event, subscription) under a unique constraint, inside the
detector's transaction (alerts_notify). Thin tasks send the rows right after commit, in
batches whose emails share one connection to the relay; ``alerts_sweep`` (every minute)
sends whatever is due later (retry backoff, cool-down: ``next_attempt_at``) or was lost
with Redis. No task waits in the broker with a countdown:
kombu holds such a message unacked inside the worker, and after a Redis restart its
restore crashed the worker (issue 11, see docs/deployment.md).

Sending goes through the outbox (alerts.services.outbox: claim, send, record) and the
subscription's channel (alerts.channels), which says whether a failure is worth retrying.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts import channels, emails, presentation, selectors
from alerts.models import AlertDelivery
from alerts.services.fanout import deliveries_insert
from alerts.services.outbox import (
    Outcome,
    SendResult,
    claim,
    queue_after_commit,
)
from alerts.services.sending import message_id_keep, notice_send
from alerts.services.subscriptions import service_alerts_lock
from alerts.services.upstream import upstream_deliveries_queue
from alerts.tasks import (
    alert_deliveries_send_task,
    alerts_dispatch_task,
    confirmation_delivery_send_task,
)
from detection.episodes import Episode
from detection.models import JobCursor, Outage

logger = logging.getLogger(__name__)

Kind = AlertDelivery.Kind
Status = AlertDelivery.Status


class OutageChange(enum.StrEnum):
    """What detection tells alerts about an outage (its OutageEvent kinds that matter here)."""

    OPENED = "opened"
    COUNTRY = "country"  # a country joined: its followers may now be concerned
    REOPENED = "reopened"  # a re-fire within OUTAGE_REOPEN_MINUTES: the same outage again
    RESOLVED = "resolved"
    # The provider's status page published an incident overlapping the open outage.
    ACKNOWLEDGED = "acknowledged"


# Atomic: detection calls it inside its transaction (a savepoint then), anyone else gets one
# of its own for the service's lock to hold.
@transaction.atomic
def alerts_notify(*, outage: Outage, change: str, now: datetime | None = None) -> int:
    """Detection's one way into alerts: ``outage`` opened, changed, reopened or resolved.

    Called inside the transaction that changed the outage, once its row says so (status,
    countries): the delivery rows commit or roll back with it, and their sending is queued
    with transaction.on_commit. Calling it twice for the same change adds nothing (unique
    rows). Returns the number of subscriptions considered.

    - opened / a country joined: "detected" for every matching subscription not told yet;
    - reopened: "problems again" for those told it was over whose countries the relapse
      concerns (its own countries, detection.episodes: not every country of the outage);
      a "resolved" still unsent is dropped, so its subscribers simply never heard of the lull;
    - a country joined a relapse: the same, for the followers it now concerns;
    - resolved: "resolved" for those whose last word is that it is on. It goes out at once:
      a re-fire within the reopen window is told in the same thread, so nothing waits;
    - acknowledged (the official status page published an incident that overlaps it): one
      "acknowledged" per outage for those told it is on who asked to hear it.
    """
    change = OutageChange(change)
    now = now or timezone.now()
    if change != OutageChange.ACKNOWLEDGED:
        # Who is told depends on who is on: a subscription turning on meanwhile waits, or is
        # waited for. Not for an acknowledgement: its poll may take several services' rows in
        # any order, and it only adds to what those told already heard.
        service_alerts_lock(service_id=outage.service_id)
    if change == OutageChange.ACKNOWLEDGED:
        ids = selectors.subscription_ids_told_active(outage=outage, acknowledged=True)
        return _deliveries_create(
            outage=outage, ids=ids, kind=Kind.ACKNOWLEDGED, episode=0, now=now
        )
    episode = selectors.outage_episode_current(outage=outage)
    if change == OutageChange.OPENED or (change == OutageChange.COUNTRY and not episode.number):
        ids = selectors.subscription_ids_for_outage(outage=outage, episode=episode)
        return _deliveries_create(outage=outage, ids=ids, kind=Kind.OPENED, episode=0, now=now)
    if change in (OutageChange.REOPENED, OutageChange.COUNTRY):
        if change == OutageChange.REOPENED:
            AlertDelivery.objects.filter(
                outage=outage, kind=Kind.RESOLVED, status=Status.PENDING
            ).update(status=Status.SKIPPED, last_error="Problems came back before it was sent.")
        return _relapse_tell(outage=outage, episode=episode, now=now)
    ids = selectors.subscription_ids_told_active(outage=outage)
    return _deliveries_create(
        outage=outage, ids=ids, kind=Kind.RESOLVED, episode=episode.number, now=now
    )


def _relapse_tell(*, outage: Outage, episode: Episode, now: datetime) -> int:
    """ "Problems again" for those told it was over, "detected" for those never told, among
    the followers the relapse concerns (again as countries join it: one row per episode)."""
    told = selectors.subscription_ids_told_resolved(outage=outage)
    ids = selectors.subscription_ids_matching(ids=told, episode=episode)
    # Those never told about it (their "detected" came too late for its first run, or their
    # country was not in it) hear it as detected now.
    untold = selectors.subscription_ids_untold(outage=outage, episode=episode)
    _deliveries_create(outage=outage, ids=untold, kind=Kind.OPENED, episode=episode.number, now=now)
    return len(untold) + _deliveries_create(
        outage=outage, ids=ids, kind=Kind.REOPENED, episode=episode.number, now=now
    )


def _deliveries_create(
    *, outage: Outage, ids: list[int], kind: str, episode: int, now: datetime
) -> int:
    if not ids:
        return 0
    row = AlertDelivery(
        outage=outage, subscription_id=0, kind=kind, episode=episode, next_attempt_at=now
    )
    deliveries_insert(row=row, subscription_ids=ids)
    # robust: a broker outage must not fail the detector; the sweeper sends the rows later.
    queue_after_commit(alerts_dispatch_task, outage_id=outage.pk, kind=str(kind))
    return len(ids)


# Deliveries a send task takes: one broker message and one relay connection for this many
# (a task, a connection each made 50,000 of both for one giant outage: bench/alerts), few
# enough that the worker processes share a fan-out and a batch lasts seconds.
SEND_BATCH = 50


def alerts_queue(*, outage_id: int, kind: str, now: datetime | None = None) -> list[int]:
    """Queue the due deliveries of this outage and kind, in send tasks of SEND_BATCH."""
    ids = selectors.delivery_pending_ids(outage_id=outage_id, kind=kind, now=now or timezone.now())
    _send_queue(ids)
    return ids


def _send_queue(ids: list[int]) -> None:
    for start in range(0, len(ids), SEND_BATCH):
        alert_deliveries_send_task.delay(delivery_ids=ids[start : start + SEND_BATCH])


@dataclass(frozen=True)
class Swept:
    deliveries: list[int]
    confirmations: list[int]
    upstream: list[int] = dataclass_field(default_factory=list)  # upstream-outage alerts


def alerts_sweep(*, now: datetime | None = None) -> Swept:
    """Queue every email that is due: its retry or hold time has come, its first
    message was lost (Redis restart), or its claim is stale (the worker died while sending).

    The sweeper is the source of truth for anything later than "now"; queueing a row twice
    is harmless, the claim lets one send through.
    """
    now = now or timezone.now()
    deliveries = selectors.deliveries_due(now=now)
    _send_queue(deliveries)
    confirmations = selectors.confirmations_due(now=now)
    for confirmation_id in confirmations:
        confirmation_delivery_send_task.delay(confirmation_id=confirmation_id)
    upstream = upstream_deliveries_queue(now=now)
    JobCursor.objects.update_or_create(name=JobCursor.ALERTS_SWEEP, defaults={"position": now})
    return Swept(deliveries=deliveries, confirmations=confirmations, upstream=upstream)


@dataclass(frozen=True)
class _Decision:
    send: bool
    reason: str = ""
    hold_until: datetime | None = None  # with hold: when the sweeper looks again
    hold: bool = False
    earlier: AlertDelivery | None = None
    # A "resolved" to someone whose "detected" never reached them: it says so.
    unreached: bool = False


def alert_deliveries_send(*, delivery_ids: list[int]) -> list[SendResult]:
    """alert_delivery_send for each (each claimed, decided and recorded on its own, at its
    own time), their emails over one connection to the relay."""
    with channels.connections_kept():
        return [alert_delivery_send(delivery_id=pk) for pk in delivery_ids]


def alert_delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendResult:
    """Claim one delivery, decide whether it is still wanted, send it, record the outcome."""
    now = now or timezone.now()
    mine = claim(AlertDelivery, pk=delivery_id, now=now)
    if mine is None:
        return SendResult(Outcome.NOT_CLAIMED)
    delivery = selectors.delivery_get(delivery_id=delivery_id)

    decision = _decide(delivery=delivery, now=now)
    if decision.hold:
        # The row remembers when to look again; the sweeper sends it then.
        mine.update(status=Status.PENDING, next_attempt_at=decision.hold_until)
        delay = None
        if decision.hold_until is not None:
            delay = max(int((decision.hold_until - now).total_seconds()) + 1, 1)
        return SendResult(Outcome.HELD, delay=delay, reason=decision.reason)
    if not decision.send:
        mine.update(status=Status.SKIPPED, last_error=decision.reason)
        return SendResult(Outcome.SKIPPED, reason=decision.reason)

    message_id_keep(
        mine=mine, row=delivery, make=partial(emails.alert_message_id, delivery=delivery)
    )
    return notice_send(
        mine=mine,
        attempts=delivery.attempts,
        subscription=delivery.subscription,
        build=partial(
            presentation.notice_build,
            delivery=delivery,
            now=now,
            earlier=decision.earlier,
            unreached=decision.unreached,
        ),
        now=now,
        what=f"Delivery {delivery_id}",
        maybe_sent=True,
    )


def _decide(*, delivery: AlertDelivery, now: datetime) -> _Decision:
    subscription, outage = delivery.subscription, delivery.outage
    if subscription.unsubscribed_at or subscription.disabled_at or not subscription.confirmed_at:
        return _Decision(send=False, reason="Subscription no longer active.")
    if selectors.delivery_earlier_in_flight(delivery=delivery):
        # Messages of one outage reach a subscriber in order: wait for the one before.
        return _Decision(send=False, hold=True, hold_until=now + timedelta(minutes=1))
    if delivery.kind == Kind.OPENED:
        return _decide_opened(delivery=delivery, outage=outage, now=now)
    told = selectors.delivery_last_told_kind(delivery=delivery)
    if delivery.kind == Kind.ACKNOWLEDGED:
        if outage.status != Outage.Status.ACTIVE:
            return _Decision(send=False, reason="Over before the acknowledgement was sent.")
        if told not in (Kind.OPENED, Kind.REOPENED):
            return _Decision(send=False, reason="The subscriber was not told about this outage.")
        return _Decision(send=True)
    if delivery.kind == Kind.REOPENED:
        if outage.status != Outage.Status.ACTIVE:
            return _Decision(send=False, reason="Over again before it could be sent.")
        if told != Kind.RESOLVED:
            return _Decision(send=False, reason="The subscriber was not told it had ended.")
        return _Decision(send=True)
    if outage.status != Outage.Status.RESOLVED or outage.resolved_at is None:
        return _Decision(send=False, reason="Problems came back before it was sent.")
    if told not in (Kind.OPENED, Kind.REOPENED):
        if told is None and selectors.delivery_opened_unreached(delivery=delivery):
            return _Decision(send=True, unreached=True)
        return _Decision(send=False, reason="The subscriber was not told about this outage.")
    return _Decision(send=True)


def _decide_opened(*, delivery: AlertDelivery, outage: Outage, now: datetime) -> _Decision:
    if outage.status != Outage.Status.ACTIVE:
        # Telling someone an outage began after it ended helps nobody. If the channel failed
        # while it lasted, its "resolved" tells the whole of it instead; if the alert was held
        # (the cool-down), the "resolved" is skipped along with it.
        if delivery.attempts:
            return _Decision(
                send=False,
                reason="Outage was over before the alert could be delivered: the "
                "'resolved' message tells it.",
            )
        return _Decision(send=False, reason="Outage was over before the alert could be sent.")
    if selectors.delivery_last_told_kind(delivery=delivery) is not None:
        return _Decision(send=False, reason="The subscriber was told about this outage already.")
    cooldown = timedelta(minutes=settings.ALERT_COOLDOWN_MINUTES)
    if cooldown and selectors.delivery_opened_elsewhere_in_flight(delivery=delivery):
        # The "detected" of an earlier outage is on its way (a relay may take minutes to
        # answer): not sent yet, it would not count below. Its worker claimed it before it
        # read that outage on, so before this one opened (one at a time per service): this
        # decision sees the claim. Look again once it is settled.
        return _Decision(
            send=False,
            hold=True,
            hold_until=now + timedelta(minutes=1),
            reason="An earlier alert about the service is being sent: the cool-down may apply.",
        )
    earlier = selectors.delivery_last_opened_elsewhere(delivery=delivery)
    if earlier is None:
        return _Decision(send=True)
    if earlier.told_at + cooldown > now:
        sent = "sent" if earlier.delivery.status == Status.SENT else "perhaps sent"
        # Flapping across outages (a re-fire after the reopen window): hold the alert until
        # the cool-down is over; if the outage ends meanwhile it is dropped (above),
        # otherwise it goes out then, saying why late.
        return _Decision(
            send=False,
            hold=True,
            hold_until=earlier.told_at + cooldown,
            reason=f"Cool-down after the alert {sent} at {earlier.told_at:%H:%M} UTC.",
        )
    held_back = earlier.told_at + cooldown > outage.detected_at
    return _Decision(send=True, earlier=earlier.delivery if held_back else None)
