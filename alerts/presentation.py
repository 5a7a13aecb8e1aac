"""Words shown to people about an outage event, for every channel (emails, Slack, Discord,
the webhook's human-readable fields): built here once, from the rows, on the sentences of
detection.presentation (the same as the pages and feeds), with times in the subscriber's
zone and its UTC offset."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from alerts.channels.base import Notice
from alerts.models import AlertDelivery, Subscription, UpstreamDelivery
from detection import presentation as words
from detection.episodes import Episode, episode_tally, outage_episode
from detection.models import Outage
from detection.official.selectors import OutageOfficial, outage_official
from detection.presentation import absolute
from detection.selectors import outage_cold
from reports.models import ProblemType

Kind = AlertDelivery.Kind


def url_shown(url: str) -> str:
    """A webhook URL as shown to people: its path often holds the receiver's own secret
    (Slack and Discord put their token there), so only the origin and a hint of the rest."""
    parts = urlsplit(url)
    if not parts.netloc:
        return ""
    tail = "/…" if parts.path.strip("/") else "/"
    return f"{parts.scheme}://{parts.netloc}{tail}"


# A channel inside a sentence: "your webhook", but Slack and Discord keep their capitals.
_CHANNEL_NOUNS = {
    Subscription.Channel.EMAIL: "email address",
    Subscription.Channel.WEBHOOK: "webhook",
    Subscription.Channel.SLACK: "Slack channel",
    Subscription.Channel.DISCORD: "Discord channel",
}


def posted_channels() -> str:
    """The channels that post to a URL, as a sentence names them: "Slack, Discord or a
    webhook" (from Subscription.Channel, so a new one is named everywhere at once)."""
    chat = [
        str(label)
        for value, label in Subscription.Channel.choices
        if value not in (Subscription.Channel.EMAIL, Subscription.Channel.WEBHOOK)
    ]
    return f"{', '.join(chat)} or a webhook"


def posted_channel_values() -> str:
    """Their API values: "webhook, slack, discord"."""
    return ", ".join(v for v in Subscription.Channel.values if v != Subscription.Channel.EMAIL)


def channel_noun(channel: str) -> str:
    """What "your ..." says of a subscription's channel in prose (emails, pages)."""
    return _CHANNEL_NOUNS[Subscription.Channel(channel)]


def subscription_changes(
    subscription: Subscription, *, countries: list[str], timezone_name: str, notify: bool
) -> list[str]:
    """What confirming a request would change in a subscription that is on, in words
    ("countries: all countries → Germany, Austria"); [] when nothing. For the email to an
    address that already gets the alerts, and the page its link opens."""
    changes = []
    if sorted(countries) != sorted(subscription.countries or []):
        before = ", ".join(country_names(subscription.countries or [])) or "all countries"
        after = ", ".join(country_names(countries)) or "all countries"
        changes.append(f"countries: {before} → {after}")
    if timezone_name and timezone_name != subscription.timezone:
        changes.append(f"times shown in {timezone_name} instead of {subscription.timezone}")
    if notify != subscription.notify_acknowledged:
        changes.append(
            "also a message when the official status page acknowledges an outage"
            if notify
            else "no more messages when the official status page acknowledges an outage"
        )
    return changes


_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def failure_plain(exc: BaseException, *, url: str) -> str:
    """Why a message did not get through, for its owner: "the name x.example does not exist
    (DNS lookup failed)", not "[Errno -2] Name or service not known". The error and its
    causes are read for what the words depend on; anything else keeps its own text, minus
    the errno."""
    host = urlsplit(url).hostname or url
    for error in _causes(exc):
        if isinstance(error, socket.gaierror):
            if error.errno == socket.EAI_AGAIN:
                return f"the name {host} could not be looked up right now (DNS did not answer)"
            if error.errno in _NAME_MISSING:
                return f"the name {host} does not exist (DNS lookup failed)"
            return f"the name {host} could not be looked up (DNS lookup failed)"
        if isinstance(error, ConnectionRefusedError):
            return f"{host} refused the connection (nothing answers on that port)"
    return _ERRNO.sub("", str(exc))


# "No such name", and glibc's "no address for this name" (a name with no A/AAAA record).
_NAME_MISSING = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def country_unknown(text: str) -> str:
    """The subscribe form's error for a country it does not know (its help text invites
    names or codes: no "ISO 3166-1 alpha-2" here)."""
    return (
        f"We don't know a country called “{text[:60]}”: use its name, like Germany, "
        "or its two-letter code, like DE."
    )


def owner_time(at: datetime | None, subscription: Subscription) -> str:
    """A time on the channel's page, in the zone its owner chose for the alerts, with the
    date (a page kept open, or read days later)."""
    return words.time_in_zone(at, zone_of(subscription), date=True) if at else ""


def manage_times(subscription: Subscription) -> dict[str, str]:
    return {
        "confirmed": owner_time(subscription.confirmed_at, subscription),
        "disabled": owner_time(subscription.disabled_at, subscription),
    }


def delivery_times(delivery: AlertDelivery, subscription: Subscription) -> dict[str, str]:
    return {
        "created": owner_time(delivery.created_at, subscription),
        "sent": owner_time(delivery.sent_at, subscription),
    }


def confirmations_waiting_refusal(*, limit: int, retry_at: datetime, now: datetime) -> str:
    """Why a sign-up was refused (the API's 429, the form's error): too many wait already for
    the address's confirmation lists. Says nothing about whether it is subscribed."""
    wait = words.duration_text(now, retry_at)
    return (
        f"{limit} sign-ups for this address are already waiting for their confirmation email, "
        f"the most we keep: this one was not taken, and nothing was changed. "
        f"Try again in about {wait}."
    )


def country_names(codes: list[str]) -> list[str]:
    return words.country_names(codes)


def problems(outage: Outage) -> list[dict[str, Any]]:
    """The outage's top problems with their names: [{"slug", "name", "count"}]."""
    return problems_named(outage.top_problems or [])


def problems_named(top: list[Any]) -> list[dict[str, Any]]:
    """[{"problem", "count"}] (an outage's or an episode's top problems) with their names."""
    rows = [p for p in top[:5] if isinstance(p, dict)]
    slugs = [p.get("problem", "") for p in rows]
    names: dict[str | None, str] = dict(
        ProblemType.objects.filter(slug__in=slugs).values_list("slug", "name")
    )
    return [
        {
            "slug": p.get("problem", ""),
            "name": names.get(p.get("problem"), p.get("problem")),
            "count": p.get("count", 0),
        }
        for p in rows
    ]


def duration(start: datetime, end: datetime) -> str:
    return words.duration_text(start, end)


def lasted(outage: Outage, *, since: datetime, end: datetime) -> str:
    """How long the problems a message quotes lasted: the outage's duration as its page, feed
    and API give it ("10 min (it stopped for 17 min in between)", not its span: explain tester
    F4), or a relapse's own from its onset when the message quotes the relapse."""
    if since == outage.started_at:
        return words.outage_duration(outage, now=end)
    return duration(since, end)


def zone_of(subscription: Subscription) -> tzinfo:
    """The zone the subscriber reads times in (UTC when unset or unknown)."""
    return words.zone_get(getattr(subscription, "timezone", "") or "UTC")


def title(
    *,
    kind: str,
    outage: Outage,
    codes: list[str],
    zone: tzinfo = UTC,
    now: datetime | None = None,
    since: datetime | None = None,
) -> str:
    """One line saying what happened: the email subject, the chat message's headline.
    ``since``: when the problems this message is about began (a relapse's own onset);
    ``codes``: where ("in the United States", "in Germany, France, Spain and 2 more")."""
    service = outage.service.name
    since_text = words.time_in_zone(since or outage.started_at, zone, now=now)
    where = f" in {_places(codes)}" if codes else ""
    if kind == Kind.RESOLVED:
        period = words.outage_period(outage, zone=zone, now=now)
        return f"Resolved: {service} is working again after problems {period}"
    if kind == Kind.REOPENED:
        return f"{service}: problems again{where} since {since_text}"
    if kind == Kind.ACKNOWLEDGED:
        return f"{service}: the official status page acknowledged the problems since {since_text}"
    return f"{service}: problems detected{where} since {since_text}"


# Countries a headline names before "and N more".
TITLE_COUNTRIES = 3


def _places(codes: list[str]) -> str:
    named = [words.country_in_sentence(code) for code in codes[:TITLE_COUNTRIES]]
    if len(codes) > TITLE_COUNTRIES:
        named.append(f"{len(codes) - TITLE_COUNTRIES} more")
    return words.join_words(named)


def peak_sentence(outage: Outage, *, cold: bool = False) -> str:
    """ "At the peak: about 42 reports a minute, where about 3 are normal."; on a cold start
    no normal is claimed, as on the outage's page (explain tester F2)."""
    normal = None if cold else outage.peak_expected or None
    rate = words.rate_phrase(outage.peak_observed, normal, capital=False)
    if cold:
        return f"At the peak: {rate}. {words.cold_sentence(outage)}"
    return f"At the peak: {rate}."


@dataclass(frozen=True)
class Figures:
    """What a message about an outage quotes: its own, or a relapse's (the outage reopened,
    perhaps in other countries: its followers there never heard of the first run)."""

    since: datetime
    detected_at: datetime | None
    rate: str  # "About 42 reports a minute, where about 3 are normal" (the peak; "" for none)
    peak: str  # "At the peak: ..."
    totals: str  # "150 reports so far, from 57 different networks."; "" for none
    problems: list[dict[str, Any]]  # [{"slug", "name", "count"}]
    # Whose these figures are beside the countries the message names (figures_scope): the
    # service's, from every country; "" when it names none.
    scope: str = ""


def figures(*, delivery: AlertDelivery, now: datetime) -> Figures:
    return _figures(outage=delivery.outage, relapse=_relapse(delivery), now=now)


def _quotes_relapse(relapse: Episode | None) -> bool:
    return relapse is not None and relapse.since is not None


def _figures(*, outage: Outage, relapse: Episode | None, now: datetime) -> Figures:
    scope = words.figures_scope(outage.service.name, _countries(outage=outage, relapse=relapse))
    if not _quotes_relapse(relapse):
        totals = words.outage_totals(outage) if outage.total_reports else ""
        cold = outage_cold(outage)
        normal = None if cold else outage.peak_expected or None
        rate = words.rate_phrase(outage.peak_observed, normal)
        return Figures(
            outage.started_at,
            outage.detected_at,
            rate,
            peak_sentence(outage, cold=cold),
            totals,
            problems(outage),
            scope if outage.peak_observed or totals else "",
        )
    assert relapse is not None and relapse.since is not None  # _quotes_relapse
    tally = episode_tally(outage=outage, episode=relapse, until=now)
    # No "normal" beside a relapse's peak: the outage's peak_expected is its first run's.
    rate = words.rate_phrase(tally.peak, None) if tally.peak else ""
    return Figures(
        relapse.since,
        relapse.detected_at,
        rate,
        f"At the peak: {rate[0].lower()}{rate[1:]}." if rate else "",
        f"{tally.total:,} reports since they came back." if tally.total else "",
        problems_named(tally.problems),
        scope if rate or tally.total else "",
    )


def summary(
    *, kind: str, outage: Outage, now: datetime, zone: tzinfo = UTC, figures: Figures | None = None
) -> str:
    since = figures.since if figures else outage.started_at
    start = words.time_in_zone(since, zone, now=now)
    peak = figures.peak if figures else peak_sentence(outage, cold=outage_cold(outage))
    scope = figures.scope if figures else words.figures_scope(outage.service.name, outage.countries)
    if peak and scope:  # a chat's "Countries: France" field sits beside it
        peak = f"{peak} {scope}"
    if kind == Kind.RESOLVED:
        # The one end time of the outage, as on its page, in its feed and in the API.
        end = words.outage_end(outage) or outage.resolved_at or now
        return (
            f"The problems that started at {start} ended at "
            f"{words.time_in_zone(end, zone, now=now)}, after "
            f"{lasted(outage, since=since, end=end)}. {peak}"
        )
    if kind == Kind.REOPENED:
        first = words.time_in_zone(outage.started_at, zone, now=now)
        return (
            f"The problems reported since {first} are back within "
            f"{settings.OUTAGE_REOPEN_MINUTES} minutes of being resolved, since {start}: the "
            f"same outage. {peak}"
        ).strip()
    return f"Problems since {start}. {peak}"


def secret_rotated(subscription: Subscription) -> str:
    """The management page's answer to a new secret: whether the old one still verifies."""
    until = subscription.secret_previous_until
    if subscription.secret_previous and until:
        return (
            "A new secret: put it into your receiver. Until "
            f"{owner_time(until, subscription)} each message is signed with the old one too, "
            "so your receiver accepts it with either."
        )
    return "A new secret: the old one no longer verifies."


def secret_overlap_span() -> str:
    """How long the old secret keeps working after a rotation, in words ("" for not at all)."""
    hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS
    return f"{hours} hour{'' if hours == 1 else 's'}" if hours else ""


def acknowledged_choice(notify: bool) -> str:
    """The management page's answer to the acknowledgement checkbox."""
    if notify:
        return "Saved: we will also post when the official status page acknowledges an outage."
    return "Saved: no message when the official status page acknowledges an outage."


def official_sentence(
    official: OutageOfficial, *, kind: str, outage: Outage, zone: tzinfo, now: datetime
) -> str:
    """Whether the provider has acknowledged it yet; for the "acknowledged" notice, what it
    published and who knew first."""
    said = words.official_alert_sentence(
        official, service=outage.service.name, zone=zone, now=now, resolved=kind == Kind.RESOLVED
    )
    incident = official.incident
    if kind != Kind.ACKNOWLEDGED or incident is None:
        return said
    status = words.official_incident_status(incident.status)
    lead = words.official_lead_sentence(official)
    return f"{said} Its incident: “{incident.title}” ({status}). {lead}"


def official_incident(official: OutageOfficial) -> dict[str, Any] | None:
    incident = official.incident
    if incident is None:
        return None
    return {
        "id": incident.id,
        "title": incident.title,
        "url": incident.url,
        "status": incident.status,
        "acknowledged_at": incident.acknowledged_at,
    }


def _relapse(delivery: AlertDelivery) -> Episode | None:
    """The relapse a message is about ("problems again", or "detected" to a follower of a
    relapse's country), None for the first run and for "resolved" (which sums up all)."""
    if delivery.episode and delivery.kind in (Kind.OPENED, Kind.REOPENED):
        return outage_episode(outage=delivery.outage, number=delivery.episode)
    return None


def notice_countries(delivery: AlertDelivery) -> list[str]:
    """Where the problems are, as the message says: a relapse's own countries for the
    messages about it (a France-only relapse is not "problems again in France, Germany",
    F25); the whole outage's otherwise ("resolved" sums up all of it)."""
    return _countries(outage=delivery.outage, relapse=_relapse(delivery))


def _countries(*, outage: Outage, relapse: Episode | None) -> list[str]:
    return relapse.countries if relapse else list(outage.countries or [])


# Before a "resolved" to someone whose "detected" never reached them (deliveries' unreached).
UNREACHED_SENTENCE = (
    "We could not reach you while it lasted: this is the first you hear of it from us."
)


def notice_build(
    *,
    delivery: AlertDelivery,
    now: datetime,
    earlier: AlertDelivery | None = None,
    unreached: bool = False,
) -> Notice:
    outage = delivery.outage
    # Read once: the relapse's episode and the outage's problems each cost a query.
    relapse = _relapse(delivery)
    codes = _countries(outage=outage, relapse=relapse)
    names = country_names(codes)
    zone = zone_of(delivery.subscription)
    official = outage_official(outage=outage, now=now)
    said = official_sentence(official, kind=delivery.kind, outage=outage, zone=zone, now=now)
    quoted = _figures(outage=outage, relapse=relapse, now=now)
    named = problems(outage) if _quotes_relapse(relapse) else quoted.problems
    text = summary(kind=delivery.kind, outage=outage, now=now, zone=zone, figures=quoted)
    if unreached:
        text = f"{text} {UNREACHED_SENTENCE}"
    return Notice(
        delivery_id=delivery.pk,
        event=delivery.kind,
        subscription=delivery.subscription,
        outage=outage,
        episode=delivery.episode,
        title=title(
            kind=delivery.kind, outage=outage, codes=codes, zone=zone, now=now, since=quoted.since
        ),
        summary=said if delivery.kind == Kind.ACKNOWLEDGED else f"{text} {said}".strip(),
        countries=codes,
        country_names=names,
        observed=float(outage.peak_observed),
        expected=float(outage.peak_expected),
        problems=quoted.problems,
        outage_url=absolute(f"/outages/{outage.pk}/"),
        service_url=absolute(outage.service.get_absolute_url()),
        at=now,
        delivery=delivery,
        earlier=earlier,
        official=said,
        official_incident=official_incident(official),
        # As the API and the feed word it: a cold start's prior is no one's "normal".
        explanation=words.outage_summary(
            outage, named, zone=zone, now=now, date=True, cold=outage_cold(outage)
        ),
        figures=quoted,
        unreached=unreached,
        outage_problems=named,
        relapse=_quotes_relapse(relapse),
    )


# --- Upstream outages -------------------------------------------------------------------------


def upstream_title(*, view: Any, zone: tzinfo = UTC, now: datetime | None = None) -> str:
    """ "Probably an outage at Fastly: Reddit, Twitch and 3 more are affected since 14:05
    (UTC+1)", the subject and headline (no full stop)."""
    return words.upstream_sentence(view, zone=zone, now=now).removesuffix(".")


def upstream_summary(*, view: Any, provider: str) -> str:
    return (
        f"{len(view.affected)} services that run on {provider} started having problems within "
        f"minutes of each other, more than chance explains: {provider} itself probably has an "
        f"outage, even where few people report {provider} directly."
    )


def upstream_notice_build(*, delivery: UpstreamDelivery, view: Any, now: datetime) -> Notice:
    """The notice of an upstream outage to a follower of its provider (``view``: its
    detection.selectors.UpstreamView). No outage of its own: ``outage`` is None and the
    machine fields are in ``extra["upstream"]``."""
    subscription = delivery.subscription
    zone = zone_of(subscription)
    first = view.affected[0] if view.affected else view.members[0]
    return Notice(
        delivery_id=delivery.pk,
        event="upstream",
        subscription=subscription,
        outage=None,
        episode=0,
        title=upstream_title(view=view, zone=zone, now=now),
        summary=upstream_summary(view=view, provider=view.provider_name),
        countries=[],
        country_names=[],
        observed=0.0,
        expected=0.0,
        problems=[],
        outage_url=absolute(f"/outages/{first.outage_id}/"),
        service_url=absolute(subscription.service.get_absolute_url()),
        at=now,
        extra={
            "upstream": view,
            # The email's Message-ID (alerts.emails.upstream_message_id).
            "made": delivery.created_at,
            "message_id": delivery.message_id,
            "since": words.time_in_zone(view.started_at, zone, now=now, date=True),
            "outages": [
                (m.service_name, absolute(f"/outages/{m.outage_id}/")) for m in view.affected
            ],
        },
    )
