"""Subscriptions (double opt-in) and every email they cause, each a row sent exactly once.

Every outbound email is a database row written in the transaction that decides it: a
ConfirmationDelivery with the sign-up request, an AlertDelivery per (outage, subscription,
kind) under a unique constraint inside the detector's transaction. A thin task sends the
row right after commit; ``alerts_sweep`` (every minute) sends whatever is due later (retry
backoff, cool-down, grace period: ``next_attempt_at``) or was lost with Redis. No task
waits in the broker with a countdown: kombu holds such a message unacked inside the worker,
and after a Redis restart its restore crashed the worker (issue 11, see
docs/deployment.md).

A sender first claims its row with a conditional UPDATE (pending and due -> sending, or a
'sending' claim so old that its worker must have died), sends, then marks it sent. A task
delivered twice, or queued again by the sweeper, finds nothing to claim.
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
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from redis.exceptions import RedisError

from alerts import emails, selectors
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.tasks import (
    alert_delivery_send_task,
    alerts_dispatch_task,
    confirmation_delivery_send_task,
)
from detection.models import Outage
from reports.models import Service

logger = logging.getLogger(__name__)

Kind = AlertDelivery.Kind
Status = AlertDelivery.Status

# Everything smtplib raises is an SMTPException, itself an OSError, as are refused or reset
# connections and timeouts: worth another try later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, OSError)

# Gmail delivers a.b.c@ and abc@ to one mailbox; googlemail.com is the same service.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def email_normalize(value: str) -> str:
    # One address, one row, whatever the capitalisation.
    return value.strip().lower()


def email_rate_key(value: str) -> str:
    """The mailbox behind an address, for the per-address cap only (mail goes as typed).

    ann+x@ and ann@ reach one inbox at almost every provider, and Gmail ignores dots:
    without this, variants of one address each got the full daily allowance.
    """
    local, _, domain = email_normalize(value).rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def smtp_refused_permanently(exc: BaseException) -> bool:
    """A 5xx answer to RCPT TO: the mailbox does not exist or will never take our mail."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return False
    return all(code >= 500 for code, _ in exc.recipients.values())


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


class Outcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    HELD = "held"  # back to pending until next_attempt_at (None: until an outage event)
    RETRY = "retry"  # transient SMTP failure, back to pending, retry after ``delay``
    FAILED = "failed"
    NOT_CLAIMED = "not_claimed"  # sent, skipped, not due yet, or another worker has it


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    delay: int | None = None
    reason: str = ""
    error: BaseException | None = None


def _claim(model: type[models.Model], *, pk: int, now: datetime) -> QuerySet | None:
    """Take one outbox row for this worker; the returned queryset updates only our claim."""
    stale = now - timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS)
    claimed = (
        model.objects.filter(pk=pk)
        .filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, claimed_at__lt=stale)
        )
        .update(status=Status.SENDING, claimed_at=now)
    )
    if not claimed:
        return None
    return model.objects.filter(pk=pk, status=Status.SENDING, claimed_at=now)


def _record_failure(
    *, mine: QuerySet, attempts: int, exc: BaseException, now: datetime, what: str
) -> SendResult:
    """One failed attempt (``attempts`` before it): back off and retry, or give up."""
    error = _error_text(exc)
    attempts += 1
    permanent = smtp_refused_permanently(exc) or (
        # The server refuses this message for good (size, content): retrying cannot help.
        isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
    )
    if permanent:
        mine.update(status=Status.FAILED, attempts=attempts, last_error=error)
        return SendResult(Outcome.FAILED, reason=error, error=exc)
    if attempts >= settings.ALERT_MAX_ATTEMPTS:
        reason = f"Gave up after {attempts} attempts. {error}"
        mine.update(status=Status.FAILED, attempts=attempts, last_error=reason[:1000])
        logger.error("%s failed: %s", what, reason)
        return SendResult(Outcome.FAILED, reason=reason, error=exc)
    delay = selectors.retry_delay_seconds(attempts=attempts)
    # The row, not a broker countdown, remembers the retry: the sweeper sends it when due.
    mine.update(
        status=Status.PENDING,
        attempts=attempts,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    logger.warning("%s attempt %s failed (%s); retry in %ss", what, attempts, error, delay)
    return SendResult(Outcome.RETRY, delay=delay, reason=error, error=exc)


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
        confirmation = _confirmation_prepare(
            subscription=subscription, countries=countries, now=now
        )
        if confirmation is not None:
            subscription.confirmation_sent_at = now
        subscription.save(update_fields=["countries", "confirmation_sent_at"])
        if confirmation is not None:
            # robust: a broker outage must not fail the request; the sweeper sends the row.
            transaction.on_commit(
                partial(confirmation_delivery_send_task.delay, confirmation_id=confirmation.pk),
                robust=True,
            )
    if confirmation is None:
        logger.info("Confirmation for subscription %s not sent: rate limit", subscription.pk)
    return SubscriptionRequested(
        subscription=subscription, confirmation_queued=confirmation is not None
    )


def _confirmation_prepare(
    *, subscription: Subscription, countries: list[str], now: datetime
) -> ConfirmationDelivery | None:
    """The outbox row that will carry this request's link, or None when rate-limited."""
    waiting = (
        subscription.confirmations.filter(status__in=[Status.PENDING, Status.SENDING])
        .order_by("-created_at")
        .first()
    )
    if waiting is not None:
        # The last confirmation never left (SMTP trouble): it goes out with these countries,
        # as soon as possible, instead of a second email; no resend gap applies to it.
        ConfirmationDelivery.objects.filter(pk=waiting.pk, status=Status.PENDING).update(
            countries=countries, next_attempt_at=now
        )
        return waiting
    last_sent = subscription.confirmations.filter(status=Status.SENT).order_by("-sent_at").first()
    gap = timedelta(minutes=settings.SUBSCRIPTION_CONFIRM_RESEND_MINUTES)
    if last_sent is not None and last_sent.sent_at and last_sent.sent_at > now - gap:
        return None
    key = email_rate_key(subscription.email)
    if not _confirmation_allowed(address_key=key, now=now):
        return None
    return ConfirmationDelivery.objects.create(
        subscription=subscription,
        countries=countries,
        address_key=key,
        created_at=now,
        next_attempt_at=now,
    )


def _confirmation_allowed(*, address_key: str, now: datetime) -> bool:
    """At most SUBSCRIPTION_CONFIRMATIONS_PER_DAY confirmations per mailbox, all services."""
    limit = settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY
    # The database bounds the damage even without Redis.
    recent = ConfirmationDelivery.objects.filter(
        address_key=address_key, created_at__gt=now - timedelta(days=1)
    ).count()
    if recent >= limit:
        return False
    # Redis also counts requests from before a purge, for a day.
    key = "alerts:confirmations:" + hashlib.sha256(address_key.encode()).hexdigest()
    try:
        cache.add(key, 0, timeout=86400)
        return cache.incr(key) <= limit
    except (RedisError, ValueError):
        logger.warning("Confirmation counter unavailable; relying on the database limit")
        return True


def confirmation_delivery_send(*, confirmation_id: int, now: datetime | None = None) -> SendResult:
    """Claim one confirmation email, send it, record the outcome; safe to run twice."""
    now = now or timezone.now()
    mine = _claim(ConfirmationDelivery, pk=confirmation_id, now=now)
    if mine is None:
        return SendResult(Outcome.NOT_CLAIMED)
    confirmation = ConfirmationDelivery.objects.select_related(
        "subscription", "subscription__service"
    ).get(pk=confirmation_id)
    if confirmation.used_at is not None:
        # Unsubscribed, or confirmed through another link, before this one could leave.
        mine.update(status=Status.SKIPPED, last_error="Link revoked before it was sent.")
        return SendResult(Outcome.SKIPPED, reason="revoked")
    try:
        message = emails.confirmation_email_build(confirmation=confirmation)
    except Exception as exc:  # a broken template must not loop through the sweeper forever
        logger.exception("Could not build confirmation email %s", confirmation_id)
        mine.update(status=Status.FAILED, last_error=_error_text(exc))
        return SendResult(Outcome.FAILED, reason=_error_text(exc), error=exc)
    try:
        message.send(fail_silently=False)
    except TRANSIENT_ERRORS as exc:
        result = _record_failure(
            mine=mine,
            attempts=confirmation.attempts,
            exc=exc,
            now=now,
            what=f"Confirmation {confirmation_id}",
        )
        if smtp_refused_permanently(exc):
            subscription_disable(subscription=confirmation.subscription, reason=result.reason)
        return result
    if not mine.update(status=Status.SENT, sent_at=now, attempts=F("attempts") + 1):
        logger.warning("Confirmation %s was taken over while sending", confirmation_id)
    return SendResult(Outcome.SENT)


def subscription_confirm(
    *, confirmation: ConfirmationDelivery, now: datetime | None = None
) -> Subscription | None:
    """The link was followed: the address is real and wants these alerts.

    Each link works once (a replayed link must not undo a later unsubscribe or change the
    countries back); None when it was used or revoked already.
    """
    now = now or timezone.now()
    with transaction.atomic():
        used = ConfirmationDelivery.objects.filter(pk=confirmation.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not used:
            return None
        subscription = Subscription.objects.select_for_update().get(pk=confirmation.subscription_id)
        active = subscription.confirmed_at and not (
            subscription.unsubscribed_at or subscription.disabled_at
        )
        if not active:
            subscription.confirmed_at = now
        subscription.countries = confirmation.countries
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
        # Older links carry older choices: this answer uses them up too.
        _confirmations_revoke(subscription=subscription, now=now)
    return subscription


def _confirmations_revoke(*, subscription: Subscription, now: datetime) -> None:
    subscription.confirmations.filter(status=Status.PENDING).update(
        status=Status.SKIPPED, last_error="Revoked before it was sent."
    )
    subscription.confirmations.filter(used_at__isnull=True).update(used_at=now)


def subscription_unsubscribe(
    *, subscription: Subscription, now: datetime | None = None
) -> Subscription:
    """Stop alerts; confirmation links mailed before this stop working too."""
    now = now or timezone.now()
    with transaction.atomic():
        if subscription.unsubscribed_at is None:
            subscription.unsubscribed_at = now
            subscription.save(update_fields=["unsubscribed_at"])
        _confirmations_revoke(subscription=subscription, now=now)
    return subscription


def subscription_disable(*, subscription: Subscription, reason: str) -> None:
    """The address bounced for good: stop mailing it (a new confirmation re-enables it)."""
    Subscription.objects.filter(pk=subscription.pk, disabled_at__isnull=True).update(
        disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    logger.warning("Subscription %s disabled: %s", subscription.pk, reason)


@dataclass(frozen=True)
class Purged:
    subscriptions: int
    confirmations: int


def subscriptions_purge(*, now: datetime | None = None) -> Purged:
    """Forget sign-ups never confirmed within SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS.

    Their links have expired by then; keeping the addresses would only keep data about
    people who never agreed to anything. Old confirmation rows of confirmed subscriptions
    go too, once past the day the per-address cap looks back.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS)
    unconfirmed = Subscription.objects.filter(confirmed_at__isnull=True).filter(
        Q(confirmation_sent_at__lt=cutoff)
        | Q(confirmation_sent_at__isnull=True, created_at__lt=cutoff)
    )
    subscriptions = unconfirmed.delete()[1].get(Subscription._meta.label, 0)
    confirmations, _ = ConfirmationDelivery.objects.filter(
        created_at__lt=cutoff - timedelta(days=1)
    ).delete()
    if subscriptions or confirmations:
        logger.info(
            "Purged %s unconfirmed subscriptions, %s old confirmations",
            subscriptions,
            confirmations,
        )
    return Purged(subscriptions=subscriptions, confirmations=confirmations)


# --- Alerts ------------------------------------------------------------------------------


class OutageChange(enum.StrEnum):
    """What detection tells alerts about an outage (detection's OutageEvent kinds)."""

    OPENED = "opened"
    COUNTRY = "country"  # a country joined: its followers may now be concerned
    REOPENED = "reopened"  # a re-fire within OUTAGE_REOPEN_MINUTES: the same outage again
    RESOLVED = "resolved"


def alerts_notify(*, outage: Outage, change: str, now: datetime | None = None) -> int:
    """Detection's one way into alerts: ``outage`` opened, changed or resolved.

    Called inside the transaction that changed the outage, after its row says so (status,
    countries): the delivery rows commit or roll back with it, and the send is queued with
    transaction.on_commit. Safe to call twice for the same change. Returns the number of
    subscriptions considered.
    """
    change = OutageChange(change)
    if change in (OutageChange.OPENED, OutageChange.COUNTRY):
        return alerts_schedule(outage=outage, kind=Kind.OPENED, now=now)
    if change == OutageChange.RESOLVED:
        return alerts_schedule(outage=outage, kind=Kind.RESOLVED, now=now)
    # Reopened: a "resolved" email still held waits for the outage to end again.
    return 0


def alerts_schedule(*, outage: Outage, kind: str, now: datetime | None = None) -> int:
    """Called inside the transaction that opens or resolves ``outage``.

    Creates the AlertDelivery rows for matching confirmed subscriptions and queues their
    sending after commit. Calling it again for the same outage and kind adds only rows for
    new subscribers, and wakes rows that were waiting for this event (a "resolved" email
    held while its outage was reopened). Returns the number of subscriptions considered.
    """
    now = now or timezone.now()
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
        [
            AlertDelivery(outage=outage, subscription_id=pk, kind=kind, next_attempt_at=now)
            for pk in ids
        ],
        ignore_conflicts=True,
    )
    AlertDelivery.objects.filter(
        outage=outage, kind=kind, status=Status.PENDING, next_attempt_at__isnull=True
    ).update(next_attempt_at=now)
    # robust: a broker outage must not fail the detector; the sweeper sends the rows later.
    transaction.on_commit(
        partial(alerts_dispatch_task.delay, outage_id=outage.pk, kind=str(kind)), robust=True
    )
    return len(ids)


def alerts_queue(*, outage_id: int, kind: str, now: datetime | None = None) -> list[int]:
    """Queue one send task per due delivery of this outage and kind."""
    ids = selectors.delivery_pending_ids(outage_id=outage_id, kind=kind, now=now or timezone.now())
    for delivery_id in ids:
        alert_delivery_send_task.delay(delivery_id=delivery_id)
    return ids


@dataclass(frozen=True)
class Swept:
    deliveries: list[int]
    confirmations: list[int]


def alerts_sweep(*, now: datetime | None = None) -> Swept:
    """Queue every email that is due: its retry, hold or grace time has come, its first
    message was lost (Redis restart), or its claim is stale (the worker died while sending).

    The sweeper is the source of truth for anything later than "now"; queueing a row twice
    is harmless, the claim lets one send through.
    """
    now = now or timezone.now()
    deliveries = selectors.deliveries_due(now=now)
    for delivery_id in deliveries:
        alert_delivery_send_task.delay(delivery_id=delivery_id)
    confirmations = selectors.confirmations_due(now=now)
    for confirmation_id in confirmations:
        confirmation_delivery_send_task.delay(confirmation_id=confirmation_id)
    return Swept(deliveries=deliveries, confirmations=confirmations)


@dataclass(frozen=True)
class _Decision:
    send: bool
    reason: str = ""
    hold_until: datetime | None = None  # with hold: when to look again (None: on an event)
    hold: bool = False
    earlier: AlertDelivery | None = None


def alert_delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendResult:
    """Claim one delivery, decide whether it is still wanted, send it, record the outcome."""
    now = now or timezone.now()
    mine = _claim(AlertDelivery, pk=delivery_id, now=now)
    if mine is None:
        return SendResult(Outcome.NOT_CLAIMED)
    delivery = selectors.delivery_get(delivery_id=delivery_id)

    decision = _decide(delivery=delivery, now=now)
    if decision.hold:
        # The sweeper looks again at hold_until; a null waits for alerts_schedule to wake it.
        mine.update(status=Status.PENDING, next_attempt_at=decision.hold_until)
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
        result = _record_failure(
            mine=mine, attempts=delivery.attempts, exc=exc, now=now, what=f"Delivery {delivery_id}"
        )
        if smtp_refused_permanently(exc):
            subscription_disable(subscription=delivery.subscription, reason=result.reason)
        return result
    if not mine.update(status=Status.SENT, sent_at=now, attempts=F("attempts") + 1):
        logger.warning("Delivery %s was taken over while sending", delivery_id)
    return SendResult(Outcome.SENT)


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
