"""Subscriptions: double opt-in by email, unsubscribing, disabling, purging; and the emails
to their owners (ConfirmationDelivery rows: confirmation links, "channel disabled")."""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Max, Min, Q, QuerySet
from django.utils import timezone
from redis.exceptions import RedisError

from alerts import emails, presentation, selectors
from alerts.channels import TransportError
from alerts.channels.email import smtp_error
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.services.outbox import (
    Outcome,
    SendResult,
    claim,
    error_text,
    queue_after_commit,
    record_failure,
)
from alerts.tasks import alerts_dispatch_task, confirmation_delivery_send_task
from outagewatch.keyed_hash import keyed_hash
from outagewatch.timing import lasting_at_least
from reports.models import Service

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

Status = AlertDelivery.Status

# How many days of lists may wait for a mailbox: its links then leave within about that
# long of their request, with most of their SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS left. A longer
# queue would hold links that expire (and are purged) before or soon after they arrive.
_LISTS_WAITING = 2

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


@dataclass(frozen=True)
class SubscriptionRequested:
    subscription: Subscription
    # Its link goes in an email of its own, now (or with the retry of one waiting for SMTP).
    confirmation_queued: bool
    # Over the mailbox's daily cap: its link goes in the mailbox's gathered email, later.
    # Neither: a link mailed within the resend gap still works, and nothing new goes.
    confirmation_gathered: bool = False


class ConfirmationsWaitingFull(Exception):
    """Over the daily cap, with as many links waiting for the mailbox's lists as they carry
    in _LISTS_WAITING days: the request is refused and changes nothing (rolled back), where
    keeping it would let its link expire unsent, dropped without a word."""

    def __init__(self, *, limit: int, retry_at: datetime) -> None:
        super().__init__(f"{limit} confirmation links already wait for this address")
        self.limit = limit
        # When the next list is due to leave, making room.
        self.retry_at = retry_at


def gathered_waiting_max() -> int:
    """The most links that wait for one mailbox's lists; past it requests are refused."""
    return settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS * _LISTS_WAITING


def _answered_no_sooner(func: Callable[P, R]) -> Callable[P, R]:
    """func, taking at least SUBSCRIPTION_ANSWER_MIN_SECONDS (read at each call): its callers
    answer the same whatever it did, and its time must not tell either."""

    @wraps(func)
    def padded(*args: P.args, **kwargs: P.kwargs) -> R:
        with lasting_at_least(settings.SUBSCRIPTION_ANSWER_MIN_SECONDS):
            return func(*args, **kwargs)

    return padded


@_answered_no_sooner
def subscription_request(
    *,
    email: str,
    service: Service,
    countries: list[str],
    channel: str = Subscription.Channel.EMAIL,
    url: str = "",
    timezone_name: str = "",
    notify_acknowledged: bool | None = None,
    now: datetime | None = None,
) -> SubscriptionRequested:
    """Start (or restart) a double opt-in: one confirmation link, in an email of its own or,
    over the mailbox's daily cap, in the one email a day that lists the others' links too.

    The caller answers the same whatever happens here, so nobody learns whether an address
    is already subscribed. Nothing about a confirmed subscription changes until the link
    in the confirmation email is followed. For a webhook, Slack or Discord channel
    (``url``) the email goes to its owner, ``email``.
    ``timezone_name`` (validated IANA name; empty: unchanged, UTC for a new one) is the zone
    its messages show times in, taken on like the countries, as is ``notify_acknowledged``
    (also tell when the official status page acknowledges an outage; None: unchanged, no
    for a new one). Asking again for other countries must not reset what was not asked.
    Over the cap with the mailbox's lists full for days ahead it raises
    ConfirmationsWaitingFull, having changed nothing: the caller must say so (not "a link is
    on its way").
    """
    now = now or timezone.now()
    email = email_normalize(email)
    countries = sorted(set(countries))
    url = url if channel != Subscription.Channel.EMAIL else ""
    # The owner of another channel gets its management link again even when nothing would
    # change: asking again is how someone who lost that email finds the page.
    channel_owner_mail = channel != Subscription.Channel.EMAIL
    with transaction.atomic():
        subscription, created = Subscription.objects.select_for_update().get_or_create(
            email=email,
            service=service,
            channel=channel,
            url=url,
            defaults={
                "countries": countries,
                "secret": _secret_new(channel),
                "timezone": timezone_name or "UTC",
                "notify_acknowledged": bool(notify_acknowledged),
            },
        )
        if notify_acknowledged is None:
            notify_acknowledged = subscription.notify_acknowledged
        if not created and subscription.confirmed_at is None:
            subscription.countries = countries
            subscription.timezone = timezone_name or subscription.timezone
            subscription.notify_acknowledged = notify_acknowledged
        if not channel_owner_mail and _nothing_to_change(
            subscription,
            countries=countries,
            timezone_name=timezone_name,
            notify=notify_acknowledged,
        ):
            # Already getting exactly these alerts: an email could only say "nothing changes"
            # (the page answers as always, so this tells a visitor nothing).
            logger.info("Subscription %s already as requested: no email", subscription.pk)
            return SubscriptionRequested(subscription=subscription, confirmation_queued=False)
        confirmation = _confirmation_prepare(
            subscription=subscription,
            countries=countries,
            timezone_name=timezone_name,
            notify_acknowledged=notify_acknowledged,
            now=now,
        )
        if confirmation is not None:
            subscription.confirmation_sent_at = now
        subscription.save(
            update_fields=["countries", "timezone", "notify_acknowledged", "confirmation_sent_at"]
        )
        if confirmation is not None and not confirmation.gathered:
            # robust: a broker outage must not fail the request; the sweeper sends the row.
            queue_after_commit(confirmation_delivery_send_task, confirmation_id=confirmation.pk)
    if confirmation is None:
        logger.info("Confirmation for subscription %s not sent: resend gap", subscription.pk)
    elif confirmation.gathered:
        logger.info("Confirmation for subscription %s gathered: daily cap", subscription.pk)
    return SubscriptionRequested(
        subscription=subscription,
        confirmation_queued=confirmation is not None and not confirmation.gathered,
        confirmation_gathered=confirmation is not None and confirmation.gathered,
    )


def _nothing_to_change(
    subscription: Subscription, *, countries: list[str], timezone_name: str, notify: bool
) -> bool:
    """Whether the subscription is on with exactly what this request asks for."""
    return selectors.subscription_is_active(subscription) and not presentation.subscription_changes(
        subscription, countries=countries, timezone_name=timezone_name, notify=notify
    )


def _secret_new(channel: str) -> str:
    # Signs webhook bodies; Slack and Discord URLs carry their own secret.
    return secrets.token_hex(32) if channel == Subscription.Channel.WEBHOOK else ""


def _confirmation_prepare(
    *,
    subscription: Subscription,
    countries: list[str],
    timezone_name: str,
    notify_acknowledged: bool,
    now: datetime,
) -> ConfirmationDelivery | None:
    """The outbox row that will carry this request's link (gathered over the daily cap), or
    None when a link sent within the resend gap still works."""

    def same_choices(link: ConfirmationDelivery) -> bool:
        chosen = (link.countries, link.timezone, link.notify_acknowledged)
        return chosen == (countries, timezone_name, notify_acknowledged)

    links = subscription.confirmations.filter(purpose=ConfirmationDelivery.Purpose.CONFIRM)
    waiting = (
        links.filter(status__in=[Status.PENDING, Status.SENDING]).order_by("-created_at").first()
    )
    if waiting is not None:
        # The last confirmation never left (SMTP trouble, or gathered and waiting for its
        # list): it goes out with these countries instead of a second email; no resend gap
        # applies to it. As soon as possible, unless gathered: its list waits for the burst
        # to end or for the next day, and moving one row would not hurry the others.
        updated = ConfirmationDelivery.objects.filter(pk=waiting.pk, status=Status.PENDING).update(
            countries=countries,
            timezone=timezone_name,
            notify_acknowledged=notify_acknowledged,
            next_attempt_at=waiting.next_attempt_at if waiting.gathered else now,
        )
        if updated or same_choices(waiting):
            return waiting
        # Being sent right now with other choices: the link leaving carries those, so this
        # request's goes in an email of its own (answered "on its way", it was lost; review).
    # The resend gap spares an inbox a second link while the first still works, for the same
    # choices: a link for other countries (someone correcting a choice just made) goes, or
    # only the superseded one would arrive. One used or revoked (confirmed, then
    # unsubscribed) cannot be followed, so a new one goes at once (the page says one is on
    # its way). The daily cap below still bounds them.
    last_sent = links.filter(status=Status.SENT, used_at__isnull=True).order_by("-sent_at").first()
    gap = timedelta(minutes=settings.SUBSCRIPTION_CONFIRM_RESEND_MINUTES)
    if (
        last_sent is not None
        and last_sent.sent_at
        and last_sent.sent_at > now - gap
        and same_choices(last_sent)
    ):
        return None
    key = email_rate_key(subscription.email)
    # Over the cap the request is not dropped (the answer said a link is on its way): it
    # waits a while, so that a burst goes in one email, at most one a day (_gathered_send).
    gathered = not _confirmation_allowed(address_key=key, now=now)
    if gathered:
        _gathered_room_check(address_key=key, now=now)
    gather = timedelta(minutes=settings.SUBSCRIPTION_CONFIRM_GATHER_MINUTES)
    return ConfirmationDelivery.objects.create(
        subscription=subscription,
        countries=countries,
        timezone=timezone_name,
        notify_acknowledged=notify_acknowledged,
        address_key=key,
        gathered=gathered,
        created_at=now,
        next_attempt_at=now + gather if gathered else now,
    )


def _gathered_room_check(*, address_key: str, now: datetime) -> None:
    """Raise ConfirmationsWaitingFull when the mailbox's lists are full for days ahead.

    Not locked: two requests at once may both take the last place; one more link waits one
    more list, which the cap per list handles."""
    limit = gathered_waiting_max()
    waiting = ConfirmationDelivery.objects.filter(
        address_key=address_key,
        gathered=True,
        status__in=[Status.PENDING, Status.SENDING],
    )
    if waiting.count() < limit:
        return
    # Room opens when the next list leaves: once its first link is due, and a day after the
    # last list at the earliest.
    due = waiting.aggregate(due=Min("next_attempt_at"))["due"]
    last = _last_list_sent(address_key=address_key, now=now)
    candidates = [now + timedelta(minutes=1), due, last + timedelta(days=1) if last else None]
    logger.info("Confirmation request refused: %s links wait for the mailbox", limit)
    raise ConfirmationsWaitingFull(limit=limit, retry_at=max(c for c in candidates if c))


def _last_list_sent(*, address_key: str, now: datetime) -> datetime | None:
    """When the mailbox's list went in the last day, if it did (one list a day)."""
    return ConfirmationDelivery.objects.filter(
        address_key=address_key,
        gathered=True,
        status=Status.SENT,
        sent_at__gt=now - timedelta(days=1),
    ).aggregate(last=Max("sent_at"))["last"]


def _confirmation_allowed(*, address_key: str, now: datetime) -> bool:
    """At most SUBSCRIPTION_CONFIRMATIONS_PER_DAY emails of their own per mailbox, all
    services (gathered links do not count: their one email a day has its own limit)."""
    limit = settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY
    # The database bounds the damage even without Redis.
    recent = ConfirmationDelivery.objects.filter(
        address_key=address_key,
        purpose=ConfirmationDelivery.Purpose.CONFIRM,
        gathered=False,
        created_at__gt=now - timedelta(days=1),
    ).count()
    if recent >= limit:
        return False
    # Redis also counts requests from before a purge, for a day. Keyed, as every identifier
    # the project keeps: a plain hash of an address is undone by hashing likely addresses
    # (privacy tester, forty-fifth session).
    key = "alerts:confirmations:" + keyed_hash("alerts.confirmations", address_key)
    try:
        cache.add(key, 0, timeout=86400)
        return cache.incr(key) <= limit
    except (RedisError, ValueError):
        logger.warning("Confirmation counter unavailable; relying on the database limit")
        return True


def confirmation_delivery_send(*, confirmation_id: int, now: datetime | None = None) -> SendResult:
    """Claim one owner email (a confirmation link, or "channel disabled"), send it, record
    the outcome; safe to run twice. A gathered link sets off its mailbox's list instead."""
    now = now or timezone.now()
    gathered_key = (
        ConfirmationDelivery.objects.filter(pk=confirmation_id, gathered=True)
        .values_list("address_key", flat=True)
        .first()
    )
    if gathered_key is not None:
        return _gathered_send(confirmation_id=confirmation_id, address_key=gathered_key, now=now)
    mine = claim(ConfirmationDelivery, pk=confirmation_id, now=now)
    if mine is None:
        return SendResult(Outcome.NOT_CLAIMED)
    confirmation = ConfirmationDelivery.objects.select_related(
        "subscription", "subscription__service"
    ).get(pk=confirmation_id)
    purpose = confirmation.purpose
    skip = _link_skip_reason(confirmation)
    if skip:
        mine.update(status=Status.SKIPPED, last_error=skip)
        return SendResult(Outcome.SKIPPED, reason="revoked" if confirmation.used_at else "retired")
    if purpose == ConfirmationDelivery.Purpose.DISABLED:
        build = partial(emails.channel_disabled_email_build, confirmation=confirmation)
    else:
        build = partial(emails.confirmation_email_build, confirmation=confirmation)
    return _owner_email_send(
        mine=mine,
        rows=[confirmation],
        build=build,
        attempts=confirmation.attempts,
        what=f"Owner email {confirmation_id}",
        now=now,
    )


def _link_skip_reason(confirmation: ConfirmationDelivery) -> str:
    """Why a row's email must not go, or "" (a channel-disabled notice always goes)."""
    if confirmation.purpose != ConfirmationDelivery.Purpose.CONFIRM:
        return ""
    if confirmation.used_at is not None:
        # Unsubscribed, or confirmed through another link, before this one could leave.
        return "Link revoked before it was sent."
    if not confirmation.subscription.service.is_active:
        # Retired from the catalog after the request: a link to alerts that never come.
        return "The service was retired."
    return ""


def _owner_email_send(
    *,
    mine: QuerySet,
    rows: list[ConfirmationDelivery],
    build: Callable[[], EmailMultiAlternatives],
    attempts: int,
    what: str,
    now: datetime,
) -> SendResult:
    """Build and send one owner email carrying ``rows`` (claimed: ``mine``); they share its
    outcome. An address that is gone disables its email subscriptions."""
    try:
        message = build()
    except Exception as exc:  # a broken template must not loop through the sweeper forever
        logger.exception("Could not build %s", what)
        mine.update(status=Status.FAILED, last_error=error_text(exc))
        return SendResult(Outcome.FAILED, reason=error_text(exc), error=exc)
    # Committed before anything leaves, as the claim is: a resend after a crash or a failure
    # reads it back (alerts.emails), so the receiver can drop the one it has already.
    mine.update(message_id=message.extra_headers["Message-ID"])
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        error = smtp_error(exc)
        result = record_failure(mine=mine, attempts=attempts, exc=error, now=now, what=what)
        if error.gone:
            for row in rows:
                if row.subscription.channel == Subscription.Channel.EMAIL:
                    subscription_disable(subscription=row.subscription, reason=result.reason)
        return result
    except Exception as exc:
        # A message that cannot go as built (a header Django refuses): claimed again by every
        # sweep, it looped for ever with no attempt counted (text tester, 46th session).
        logger.exception("Could not send %s", what)
        mine.update(status=Status.FAILED, last_error=error_text(exc))
        return SendResult(Outcome.FAILED, reason=error_text(exc), error=exc)
    if mine.update(
        status=Status.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
    ) < len(rows):
        logger.warning("%s was taken over while sending", what)
    return SendResult(Outcome.SENT)


def _gathered_send(*, confirmation_id: int, address_key: str, now: datetime) -> SendResult:
    """Send a mailbox's gathered links in one email, set off by one of them that is due; the
    rows share its outcome (sent, retried or failed together through the outbox). At most
    SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS in one: the rest go in the next day's."""
    claimed = _gathered_claim(confirmation_id=confirmation_id, address_key=address_key, now=now)
    if isinstance(claimed, SendResult):
        return claimed
    mine = ConfirmationDelivery.objects.filter(
        pk__in=claimed, status=Status.SENDING, claimed_at=now
    )
    wanted, later = _gathered_split(mine=mine, now=now)
    if not wanted:
        return SendResult(Outcome.SKIPPED, reason="revoked or retired")
    # One email, one count: a link that joined after the first try does not make the list
    # give up sooner or later than the others.
    return _owner_email_send(
        mine=mine.filter(pk__in=[row.pk for row in wanted]),
        rows=wanted,
        build=partial(
            emails.confirmations_gathered_email_build, confirmations=wanted, more=len(later)
        ),
        attempts=max(row.attempts for row in wanted),
        what=f"Gathered owner email {wanted[0].pk} ({len(wanted)} links)",
        now=now,
    )


def _gathered_split(
    *, mine: QuerySet, now: datetime
) -> tuple[list[ConfirmationDelivery], list[ConfirmationDelivery]]:
    """The claimed links that go in this list, and those put back for the next day's.

    Revoked and retired ones are left out, as a single link would be skipped. Anyone can
    type anyone's address: the list stays an email one reads, not thousands of links. The
    oldest go first (their links expire first); the others wait, no attempt spent, and the
    list says they follow."""
    wanted = []
    rows = mine.select_related("subscription", "subscription__service")
    for row in rows.order_by("created_at", "pk"):
        skip = _link_skip_reason(row)
        if skip:
            mine.filter(pk=row.pk).update(status=Status.SKIPPED, last_error=skip)
        else:
            wanted.append(row)
    cap = settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS
    wanted, later = wanted[:cap], wanted[cap:]
    if later:
        mine.filter(pk__in=[row.pk for row in later]).update(
            status=Status.PENDING, claimed_at=None, next_attempt_at=now + timedelta(days=1)
        )
    return wanted, later


def _gathered_claim(
    *, confirmation_id: int, address_key: str, now: datetime
) -> list[int] | SendResult:
    """Take every gathered link waiting for the mailbox's address as typed, due or not yet
    (a burst goes together), if ``confirmation_id`` is due and no list went in the last day;
    otherwise the result to return (held until the day is over, or not claimed)."""
    stale = now - timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS)
    day = timedelta(days=1)
    with transaction.atomic():
        # Locked: two workers set off by two links of one mailbox would each send a list.
        waiting = {
            row.pk: row
            for row in ConfirmationDelivery.objects.select_for_update()
            .filter(
                address_key=address_key,
                gathered=True,
                status__in=[Status.PENDING, Status.SENDING],
            )
            .only("status", "next_attempt_at", "claimed_at", "subscription_id")
        }
        trigger = waiting.get(confirmation_id)
        # A gathered link always has next_attempt_at, and claimed_at while SENDING (as the
        # database reads them, a NULL is neither due nor stale).
        due = trigger is not None and (
            (
                trigger.status == Status.PENDING
                and trigger.next_attempt_at is not None
                and trigger.next_attempt_at <= now
            )
            or (
                trigger.status == Status.SENDING
                and trigger.claimed_at is not None
                and trigger.claimed_at < stale
            )
        )
        busy = any(
            r.status == Status.SENDING and r.claimed_at is not None and r.claimed_at >= stale
            for r in waiting.values()
        )
        if trigger is None or not due or busy:
            # A busy one: another worker is sending the list; once it is through, this link
            # waits for the next day's.
            return SendResult(Outcome.NOT_CLAIMED)
        last = _last_list_sent(address_key=address_key, now=now)
        if last is not None:
            # The day's list went: all wait for the next one; no attempt is spent.
            until = last + day
            ConfirmationDelivery.objects.filter(pk__in=list(waiting)).filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=until)
            ).update(status=Status.PENDING, next_attempt_at=until)
            delay = int((until - now).total_seconds()) + 1
            return SendResult(Outcome.HELD, delay=delay, reason="A list went in the last day.")
        # To the address as typed, like every email: a variant (ann+x@ for ann@) is the same
        # mailbox for the cap but need not be for its provider, so its links wait for its own
        # list rather than reach another address.
        email = Subscription.objects.values_list("email", flat=True).get(pk=trigger.subscription_id)
        claimed = list(
            ConfirmationDelivery.objects.filter(
                pk__in=list(waiting), subscription__email=email
            ).values_list("pk", flat=True)
        )
        ConfirmationDelivery.objects.filter(pk__in=claimed).update(
            status=Status.SENDING, claimed_at=now
        )
    return claimed


def subscription_confirm(
    *, confirmation: ConfirmationDelivery, now: datetime | None = None
) -> Subscription | None:
    """The link was followed: the address is real and wants these alerts.

    Each link works once (a replayed link must not undo a later unsubscribe or change the
    countries back); None when it was used or revoked already. If the service has an
    outage going on that concerns the subscription, its "problems detected" message is
    queued now (once: a delivery row), rather than leaving them waiting for the next event.
    """
    now = now or timezone.now()
    if not confirmation.subscription.service.is_active:
        return None  # retired: nothing to confirm (the view says so first)
    with transaction.atomic():
        service_alerts_lock(service_id=confirmation.subscription.service_id)
        # The subscription's row first, then its links, as unsubscribing and every other
        # change of a subscription take them: the link's first, two links followed at once,
        # or a link beside an unsubscribe, each waited for the other (a deadlock, a 500).
        subscription = Subscription.objects.select_for_update().get(pk=confirmation.subscription_id)
        used = ConfirmationDelivery.objects.filter(pk=confirmation.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not used:
            return None
        active = subscription.confirmed_at and not (
            subscription.unsubscribed_at or subscription.disabled_at
        )
        if not active:
            subscription.confirmed_at = now
        subscription.countries = confirmation.countries
        subscription.timezone = confirmation.timezone or subscription.timezone
        subscription.notify_acknowledged = confirmation.notify_acknowledged
        subscription.unsubscribed_at = None
        subscription.disabled_at = None
        subscription.disabled_reason = ""
        subscription.failures = 0  # a disabled channel confirmed again starts afresh
        subscription.save(
            update_fields=[
                "confirmed_at",
                "countries",
                "timezone",
                "notify_acknowledged",
                "unsubscribed_at",
                "disabled_at",
                "disabled_reason",
                "failures",
            ]
        )
        # Older links carry older choices: this answer uses them up too.
        _confirmations_revoke(subscription=subscription, now=now)
        ongoing_outage_tell(subscription=subscription, now=now)
    return subscription


def service_alerts_lock(*, service_id: int) -> None:
    """Lock the service's row until the transaction ends. Taken before a subscription turns
    on (which then looks for an outage going on: ongoing_outage_tell) and by detection's news
    of an outage (which then looks for the subscriptions on: alerts_notify), so that the
    later of the two sees what the earlier wrote. Without it each took the other's change,
    not committed yet, for absent: a link followed while the tick opened an outage was never
    told of it. Before any subscription's row, so that the two cannot wait for each other.
    FOR NO KEY UPDATE: reports (their foreign key takes the row's KEY SHARE lock) go on."""
    services_alerts_lock(service_ids=[service_id])


def services_alerts_lock(*, service_ids: Iterable[int]) -> None:
    """service_alerts_lock for several services at once, in pk order: a transaction that
    tells of outages of several services (the tick) takes them all before the first, as
    every other transaction that locks several service rows does (reports.catalog); in any
    other order two of them could each hold a row the other waits for (a deadlock)."""
    ids = sorted(set(service_ids))
    if ids:
        locked = Service.objects.select_for_update(no_key=True).filter(pk__in=ids)
        list(locked.order_by("pk").values_list("pk", flat=True))


def ongoing_outage_tell(*, subscription: Subscription, now: datetime) -> None:
    """Queue "problems detected" about the outage going on now, for someone who just
    confirmed (or whose channel was just re-enabled); nothing if they were told about it
    already (or are being told). The caller holds service_alerts_lock."""
    outage = selectors.outage_ongoing_for(subscription=subscription)
    if outage is None or selectors.subscription_told_about(
        outage=outage, subscription=subscription
    ):
        return
    message = {
        "outage": outage,
        "subscription": subscription,
        "kind": AlertDelivery.Kind.OPENED,
        "episode": selectors.outage_episode(outage=outage),
    }
    # The same message skipped (an unsubscribe before it went) or failed earlier is this
    # one: sent afresh, where an insert would meet its row and queue nothing.
    again = AlertDelivery.objects.filter(
        **message, status__in=(Status.SKIPPED, Status.FAILED)
    ).update(
        status=Status.PENDING,
        attempts=0,
        last_error="",
        claimed_at=None,
        next_attempt_at=now,
    )
    if not again:
        AlertDelivery.objects.bulk_create(
            [AlertDelivery(**message, next_attempt_at=now)], ignore_conflicts=True
        )
    queue_after_commit(alerts_dispatch_task, outage_id=outage.pk, kind=AlertDelivery.Kind.OPENED)


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


def subscription_disable(
    *, subscription: Subscription, reason: str, now: datetime | None = None
) -> bool:
    """Stop sending to a channel that fails for good (a new confirmation re-enables it).

    The owner of a webhook, Slack or Discord channel hears of it by email; an email address
    that bounced cannot be told. Returns whether this call disabled it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        disabled = Subscription.objects.filter(pk=subscription.pk, disabled_at__isnull=True).update(
            disabled_at=now, disabled_reason=reason[:300]
        )
        if disabled and subscription.channel != Subscription.Channel.EMAIL:
            notice = ConfirmationDelivery.objects.create(
                subscription=subscription,
                purpose=ConfirmationDelivery.Purpose.DISABLED,
                countries=subscription.countries,
                address_key=email_rate_key(subscription.email),
                created_at=now,
                next_attempt_at=now,
                used_at=now,  # carries no link to use
            )
            queue_after_commit(confirmation_delivery_send_task, confirmation_id=notice.pk)
    if disabled:
        logger.warning("Subscription %s disabled: %s", subscription.pk, reason)
    return bool(disabled)


def subscription_failed(
    *, subscription: Subscription, error: TransportError, gave_up: bool
) -> None:
    """A message to this channel failed for good (or ran out of retries): one more in a row;
    at ALERT_CHANNEL_MAX_FAILURES the channel is disabled. A mailbox that does not exist is
    disabled at once. An email that ran out of retries counts nothing: that is our relay
    down or misconfigured, not the subscriber's address (counted, a relay outage would
    disable every subscriber)."""
    if error.gone:
        subscription_disable(subscription=subscription, reason=str(error))
        return
    if subscription.channel == Subscription.Channel.EMAIL and not error.permanent:
        return
    Subscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
    failures = Subscription.objects.values_list("failures", flat=True).get(pk=subscription.pk)
    if failures >= settings.ALERT_CHANNEL_MAX_FAILURES:
        how = "gave up after retries" if gave_up else "refused"
        subscription_disable(
            subscription=subscription,
            reason=f"{failures} messages in a row failed (last {how}): {error}",
        )


def subscription_succeeded(*, subscription: Subscription) -> None:
    """A message got through: the failures in a row start again from zero."""
    if subscription.failures:
        Subscription.objects.filter(pk=subscription.pk).update(failures=0)


@dataclass(frozen=True)
class Purged:
    subscriptions: int
    confirmations: int


def _gone_before(left: datetime, cutoff: datetime, field: str) -> Q:
    """Subscriptions that left (`field`: unsubscribed_at, disabled_at) before `left`. Not one
    who asked again since (the same row, still gone until the new link is followed) while
    that link lives (regression tester); only a link sent after leaving: the sign-up's own
    kept every address that left within a week, whatever the keep days said (soak tester,
    forty-sixth session)."""
    return Q(**{f"{field}__lt": left}) & (
        Q(confirmation_sent_at__isnull=True)
        | Q(confirmation_sent_at__lte=F(field))
        | Q(confirmation_sent_at__lt=cutoff)
    )


def subscriptions_purge(*, now: datetime | None = None) -> Purged:
    """Forget sign-ups never confirmed within SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS, and
    subscriptions unsubscribed or disabled SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS ago.

    The links of the first have expired by then; keeping the addresses would only keep data
    about people who never agreed to anything. Someone who left is forgotten too, with what
    was sent to them (privacy tester, forty-fifth session: kept for ever); signing up again
    starts afresh. Old confirmation rows of confirmed subscriptions go too, once past the day
    the per-address cap looks back.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS)
    left = now - timedelta(days=settings.SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS)
    forgotten = Subscription.objects.filter(
        Q(confirmed_at__isnull=True, confirmation_sent_at__lt=cutoff)
        | Q(confirmed_at__isnull=True, confirmation_sent_at__isnull=True, created_at__lt=cutoff)
        | _gone_before(left, cutoff, "unsubscribed_at")
        # A channel disabled for good (refused or failing, nobody told) gets no alerts
        # either: kept for ever, with its address or URL (soak tester, 46th session).
        | _gone_before(left, cutoff, "disabled_at")
    )
    subscriptions = forgotten.delete()[1].get(Subscription._meta.label, 0)
    confirmations, _ = ConfirmationDelivery.objects.filter(
        created_at__lt=cutoff - timedelta(days=1)
    ).delete()
    if subscriptions or confirmations:
        logger.info(
            "Purged %s unconfirmed or unsubscribed subscriptions, %s old confirmations",
            subscriptions,
            confirmations,
        )
    return Purged(subscriptions=subscriptions, confirmations=confirmations)


def subscription_acknowledged_set(*, subscription: Subscription, notify: bool) -> None:
    """Whether the channel is also told when the provider acknowledges an outage (from its
    management page, whose link is the owner's credential)."""
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(notify_acknowledged=notify)
        # A link not yet followed carries the choice of its request, older than this one:
        # confirming must not undo what the owner just saved.
        subscription.confirmations.filter(used_at__isnull=True).update(notify_acknowledged=notify)
