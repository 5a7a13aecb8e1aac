"""One outage in words: its period, title, summary, totals and timeline.

One outage has one end (``outage_end``), from which the page header, its timeline, emails,
feeds and the API all take it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString

from detection.models import Outage, OutageEvent
from detection.presentation.times import (
    TIME,
    TIME_END,
    clock,
    suffix,
    time_html,
    time_in_zone,
    zone_of,
)
from detection.presentation.words import (
    about,
    countries_in_sentence,
    country_in_sentence,
    country_name,
    duration_text,
    join_words,
    rate_phrase,
)


def outage_end(outage: Outage) -> datetime | None:
    """The one end time of an outage, for every display: None while it is open.

    ``resolved_at`` is the minute after the last one with excess reports; the detector only
    confirms it some quiet minutes later (the "resolved" event's ``at``), which is not shown.
    """
    return None if outage.is_active else outage.resolved_at


def outage_duration(outage: Outage, *, now: datetime | None = None) -> str:
    """How long it had problems: "23 min", or "23 min (it stopped for 16 min in between)" for
    one that ended and came back (its span is 39 min: every surface said "lasted 39 min",
    API tester F23)."""
    end = outage_end(outage) or now or timezone.now()
    paused = timedelta(minutes=outage.paused_minutes)
    if not outage.paused_minutes or end - outage.started_at <= paused:
        return duration_text(outage.started_at, end)
    active = duration_text(outage.started_at, end - paused)
    return f"{active} (it stopped for {duration_text(end - paused, end)} in between)"


def outage_period(
    outage: Outage,
    *,
    zone: tzinfo | str = UTC,
    now: datetime | None = None,
    date: bool | None = None,
) -> str:
    """ "since 14:05 UTC" while open, "from 14:05 to 15:12 UTC" after (in ``zone``); the
    date when not today, or always with ``date=True`` (for text read later: feeds, API)."""
    end = outage_end(outage)
    if end is None:
        return f"since {time_in_zone(outage.started_at, zone, now=now, date=date)}"
    zone = zone_of(zone)
    first, last = outage.started_at.astimezone(zone), end.astimezone(zone)
    if date is None:
        date = first.date() != (now or timezone.now()).astimezone(zone).date()
    start = clock(first, date=date, now=now)
    if suffix(first) != suffix(last):  # a clock change in between: say both
        start += suffix(first)
    finish = clock(last, date=last.date() != first.date(), now=now) + suffix(last)
    return f"from {start} to {finish}"


def outage_title(
    outage: Outage,
    *,
    zone: tzinfo | str = UTC,
    now: datetime | None = None,
    date: bool | None = None,
) -> str:
    """ "Acme Cloud: problems since 14:05 UTC", "Acme Cloud: problems from 14:05 to 15:12 UTC
    (over)"; feeds use it as the entry title."""
    period = outage_period(outage, zone=zone, now=now, date=date)
    suffix = "" if outage.is_active else " (over)"
    return f"{outage.service.name}: problems {period}{suffix}"


def outage_summary(
    outage: Outage,
    problems: Sequence[dict[str, Any]] = (),
    *,
    zone: tzinfo | str = UTC,
    now: datetime | None = None,
    date: bool | None = None,
    period: bool = True,
    html: bool = False,
    cold: bool = False,
) -> str:
    """What happened, in plain words: the peak as a rate, totals with their span, where and
    what. ``problems`` as detection.selectors.outage_problems returns them. ``period=False``
    leaves out when; ``html`` gives it with <time> elements (a SafeString) for pages.
    ``cold``: the service has no history yet (``cold_start``), so no "normal" is claimed."""
    end = outage_end(outage)
    parts = []
    if period and html:
        when = (
            f"Problems since {TIME}{_paused_words(outage)}."
            if end is None
            else f"Problems from {TIME} to {TIME_END}, for {outage_duration(outage)}."
        )
        parts.append(when)
    elif period:
        when = f"Problems {outage_period(outage, zone=zone, now=now, date=date)}"
        when += _paused_words(outage) if end is None else f", for {outage_duration(outage)}"
        parts.append(when + ".")
    if outage.peak_observed and cold:
        peak = rate_phrase(outage.peak_observed, None, capital=False)
        parts.append(f"At the peak: {peak}. {cold_sentence(outage)}")
    elif outage.peak_observed:
        peak = rate_phrase(outage.peak_observed, outage.peak_expected or None)
        parts.append(f"At the peak: {peak[0].lower()}{peak[1:]}.")
    if outage.total_reports:
        parts.append(outage_totals(outage))
    codes = list(outage.countries or [])
    if codes:
        parts.append(f"Most reports from {countries_in_sentence(codes[:5])}.")
    if problems:
        listed = join_words([f"{p['name']} ({p['count']})" for p in problems[:5]])
        parts.append(f"Most reported problems: {listed}.")
    if outage.peak_observed or outage.total_reports:
        parts.append(figures_scope(outage.service.name, codes))
    text = " ".join(part for part in parts if part)
    if not html:
        return text
    escaped = escape(text).replace(TIME, time_html(outage.started_at, now=now, date=date))
    if end is not None:
        escaped = escaped.replace(TIME_END, time_html(end, now=now, date=date))
    return SafeString(escaped)


def figures_scope(service: str, codes: Sequence[str]) -> str:
    """Whose figures an outage's are, beside the countries it names: the service's, from every
    country. Next to "Affected: France", "At the peak: about 41 reports a minute, where about
    7 are normal. 756 reports in all" read as France's, which alone had about 33 against 2
    (words tester F11). "" when it names none (its figures are plainly the whole service's)."""
    if not codes:
        return ""
    return (
        f"These figures count reports about {service} from every country, not only from "
        f"{countries_in_sentence(codes[:5])}."
    )


def _paused_words(outage: Outage) -> str:
    """ " (they stopped for 18 min in between)" for an open outage that ended and came back:
    "Problems since 20:23" beside "problems again since 20:51" read as two claims."""
    if not outage.paused_minutes:
        return ""
    paused = duration_text(
        outage.started_at, outage.started_at + timedelta(minutes=outage.paused_minutes)
    )
    return f" (they stopped for {paused} in between)"


def cold_start(baseline_method: str | None) -> bool:
    """Whether a series is still on its cold-start prior (or has no baseline at all): its
    "expected" is the detector's guess for a new service, not anything people observed, so
    the words must not present it as this service's normal or its history."""
    return baseline_method in (None, "prior")


def cold_sentence(outage: Outage) -> str:
    return f"{outage.service.name} has almost no reports normally (it has no history here yet)."


def normally(expected: float | None, *, cold: bool = False) -> str:
    """The normal rate beside a peak, as a list shows it: "normally under 1", "normally about
    3"; "" when nothing is known."""
    if cold:
        return "normally almost none"
    if expected is None:
        return ""
    words = about(expected)
    return "normally under 1" if words == "less than 1" else f"normally {words}"


def outage_totals(outage: Outage) -> str:
    """ "150 reports so far, from 57 different networks." (totals, never a rate; thousands
    grouped, "2,870 reports", as the networks beyond counted are)."""
    networks = "network" if outage.networks == 1 else "networks"
    span = "so far" if outage.is_active else "in all"
    text = f"{outage.total_reports:,} reports {span}"
    if outage.networks:
        text += f", from {outage.networks:,} different {networks}"
    return text + "."


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    label: str
    text: str
    country: str = ""


def timeline(
    outage: Outage,
    events: Iterable[OutageEvent],
    *,
    cold: bool = False,
    final_id: int | None = None,
) -> list[TimelineEntry]:
    """The outage's events in plain words; its final "back to normal" at ``outage_end``.

    A "resolved" event followed by a reopening was only a lull ("Seemed over"): it stays at
    the end it declared, where it stood before the reopening (events written before ends
    were recorded: when the detector saw it). The final one is the last "resolved" among
    ``events`` (its newest events, oldest first), or the one with id ``final_id`` for a page
    of its timeline that may not hold it (selectors.outage_final_event).
    """
    events = list(events)
    last_resolved = max(
        (
            i
            for i, e in enumerate(events)
            if (e.pk == final_id if final_id is not None else e.kind == OutageEvent.Kind.RESOLVED)
        ),
        default=-1,
    )
    end = outage_end(outage)
    entries = []
    for i, event in enumerate(events):
        final = i == last_resolved and end is not None
        entries.append(_entry(outage, event, end if final else None, final=final, cold=cold))
    return entries


def timeline_earlier(earlier: int, *, shown: int) -> str:
    """The line over a timeline that lists only its newest `shown` events (the outage page
    and API cap it: selectors.TIMELINE_EVENTS); "" when it lists them all."""
    if earlier <= 0:
        return ""
    events = "event" if earlier == 1 else "events"
    return f"The newest {shown} events, and {earlier} earlier {events} not listed here."


def _entry(
    outage: Outage, event: OutageEvent, end: datetime | None, *, final: bool, cold: bool
) -> TimelineEntry:
    kind = event.kind
    Kind = OutageEvent.Kind
    name = country_name(event.country) if event.country else ""
    where = f"from {country_in_sentence(event.country)}" if name else ""
    # On a cold start no "where 1 is normal": the service has no normal yet (``cold``).
    normal = None if cold else event.expected
    rate = (
        rate_phrase(event.observed, normal, place=where) + "." if event.observed is not None else ""
    )
    if kind == Kind.OPENED:
        return TimelineEntry(event.at, kind, "Problems detected", rate)
    if kind == Kind.COUNTRY:
        text = rate or f"Reports from {name} too."
        return TimelineEntry(event.at, kind, f"{name} affected", text, event.country)
    if kind == Kind.PEAK:
        return TimelineEntry(event.at, kind, "New peak", rate)
    if kind == Kind.REOPENED:
        return TimelineEntry(
            event.at, kind, "Problems again", "Reports rose again: the same outage."
        )
    if final and end is not None:
        text = f"The outage lasted {outage_duration(outage, now=end)}."
        return TimelineEntry(end, kind, "Back to normal", text)
    return TimelineEntry(
        event.since or event.at, kind, "Seemed over", "Reports were back to normal for a while."
    )
