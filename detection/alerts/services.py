"""Subscriptions (double opt-in) and outage alert emails, each sent exactly once.

Exactly once: ``alerts_schedule`` writes one AlertDelivery per (outage, subscription, kind)
under the database's unique constraint, inside the detector's transaction, and queues the
sending after commit. A sender first claims its row with a conditional UPDATE (pending ->
sending, or a 'sending' claim so old that its worker must have died), sends, then marks it
sent. A task delivered twice, retried, or re-queued by the sweeper finds nothing to claim.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from redis.exceptions import RedisError

from detection.alerts import emails, selectors
from detection.models import AlertDelivery, Outage, Subscription
from reports.models import Service

logger = logging.getLogger(__name__)

Kind = AlertDelivery.Kind
Status = AlertDelivery.Status

# Everything smtplib raises is an SMTPException, itself an OSError, as are refused or reset
# connections and timeouts: worth another try later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, OSError)


def email_normalize(value: str) -> str:
    # One address, one row and one rate limit, whatever the capitalisation.
    return value.strip().lower()


def smtp_refused_permanently(exc: BaseException) -> bool:
    """A 5xx answer to RCPT TO: the mailbox does not exist or will never take our mail."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return False
    return all(code >= 500 for code, _ in exc.recipients.values())


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


# --- Subscriptions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionRequested:
    subscription: Subscription
    confirmation_queued: bool


def subscription_request(
    *, email: str, service: Service, countries: list[str], now: datetime | None = None
) -> SubscriptionRequested:
    """Start (or restart) a double opt-in: at most one confirmation email, rate-limited.

    The caller answers the same whatever happens here, so nobody learns whether an address
    is already subscribed. Nothing about a confirmed subscription changes until the link
    in the confirmation email is followed.
    """
    now = now or timezone.now()
    email = email_normalize(email)
    countries = sorted(set(countries))
    with transaction.atomic():
        subscription, created = Subscription.objects.select_for_update().get_or_create(
            email=email, service=service, defaults={"countries": countries}
        )
        if not created and subscription.confirmed_at is None:
            subscription.countries = countries
        queued = _confirmation_allowed(subscription=subscription, now=now)
        if queued:
            subscription.confirmation_sent_at = now
        subscription.save(update_fields=["countries", "confirmation_sent_at"])
        if queued:
            transaction.on_commit(
                partial(_queue_confirmation, subscription.pk, countries, now), robust=True
            )
    if not queued:
        logger.info("Confirmation for subscription %s not sent: rate limit", subscription.pk)
    return SubscriptionRequested(subscription=subscription, confirmation_queued=queued)


def _confirmation_allowed(*, subscription: Subscription, now: datetime) -> bool:
    last = subscription.confirmation_sent_at
    if last and last > now - timedelta(minutes=settings.SUBSCRIPTION_CONFIRM_RESEND_MINUTES):
        return False
    limit = settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY
    day_ago = now - timedelta(days=1)
    # The database bounds the damage even without Redis: services mailed within a day.
    recent = Subscription.objects.filter(
        email=subscription.email, confirmation_sent_at__gte=day_ago
    ).count()
    if recent >= limit:
        return False
    # Redis counts every confirmation to this address for a day, across all services.
    key = "alerts:confirmations:" + hashlib.sha256(subscription.email.encode()).hexdigest()
    try:
        cache.add(key, 0, timeout=86400)
        return cache.incr(key) <= limit
    except (RedisError, ValueError):
        logger.warning("Confirmation counter unavailable; relying on the database limit")
        return True


def _queue_confirmation(subscription_id: int, countries: list[str], requested_at: datetime):
    from detection.alerts.tasks import subscription_confirmation_send

    subscription_confirmation_send.delay(
        subscription_id=subscription_id, countries=countries, requested_at=requested_at.isoformat()
    )


def subscription_confirmation_send(
    *, subscription_id: int, countries: list[str], requested_at: datetime
) -> str:
    """Send the confirmation email of one sign-up request; safe to run twice."""
    subscription = Subscription.objects.select_related("service").filter(pk=subscription_id)
    subscription = subscription.first()
    if subscription is None or subscription.confirmation_sent_at != requested_at:
        return "superseded"  # a newer request sends its own link
    key = f"alerts:confirmation-sent:{subscription_id}:{requested_at.timestamp()}"
    try:
        if not cache.add(key, 1, timeout=86400):
            return "duplicate"
    except RedisError:
        logger.warning("Confirmation dedup unavailable; sending anyway")
    message = emails.confirmation_email_build(subscription=subscription, countries=countries)
    try:
        message.send(fail_silently=False)
    except TRANSIENT_ERRORS as exc:
        if smtp_refused_permanently(exc):
            subscription_disable(subscription=subscription, reason=_error_text(exc))
            return "refused"
        cache.delete(key)
        raise
    return "sent"


def subscription_confirm(
    *, subscription: Subscription, countries: list[str], now: datetime | None = None
) -> Subscription:
    """The link was followed: the address is real and wants these alerts."""
    now = now or timezone.now()
    active = subscription.confirmed_at and not (
        subscription.unsubscribed_at or subscription.disabled_at
    )
    if not active:
        subscription.confirmed_at = now
    subscription.countries = countries
    subscription.unsubscribed_at = None
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(
        update_fields=[
            "confirmed_at",
            "countries",
            "unsubscribed_at",
            "disabled_at",
            "disabled_reason",
        ]
    )
    return subscription


def subscription_unsubscribe(
    *, subscription: Subscription, now: datetime | None = None
) -> Subscription:
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = now or timezone.now()
        subscription.save(update_fields=["unsubscribed_at"])
    return subscription


def subscription_disable(*, subscription: Subscription, reason: str) -> None:
    """The address bounced for good: stop mailing it (a new confirmation re-enables it)."""
    Subscription.objects.filter(pk=subscription.pk, disabled_at__isnull=True).update(
        disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    logger.warning("Subscription %s disabled: %s", subscription.pk, reason)


# --- Alerts ------------------------------------------------------------------------------


def alerts_schedule(*, outage: Outage, kind: str) -> int:
    """Called inside the transaction that opens or resolves ``outage``.

    Creates the AlertDelivery rows for matching confirmed subscriptions and queues their
    sending after commit. Calling it again for the same outage and kind adds only rows for
    new subscribers. Returns the number of subscriptions considered.
    """
    if kind == Kind.OPENED:
        ids = [s.pk for s in selectors.subscriptions_for_outage(outage=outage)]
    elif kind == Kind.RESOLVED:
        # Only those told it began hear that it ended.
        ids = selectors.subscription_ids_told_opened(outage=outage)
    else:
        raise ValueError(f"Unknown alert kind {kind!r}")
    if not ids:
        return 0
    AlertDelivery.objects.bulk_create(
        [AlertDelivery(outage=outage, subscription_id=pk, kind=kind) for pk in ids],
        ignore_conflicts=True,
    )
    # robust: a broker outage must not fail the detector; the sweeper queues the rows later.
    transaction.on_commit(partial(_queue_dispatch, outage.pk, str(kind)), robust=True)
    return len(ids)


def _queue_dispatch(outage_id: int, kind: str) -> None:
    from detection.alerts.tasks import alerts_dispatch

    alerts_dispatch.delay(outage_id=outage_id, kind=kind)


def alerts_queue(*, outage_id: int, kind: str) -> list[int]:
    """Queue one send task per pending delivery of this outage and kind."""
    from detection.alerts.tasks import alert_delivery_send

    ids = selectors.delivery_pending_ids(outage_id=outage_id, kind=kind)
    for delivery_id in ids:
        alert_delivery_send.delay(delivery_id=delivery_id)
    return ids


def alerts_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-queue deliveries whose message may have been lost (Redis restart, dead worker)."""
    from detection.alerts.tasks import alert_delivery_send

    ids = selectors.deliveries_due(now=now or timezone.now())
    for delivery_id in ids:
        alert_delivery_send.delay(delivery_id=delivery_id)
    return ids


class Outcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    HELD = "held"  # back to pending, to be looked at again after ``delay``
    RETRY = "retry"  # transient SMTP failure, back to pending, retry after ``delay``
    FAILED = "failed"
    NOT_CLAIMED = "not_claimed"  # sent, skipped, or another worker has it


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    delay: int | None = None
    reason: str = ""
    error: BaseException | None = None


@dataclass(frozen=True)
class _Decision:
    send: bool
    reason: str = ""
    hold_until: datetime | None = None  # with send=False: wait instead of skipping
    hold: bool = False
    earlier: AlertDelivery | None = None


def alert_delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendResult:
    """Claim one delivery, decide whether it is still wanted, send it, record the outcome."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS)
    claimed = (
        AlertDelivery.objects.filter(pk=delivery_id)
        .filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_at__lt=stale))
        .update(status=Status.SENDING, claimed_at=now)
    )
    if not claimed:
        return SendResult(Outcome.NOT_CLAIMED)
    mine = AlertDelivery.objects.filter(pk=delivery_id, status=Status.SENDING, claimed_at=now)
    delivery = selectors.delivery_get(delivery_id=delivery_id)

    decision = _decide(delivery=delivery, now=now)
    if decision.hold:
        mine.update(status=Status.PENDING)
        delay = None
        if decision.hold_until is not None:
            delay = max(int((decision.hold_until - now).total_seconds()) + 1, 1)
        return SendResult(Outcome.HELD, delay=delay, reason=decision.reason)
    if not decision.send:
        mine.update(status=Status.SKIPPED, last_error=decision.reason)
        return SendResult(Outcome.SKIPPED, reason=decision.reason)

    try:
        message = emails.alert_email_build(delivery=delivery, earlier=decision.earlier, now=now)
    except Exception as exc:  # a broken template must not loop through the sweeper forever
        logger.exception("Could not build alert email for delivery %s", delivery_id)
        mine.update(status=Status.FAILED, last_error=_error_text(exc))
        return SendResult(Outcome.FAILED, reason=_error_text(exc), error=exc)
    try:
        message.send(fail_silently=False)
    except TRANSIENT_ERRORS as exc:
        return _record_failure(delivery=delivery, mine=mine, exc=exc)
    if not mine.update(status=Status.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1):
        logger.warning("Delivery %s was taken over while sending", delivery_id)
    return SendResult(Outcome.SENT)


def _record_failure(*, delivery: AlertDelivery, mine, exc: BaseException) -> SendResult:
    error = _error_text(exc)
    attempts = delivery.attempts + 1
    if smtp_refused_permanently(exc):
        mine.update(status=Status.FAILED, attempts=attempts, last_error=error)
        subscription_disable(subscription=delivery.subscription, reason=error)
        return SendResult(Outcome.FAILED, reason=error, error=exc)
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        # The server refuses this message for good (size, content): retrying cannot help.
        mine.update(status=Status.FAILED, attempts=attempts, last_error=error)
        return SendResult(Outcome.FAILED, reason=error, error=exc)
    if attempts >= settings.ALERT_MAX_ATTEMPTS:
        reason = f"Gave up after {attempts} attempts. {error}"
        mine.update(status=Status.FAILED, attempts=attempts, last_error=reason[:1000])
        logger.error("Delivery %s failed: %s", delivery.pk, reason)
        return SendResult(Outcome.FAILED, reason=reason, error=exc)
    mine.update(status=Status.PENDING, attempts=attempts, last_error=error)
    delay = selectors.retry_delay_seconds(attempts=attempts)
    logger.warning(
        "Delivery %s attempt %s failed (%s); retry in %ss", delivery.pk, attempts, error, delay
    )
    return SendResult(Outcome.RETRY, delay=delay, reason=error, error=exc)


def _decide(*, delivery: AlertDelivery, now: datetime) -> _Decision:
    subscription, outage = delivery.subscription, delivery.outage
    if subscription.unsubscribed_at or subscription.disabled_at or not subscription.confirmed_at:
        return _Decision(send=False, reason="Subscription no longer active.")
    if delivery.kind == Kind.OPENED:
        return _decide_opened(delivery=delivery, outage=outage, now=now)
    return _decide_resolved(delivery=delivery, outage=outage, now=now)


def _decide_opened(*, delivery: AlertDelivery, outage: Outage, now: datetime) -> _Decision:
    if outage.status != Outage.Status.ACTIVE:
        # Telling someone an outage began after it ended helps nobody; its "resolved"
        # email is skipped along with it.
        return _Decision(send=False, reason="Outage was over before the alert could be sent.")
    cooldown = timedelta(minutes=settings.ALERT_COOLDOWN_MINUTES)
    earlier = selectors.delivery_last_opened_elsewhere(delivery=delivery)
    if earlier is None or earlier.sent_at is None:
        return _Decision(send=True)
    if earlier.sent_at + cooldown > now:
        # Flapping: hold the alert until the cool-down is over; if the outage ends
        # meanwhile it is dropped (above), otherwise it goes out then, saying why late.
        return _Decision(
            send=False,
            hold=True,
            hold_until=earlier.sent_at + cooldown,
            reason=f"Cool-down after the alert sent at {earlier.sent_at:%H:%M} UTC.",
        )
    held_back = earlier.sent_at + cooldown > outage.detected_at
    return _Decision(send=True, earlier=earlier if held_back else None)


def _decide_resolved(*, delivery: AlertDelivery, outage: Outage, now: datetime) -> _Decision:
    opened = selectors.delivery_opened_status(
        outage_id=outage.pk, subscription_id=delivery.subscription_id
    )
    if opened in (Status.PENDING, Status.SENDING):
        return _Decision(send=False, hold=True, hold_until=now + timedelta(minutes=1))
    if opened != Status.SENT:
        return _Decision(send=False, reason="The subscriber was not told about this outage.")
    if outage.status != Outage.Status.RESOLVED or outage.resolved_at is None:
        # Reopened within the detector's window: wait for it to end again.
        return _Decision(send=False, hold=True, reason="Outage is active again.")
    resolved = selectors.outage_resolved_moment(outage=outage) or outage.resolved_at
    settled = resolved + timedelta(minutes=settings.ALERT_RESOLVED_GRACE_MINUTES)
    if settled > now:
        return _Decision(send=False, hold=True, hold_until=settled, reason="Grace period.")
    return _Decision(send=True)
