"""Reads for subscriptions and alert deliveries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import Coalesce

from alerts.channels.base import ADDRESS_REFUSED
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription, UpstreamDelivery
from detection.episodes import Episode
from detection.episodes import outage_episode as episode_get
from detection.models import JobCursor, Outage, OutageEvent

Kind = AlertDelivery.Kind
Status = AlertDelivery.Status


def subscription_countries_match(*, subscribed: Iterable[str], affected: Iterable[str]) -> bool:
    """Empty on either side means everything: all countries, or an outage everywhere."""
    subscribed, affected = set(subscribed), set(affected)
    return not subscribed or not affected or bool(subscribed & affected)


def subscriptions_active(*, service_id: int) -> QuerySet[Subscription]:
    """Confirmed subscriptions of a service that may receive alerts."""
    return Subscription.objects.filter(
        service_id=service_id,
        confirmed_at__isnull=False,
        unsubscribed_at__isnull=True,
        disabled_at__isnull=True,
    )


def subscription_is_active(subscription: Subscription) -> bool:
    """Whether alerts go to it now: confirmed, not unsubscribed, not disabled."""
    return bool(
        subscription.confirmed_at
        and not subscription.unsubscribed_at
        and not subscription.disabled_at
    )


def subscription_ids_for_outage(*, outage: Outage, episode: Episode | None = None) -> list[int]:
    """Active subscriptions concerned by the outage's current episode: a relapse concerns
    the followers of its own countries, not of every country of the outage (F25)."""
    affected = (episode or outage_episode_current(outage=outage)).countries
    rows = subscriptions_active(service_id=outage.service_id).values_list("pk", "countries")
    return _ids_concerned(rows, affected)


def _ids_concerned(rows: Iterable[tuple[int, list[str] | None]], affected: list[str]) -> list[int]:
    """The ids of (id, countries) rows whose countries `affected` concerns. Countries are a
    JSON list; matching in Python keeps this portable across SQLite and PostgreSQL. Two
    columns, not a model per follower: this runs inside the tick, for a giant service's
    tens of thousands (bench/alerts/README.md)."""
    return [
        pk
        for pk, countries in rows
        if subscription_countries_match(subscribed=countries or [], affected=affected)
    ]


def outage_episode_current(*, outage: Outage) -> Episode:
    """The outage's current episode (0: its first run) and where it is."""
    return episode_get(outage=outage)


def outage_reopen_until(*, outage: Outage, end: datetime | None) -> datetime | None:
    """Until when problems back reopen this resolved outage: OUTAGE_REOPEN_MINUTES from the
    minute it was judged over (its last RESOLVED entry, when the "resolved" message went),
    as the detector counts; from its end where no entry says when."""
    judged = (
        outage.events.filter(kind=OutageEvent.Kind.RESOLVED).aggregate(at=Max("at"))["at"] or end
    )
    return judged + timedelta(minutes=settings.OUTAGE_REOPEN_MINUTES) if judged else None


def subscription_ids_matching(*, ids: Iterable[int], episode: Episode) -> list[int]:
    """Those of ``ids`` whose countries the episode concerns."""
    wanted = set(ids)
    if not wanted:
        return []
    rows = Subscription.objects.filter(pk__in=wanted).values_list("pk", "countries")
    return sorted(_ids_concerned(rows, episode.countries))


def outage_ongoing_for(*, subscription: Subscription) -> Outage | None:
    """The service's active outage if it concerns the subscription's countries."""
    outage = (
        Outage.objects.select_related("service")
        .filter(service_id=subscription.service_id, status=Outage.Status.ACTIVE)
        .first()
    )
    if outage is None:
        return None
    affected = outage_episode_current(outage=outage).countries
    if not subscription_countries_match(subscribed=subscription.countries or [], affected=affected):
        return None
    return outage


def subscription_told_about(*, outage: Outage, subscription: Subscription) -> bool:
    """Anything sent, being sent or due to the subscription about this outage."""
    return AlertDelivery.objects.filter(
        _TOLD_OR_TELLING, outage=outage, subscription=subscription
    ).exists()


def outage_episode(*, outage: Outage) -> int:
    """How many times the outage was reopened: 0 during its first run."""
    return outage_episode_current(outage=outage).number


# A row that may have reached its receiver counts as told, whatever became of it: its "resolved"
# lost to a timeout after the relay had it, then skipped when the outage came back, left the
# subscriber with "resolved" as the last word and no "problems again" (chaos tester, F2).
_MAYBE_TOLD = Q(maybe_sent=True)
_TOLD_OR_TELLING = Q(status__in=[Status.PENDING, Status.SENDING, Status.SENT]) | _MAYBE_TOLD


def subscription_ids_told_active(*, outage: Outage, acknowledged: bool = False) -> list[int]:
    """Subscriptions whose last word (sent, being sent or due) about the outage is that it
    is on: only they hear that it ended. A follower told it had ended and not told of a
    relapse (not in its countries) hears nothing at the relapse's end either; one whose
    "resolved" was dropped when it came back still thinks it is on, and hears the end.
    ``acknowledged``: only those who asked to hear when the provider acknowledges it."""
    rows = AlertDelivery.objects.filter(
        _TOLD_OR_TELLING, outage=outage, kind__in=[Kind.OPENED, Kind.REOPENED, Kind.RESOLVED]
    )
    if acknowledged:
        rows = rows.filter(subscription__notify_acknowledged=True)
    last: dict[int, str] = {}
    # Rows are created in the order of the outage's events: the newest id is the last word.
    for subscription_id, kind in rows.order_by("pk").values_list("subscription_id", "kind"):
        last[subscription_id] = kind
    return sorted(pk for pk, kind in last.items() if kind != Kind.RESOLVED)


def subscription_ids_told_resolved(*, outage: Outage) -> list[int]:
    """Subscriptions told (or being told right now, or perhaps told) the outage was over:
    they hear it is back."""
    told = Q(status__in=[Status.SENDING, Status.SENT]) | _MAYBE_TOLD
    return list(
        AlertDelivery.objects.filter(told, outage=outage, kind=Kind.RESOLVED)
        .values_list("subscription_id", flat=True)
        .distinct()
    )


def subscription_ids_untold(*, outage: Outage, episode: Episode | None = None) -> list[int]:
    """Subscriptions the current episode concerns with nothing sent, being sent or due about
    this outage."""
    told = set(
        AlertDelivery.objects.filter(_TOLD_OR_TELLING, outage=outage).values_list(
            "subscription_id", flat=True
        )
    )
    concerned = subscription_ids_for_outage(outage=outage, episode=episode)
    return [pk for pk in concerned if pk not in told]


def delivery_earlier_in_flight(*, delivery: AlertDelivery) -> bool:
    """An earlier message of the same outage to the same subscriber is not settled yet.

    Rows are created in the order of the outage's events, so their ids order them.
    """
    return AlertDelivery.objects.filter(
        outage_id=delivery.outage_id,
        subscription_id=delivery.subscription_id,
        pk__lt=delivery.pk,
        status__in=[Status.PENDING, Status.SENDING],
    ).exists()


def delivery_last_told_kind(*, delivery: AlertDelivery) -> str | None:
    """The kind of the last message about this outage that reached this subscriber, or may
    have; the provider's acknowledgement is an aside that says nothing about whether it is
    on. Messages of one outage go to a subscriber in order (delivery_earlier_in_flight), so
    the newest row is the last word."""
    return (
        AlertDelivery.objects.filter(
            Q(status=Status.SENT) | _MAYBE_TOLD,
            outage_id=delivery.outage_id,
            subscription_id=delivery.subscription_id,
        )
        .exclude(pk=delivery.pk)
        .exclude(kind=Kind.ACKNOWLEDGED)
        .order_by("-pk")
        .values_list("kind", flat=True)
        .first()
    )


def delivery_opened_unreached(*, delivery: AlertDelivery) -> bool:
    """Whether this subscriber's "problems detected" about the outage was tried and never
    reached them (the channel failed until the outage was over, or for every attempt): they
    were due to hear of it, so its "resolved" tells them (mail tester F2, forty-fifth
    session: a receiver down for a short outage never heard of it at all). A detected alert
    never tried (held for the cool-down, then the outage was over) is no such case."""
    return AlertDelivery.objects.filter(
        outage_id=delivery.outage_id,
        subscription_id=delivery.subscription_id,
        kind=Kind.OPENED,
        attempts__gt=0,
        status__in=[Status.SKIPPED, Status.FAILED],
        maybe_sent=False,
    ).exists()


def delivery_thread_root(*, delivery: AlertDelivery) -> str | None:
    """The Message-ID stored on this subscriber's "problems detected" email about the outage
    (every such row of theirs carries the same: alerts.emails.alert_message_id), or None when
    none was tried since they are stored."""
    return (
        AlertDelivery.objects.filter(
            outage_id=delivery.outage_id,
            subscription_id=delivery.subscription_id,
            kind=Kind.OPENED,
            message_id__isnull=False,
        )
        .order_by("episode")
        .values_list("message_id", flat=True)
        .first()
    )


def delivery_get(*, delivery_id: int) -> AlertDelivery:
    return AlertDelivery.objects.select_related(
        "outage", "outage__service", "subscription", "subscription__service"
    ).get(pk=delivery_id)


def delivery_pending_ids(*, outage_id: int, kind: str, now: datetime) -> list[int]:
    return list(
        AlertDelivery.objects.filter(
            outage_id=outage_id, kind=kind, status=Status.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class EarlierAlert:
    """A "detected" about another outage of the service that reached the subscriber, or may
    have, and when."""

    delivery: AlertDelivery
    told_at: datetime


def delivery_last_opened_elsewhere(*, delivery: AlertDelivery) -> EarlierAlert | None:
    """The newest "detected" this subscriber got, or may have got, about another outage of
    the service: the cool-down counts from it.

    One that may have reached them (maybe_sent: its worker died while sending it, or the
    relay timed out after taking it) counts whatever came of its row: skipped or failed
    since, or waiting for a retry. Only sent ones counted, so the next outage's alert went
    out at once, minutes after one they had perhaps read. Such a row's time is its last
    claim, at or after the moment it may have gone (a taken-over claim overwrites the
    dead worker's): the cool-down may hold the next alert a little longer, never less."""
    told_at = Coalesce("sent_at", "claimed_at")
    row = (
        _opened_elsewhere(delivery)
        .filter(Q(status=Status.SENT) | _MAYBE_TOLD)
        .select_related("outage")
        .order_by(told_at.desc(nulls_last=True))
        .first()
    )
    if row is None:
        return None
    return EarlierAlert(row, row.sent_at or row.claimed_at or row.created_at)


def delivery_opened_elsewhere_in_flight(*, delivery: AlertDelivery) -> bool:
    """An "opened" message to this subscriber about another outage of the service is being
    sent now (claimed by a worker that decided to send it, not settled yet)."""
    return _opened_elsewhere(delivery).filter(status=Status.SENDING).exists()


def _opened_elsewhere(delivery: AlertDelivery) -> QuerySet[AlertDelivery]:
    return AlertDelivery.objects.filter(
        subscription_id=delivery.subscription_id,
        kind=Kind.OPENED,
        outage__service_id=delivery.outage.service_id,
    ).exclude(outage_id=delivery.outage_id)


def retry_delay_seconds(*, attempts: int) -> int:
    """Exponential backoff after ``attempts`` failed tries: base, 2*base, 4*base ... capped."""
    base = settings.ALERT_RETRY_BACKOFF_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), settings.ALERT_RETRY_BACKOFF_MAX_SECONDS))


def _due(
    model: type[AlertDelivery | ConfirmationDelivery | UpstreamDelivery],
    *,
    now: datetime,
    limit: int,
) -> list[int]:
    """Pending rows whose time has come, and claims so old that their worker must have died.

    The pending half is a range scan of the (status, next_attempt_at) index; few rows are
    ever 'sending' at once. A null next_attempt_at waits for an event, not a time.
    """
    stale = now - timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS)
    return list(
        model.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, claimed_at__lt=stale)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_overdue(*, now: datetime, minutes: int) -> tuple[int, datetime | None]:
    """(how many, since when) messages of every outbox were due more than `minutes` ago and
    are still not taken: pending past their time, or claimed by a worker long dead. The
    sweeper queues what is due every minute and a worker takes it within seconds, so these
    say that no worker sends (chaos tester, forty-third session: a stopped worker left
    every email unsent while the health check said "ok")."""
    late = now - timedelta(minutes=minutes)
    stale = late - timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS)
    count, oldest = 0, None
    for model in (AlertDelivery, ConfirmationDelivery, UpstreamDelivery):
        rows = model.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=late)
            | Q(status=Status.SENDING, claimed_at__lt=stale)
        )
        found = rows.aggregate(n=Count("pk"), due=Min("next_attempt_at"))
        count += found["n"]
        if found["due"] is not None and (oldest is None or found["due"] < oldest):
            oldest = found["due"]
    return count, oldest


# How long emails may wait on failed attempts, with none sent meanwhile, before the mail relay
# counts as failing: past a greylisting relay's first refusal (5 minutes is the common delay;
# the retries' backoff tries again at about 7.5), short of an outage's length.
MAIL_STUCK_MINUTES = 15


def attempts_spanning(minutes: int) -> int:
    """How many failed attempts, the retries' backoff between them, span `minutes` from the
    first failure to the last: a row that waited before its first attempt (held for the
    cool-down, a list for the next day) is old without having failed that long."""
    attempts, elapsed = 1, 0
    while elapsed < minutes * 60:
        elapsed += retry_delay_seconds(attempts=attempts)
        attempts += 1
    return attempts


def mail_stuck(*, now: datetime) -> tuple[int, datetime | None]:
    """(how many, since when) emails have failed every attempt for MAIL_STUCK_MINUTES while
    no email was sent: the relay refuses or cannot be reached. Such rows are retried every
    few minutes, so they are never overdue (outbox_overdue), and the health check said
    "messages are sent" while none left (mail tester F3, forty-fifth session). Webhooks and
    chat are left out (a failing one is its owner's endpoint, not the site's), and so is a
    recipient the relay refused (that address's trouble)."""
    since = now - timedelta(minutes=MAIL_STUCK_MINUTES)
    failed = attempts_spanning(MAIL_STUCK_MINUTES)
    email = Subscription.Channel.EMAIL
    outboxes = (
        (AlertDelivery, Q(subscription__channel=email)),
        (ConfirmationDelivery, Q()),
        (UpstreamDelivery, Q(subscription__channel=email)),
    )
    sent = any(
        model.objects.filter(mine, status=Status.SENT, sent_at__gte=since).exists()
        for model, mine in outboxes
    )
    if sent:
        return 0, None
    count, oldest = 0, None
    for model, mine in outboxes:
        waiting = (
            model.objects.filter(mine, status=Status.PENDING, attempts__gte=failed)
            .exclude(last_error__startswith=ADDRESS_REFUSED)
            .aggregate(n=Count("pk"), first=Min("created_at"))
        )
        count += waiting["n"]
        if waiting["first"] is not None and (oldest is None or waiting["first"] < oldest):
            oldest = waiting["first"]
    return count, oldest


def outbox_swept_at() -> datetime | None:
    """When the worker last swept the outboxes (every minute while it runs); None before its
    first sweep."""
    return (
        JobCursor.objects.filter(name=JobCursor.ALERTS_SWEEP)
        .values_list("position", flat=True)
        .first()
    )


def deliveries_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Alert emails to send now: retries, ends of holds, lost messages, stale claims."""
    return _due(AlertDelivery, now=now, limit=limit)


def confirmations_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Confirmation emails to send now, on the same terms as alert emails."""
    return _due(ConfirmationDelivery, now=now, limit=limit)


def deliveries_recent(*, subscription: Subscription, limit: int = 20) -> list[AlertDelivery]:
    """The subscription's newest messages with their status, for its management page."""
    return list(
        AlertDelivery.objects.filter(subscription=subscription)
        .select_related("outage")
        .order_by("-created_at", "-pk")[:limit]
    )


def confirmation_open(*, subscription: Subscription, now: datetime) -> ConfirmationDelivery | None:
    """The newest sign-up request of the subscription that can still be confirmed."""
    max_age = timedelta(days=settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS)
    return (
        ConfirmationDelivery.objects.filter(
            subscription=subscription,
            purpose=ConfirmationDelivery.Purpose.CONFIRM,
            used_at__isnull=True,
            created_at__gte=now - max_age,
        )
        .order_by("-created_at")
        .first()
    )


# --- Upstream outages (alerts.services.upstream) ----------------------------------------------


def subscriptions_for_provider(*, service_id: int | None) -> list[int]:
    """Followers of the provider's catalog service, in every country: an upstream outage
    concerns the provider everywhere its dependents break (None: not in the catalog)."""
    if service_id is None:
        return []
    return list(subscriptions_active(service_id=service_id).values_list("pk", flat=True))


def upstream_delivery_get(*, delivery_id: int) -> UpstreamDelivery:
    return UpstreamDelivery.objects.select_related(
        "upstream", "upstream__provider", "subscription", "subscription__service"
    ).get(pk=delivery_id)


def upstream_deliveries_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Upstream alerts to send now, on the same terms as outage alerts."""
    return _due(UpstreamDelivery, now=now, limit=limit)
