"""One notice through its subscription's channel, with the outcome recorded on the claimed
row: the one way the outage alerts (alerts.services.deliveries) and the upstream alerts
(alerts.services.upstream) send, so a change to retries, to what a failure does to the
subscription, or to a sent row's fields is made once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db.models import F, QuerySet

from alerts import channels
from alerts.channels import TransportError
from alerts.channels.base import Notice
from alerts.models import AlertDelivery, Subscription, UpstreamDelivery
from alerts.services.outbox import Outcome, SendResult, Status, error_text, record_failure
from alerts.services.subscriptions import subscription_failed, subscription_succeeded

logger = logging.getLogger(__name__)


def notice_send(
    *,
    mine: QuerySet,
    attempts: int,
    subscription: Subscription,
    build: Callable[[], Notice],
    now: datetime,
    what: str,
    maybe_sent: bool = False,
) -> SendResult:
    """Build the notice and send it for the row claimed in `mine` (`attempts` made before),
    and record what came of it; `what` names the row in logs ("Delivery 12"). `maybe_sent`:
    the row has the field of that name, set when a failure may still have reached the
    receiver."""
    try:
        notice = build()
    except Exception as exc:  # a broken template must not loop through the sweeper forever
        logger.exception("Could not build the notice of %s", _lower(what))
        mine.update(status=Status.FAILED, last_error=error_text(exc))
        return SendResult(Outcome.FAILED, reason=error_text(exc), error=exc)
    try:
        channels.transport_for(subscription.channel).send(notice)
    except TransportError as exc:
        if exc.maybe_delivered and maybe_sent:
            mine.update(maybe_sent=True)  # counted as told, whatever comes of the row
        result = record_failure(mine=mine, attempts=attempts, exc=exc, now=now, what=what)
        if result.outcome == Outcome.FAILED:
            subscription_failed(subscription=subscription, error=exc, gave_up=result.gave_up)
        return result
    except Exception as exc:  # a bug in a transport must not leave the row claimed for ever
        logger.exception("Could not send %s", _lower(what))
        mine.update(status=Status.FAILED, last_error=error_text(exc))
        return SendResult(Outcome.FAILED, reason=error_text(exc), error=exc)
    # From here the receiver has the message: were we to die before the update below, the
    # stale claim is taken over and it is sent once more (the one duplicate possible; the
    # webhook's X-OutageWatch-Delivery and the email's Message-ID let receivers drop it).
    # A sent row carries no error: the failures before it are history (its attempts count them).
    if not mine.update(status=Status.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""):
        logger.warning("%s was taken over while sending", what)
    subscription_succeeded(subscription=subscription)
    return SendResult(Outcome.SENT)


def message_id_keep(
    *, mine: QuerySet, row: AlertDelivery | UpstreamDelivery, make: Callable[[], str]
) -> None:
    """Store the Message-ID of the claimed row's email (``make``: the one it is to carry)
    before its first attempt, committed as the claim is (nothing has left yet): a resend
    after a crash or a failure carries it, and the later emails of an outage's thread answer
    it, even once what it is derived from has changed (a release that derives it otherwise,
    SITE_URL, SECRET_KEY). Only emails have one."""
    if row.subscription.channel == Subscription.Channel.EMAIL and row.message_id is None:
        row.message_id = make()
        mine.update(message_id=row.message_id)


def _lower(what: str) -> str:
    return what[:1].lower() + what[1:]
