"""Words shown to people about service status and outages: pages, emails, Atom feeds and the
API's sentences are all built here, from the data that detection.selectors returns.

Plain words: "About 42 reports a minute, where about 3 are normal", country and problem names,
never a rule name, p-value or score (those appear only in the outage page's collapsed "How we
decided", built by ``decision_details``). Rates are per minute and totals say their span, so
one sentence never mixes the two.

Times: every time is given in UTC here ("14:05 UTC"); pages wrap it in ``<time datetime>``
(``time_html``) that static/js/localtime.js rewrites to the reader's zone, and emails format
it in the subscriber's zone (``time_in_zone``). One outage has one end: ``outage_end``, from
which the page header, its timeline, emails, feeds and the API all take it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from django.conf import settings
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from detection.falling import near_normal
from detection.models import Outage, OutageEvent

if TYPE_CHECKING:
    from detection.official.matching import Record
    from detection.official.selectors import OfficialStatus, OutageOfficial
    from detection.selectors import Series, SeriesPoint, ServiceState, UpstreamView


def absolute(path: str) -> str:
    """A link as the public site names it (SITE_URL), whatever host a request came in by:
    API bodies are cached across hosts, emails leave the site, and feed ids must not vary."""
    return f"{settings.SITE_URL}{path}"


LEVEL_LABELS = {0: "No problems", 1: "Possible problems", 2: "Problems detected"}
FALLING_LABEL = "Reports falling"

# Counters say their unit: totals name their span, rates say "a minute".
COUNTER_LABELS = {
    "last_15m": "Reports in the last 15 minutes",
    "last_1h": "Reports in the last hour",
    "last_24h": "Reports in the last 24 hours",
    "expected": "Normal now, per minute",
}

# --- Names ----------------------------------------------------------------------------------


def country_name(code: str) -> str:
    """ISO code -> common name ("DE" -> "Germany"); "" -> "All countries"."""
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return code or "All countries"
    return getattr(country, "common_name", country.name)


def country_names(codes: Iterable[str]) -> list[str]:
    return [country_name(c) for c in codes if c]


# Countries whose name takes "the" inside a sentence ("from the United Kingdom"); tables and
# lists show the bare name.
_THE = frozenset(
    "AE AX BS CC CF CK DO FK FO GB GM KM KY MH MP MV NL PH SB SC TC UM US VA".split()  # noqa: SIM905
)


def country_in_sentence(code: str) -> str:
    """ "GB" -> "the United Kingdom", "DE" -> "Germany": a country's name inside a sentence."""
    name = country_name(code)
    return f"the {name}" if code in _THE else name


def countries_in_sentence(codes: Iterable[str]) -> str:
    """ "Germany and the United States"."""
    return join_words([country_in_sentence(c) for c in codes if c])


def join_words(items: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def level_label(level: int) -> str:
    return LEVEL_LABELS.get(level, LEVEL_LABELS[0])


# --- Numbers --------------------------------------------------------------------------------


def about(value: float) -> str:
    """A count people read at a glance: "about 3", "less than 1". The one rule for a rate in
    words, sentences and tiles alike, so one box never shows 1.5 beside "about 2". Halves go
    up (Python's round() gives 2 for 2.5 and 4 for 3.5)."""
    if value < 0.95:
        return "less than 1"
    return f"about {int(value + 0.5)}"


def about_reports(value: float) -> str:
    """ "about 3 reports", "less than 1 report": about() with its noun."""
    return f"{about(value)} {'report' if value < 1.5 else 'reports'}"


def excess_words(observed: float, expected: float) -> str:
    """How far above normal, for a country's row: "12× normal", or "about 18 a minute,
    normally under 1" where less than one a minute is normal: a ratio to a fraction of a
    report jumps by hundreds from minute to minute ("510× normal") and reads as a headline."""
    if expected < 0.95:
        return f"{about(observed)} a minute, normally under 1"
    return f"{observed / expected:.0f}× normal"


def rate_phrase(
    observed: float, expected: float | None, *, capital: bool = True, place: str = ""
) -> str:
    """ "About 42 reports a minute, where about 3 are normal" (no full stop); ``place``
    ("from France") goes after the rate. No reports at all read "No reports in the last
    minute, where about 3 a minute are normal" ("no reports a minute" is no English)."""
    if observed <= 0:
        text = "no reports in the last minute" + (f" {place}" if place else "")
        unit = " a minute"
    else:
        text = f"{about_reports(observed)} a minute" + (f" {place}" if place else "")
        unit = ""
    if expected is not None:
        verb = "is" if expected < 1.5 else "are"
        text += f", where {about(expected)}{unit} {verb} normal"
    return text[0].upper() + text[1:] if capital else text


def duration_text(start: datetime, end: datetime) -> str:
    """ "7 min", "1 h 5 min", "2 h"."""
    minutes = max(round((end - start) / timedelta(minutes=1)), 1)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


# --- Times ----------------------------------------------------------------------------------


def zone_get(name: str) -> tzinfo:
    """An IANA zone by name; UTC for an empty or unknown one (validation happens on input)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def offset_text(at: datetime) -> str:
    """The UTC offset of an aware datetime: "UTC", "UTC+1", "UTC-5", "UTC+5:30"."""
    offset = at.utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _zone_of(zone: tzinfo | str) -> tzinfo:
    return zone_get(zone) if isinstance(zone, str) else zone


def _clock(local: datetime, *, date: bool, now: datetime | None = None) -> str:
    """ "14:05", "27 Nov 14:05", or "29 Oct 2025, 14:05" when the year is not the reader's
    current one: outage pages and lists are a permanent record, and without the year last
    October's outage reads exactly like this October's."""
    if not date:
        return f"{local:%H:%M}"
    this_year = (now or timezone.now()).astimezone(local.tzinfo).year
    if local.year != this_year:
        return f"{local.day} {local:%b %Y}, {local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def _suffix(local: datetime) -> str:
    offset = offset_text(local)
    return f" {offset}" if offset == "UTC" else f" ({offset})"


def time_in_zone(
    at: datetime, zone: tzinfo | str = UTC, *, now: datetime | None = None, date: bool | None = None
) -> str:
    """ "15:05 (UTC+1)" in a zone, "14:05 UTC" in UTC; with the date ("27 Nov 15:05 (UTC+1)")
    when it is not today there, or always with ``date=True``; with the year too when it is
    not this year there ("29 Oct 2025, 18:47 UTC")."""
    zone = _zone_of(zone)
    local = at.astimezone(zone)
    if date is None:
        date = local.date() != (now or timezone.now()).astimezone(zone).date()
    return _clock(local, date=date, now=now) + _suffix(local)


def time_text(at: datetime, *, now: datetime | None = None, date: bool | None = None) -> str:
    """ "14:05 UTC" today, "27 Nov 14:05 UTC" on another day (UTC)."""
    return time_in_zone(at, UTC, now=now, date=date)


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_html(at: datetime, *, now: datetime | None = None, date: bool | None = None) -> SafeString:
    """``<time>`` with the UTC time as text; static/js/localtime.js shows it in the reader's
    zone. ``data-date`` tells it whether to show the date ("auto": when not today)."""
    mode = "auto" if date is None else ("yes" if date else "no")
    return format_html(
        '<time datetime="{}" data-local="{}">{}</time>',
        iso_utc(at),
        mode,
        time_text(at, now=now, date=date),
    )


# --- Charts ---------------------------------------------------------------------------------


def series_caption(
    series: Series, highlight: Sequence[tuple[datetime, datetime | None]] = ()
) -> SafeString:
    """What a chart shows, in words under it: its highest and its newest closed bucket against
    normal, and the outage it shades. A screen reader had only the chart's title (pages
    tester F9); everyone gets the figures without reading them off the axis."""
    closed = [p for p in series.points if p.complete]
    if not closed:
        return SafeString("")
    unit = "a minute" if series.step_minutes == 1 else "a minute on average"
    top = max(closed, key=lambda p: p.observed)
    if top.observed <= 0:
        text = escape("No counted reports in this span.")
    else:
        text = format_html("Highest: {} {} at {}.", _bucket_rate(top), unit, time_html(top.at))
    newest = closed[-1]
    text += format_html(" Newest: {} {} at {}", _bucket_rate(newest), unit, time_html(newest.at))
    if newest.expected is not None:
        normal = newest.expected / newest.minutes
        text += format_html(", where {} {} normal", about(normal), "is" if normal < 1.5 else "are")
    text += "."
    # A relapse is shaded as its runs: "from 14:05 to 14:15 and since 14:33".
    runs = [
        format_html("since {}", time_html(start))
        if end is None
        else format_html("from {} to {}", time_html(start), time_html(end))
        for start, end in highlight
        if end is None or end > series.start
    ]
    if runs:
        text += format_html(" Shaded: problems {}.", SafeString(join_words(runs)))
    return SafeString(text)


def _bucket_rate(point: SeriesPoint) -> str:
    """A bucket's reports a minute: the count itself for one minute, else "about N"."""
    if point.minutes == 1:
        count = int(point.observed)
        return "no reports" if count == 0 else f"{count} {'report' if count == 1 else 'reports'}"
    rate = point.observed / point.minutes
    if point.observed <= 0:
        return "no reports"
    return about_reports(rate)


# --- Status ---------------------------------------------------------------------------------


def status_label(state: ServiceState) -> str:
    """The badge: "No problems", "Possible problems", "Problems detected", "Reports falling"."""
    return FALLING_LABEL if state.falling else level_label(state.level)


def status_look(state: ServiceState) -> str:
    """The badge's colour, by level code: reports falling read as a warning ("possible"'s
    look), not as the alarm of problems detected, wherever the badge is shown."""
    return "possible" if state.falling else state.code


def status_sentence(
    state: ServiceState,
    *,
    now: datetime | None = None,
    html: bool = False,
) -> str:
    """The service's status in a sentence or three.

    ``html``: the times as ``<time>`` elements (a SafeString); otherwise plain UTC text.
    """
    name = state.service.name
    if state.level == 0:
        return _out(f"No current problems at {name}.", None, html=html, now=now)
    # A relapse is told from its reopening: a "resolved" notice went out before it.
    since = state.again_since or state.problems_since
    again = " again" if state.again_since else ""
    if state.falling:
        return _out(_falling_sentence(state, since is not None), since, html=html, now=now)
    what = "problems" if state.level >= 2 else "possible problems"
    text = f"User reports indicate {what} at {name}{again}"
    if since is not None:
        text += f" since {_TIME}"
    text += f". {_evidence(state)}"
    if state.countries:
        text += f" Most reports come from {countries_in_sentence(state.countries[:3])}."
    return _out(text, since, html=html, now=now)


def _falling_sentence(state: ServiceState, timed: bool) -> str:
    name = state.service.name
    if _at_normal(state):
        now = (
            "none in the last minute"
            if state.observed <= 0
            else f"{about_reports(state.observed)} a minute"
        )
        text = f"Reports at {name} are back to normal levels: {now}."
    else:
        rate = rate_phrase(state.observed, state.expected, capital=False)
        text = f"Reports are falling at {name}: now {rate}."
    came = "came back" if state.again_since else "started"
    if timed:
        return text + f" The problems that {came} at {_TIME} may be over."
    return text + " The problems may be over."


def _at_normal(state: ServiceState) -> bool:
    """The newest minute is no more than normal (as people read the rounded numbers)."""
    if state.expected is None:
        return state.observed <= 0
    return state.observed <= state.expected or about(state.observed) == about(state.expected)


# Why "possible problems" is not "problems detected", by selectors.POSSIBLE_REASONS.
POSSIBLE_WHY = {
    "after_outage": (
        "It is only possible because an outage here has just ended: we call it again only on "
        "fresh reports in the next minutes, not on those still counted from it."
    ),
    "one_minute": (
        "It is only possible because the jump is in a single minute so far: we call it an "
        "outage once it holds for another minute or comes from more networks."
    ),
    "": "It is only possible so far: we need at least one more minute like this to confirm it.",
}


def _evidence(state: ServiceState) -> str:
    """What the verdict rests on now. An open outage whose newest minute has dropped is not
    evidenced by a below-normal rate (the "reports falling" verdict waits for FALLING_MINUTES
    closed minutes): it says the drop and quotes the peak (finding F23)."""
    outage = state.outage
    if state.level >= 2 and outage is not None and _dropped(state, outage):
        text = "Reports have dropped in the last minutes; we are confirming whether it is over."
        if outage.peak_observed:
            peak = rate_phrase(outage.peak_observed, outage.peak_expected or None, capital=False)
            text += f" At the peak: {peak}."
        return text
    text = f"Now {rate_phrase(state.observed, state.expected, capital=False)}."
    text += _networks_beyond_counted(state)
    if state.level == 1:
        text += " " + POSSIBLE_WHY.get(state.possible_reason, POSSIBLE_WHY[""])
    return text


def _networks_beyond_counted(state: ServiceState) -> str:
    """Why a surge's counted rate is far below the reports arriving: without it, "about 20
    reports a minute" reads as the whole story while thousands come (scale tester)."""
    networks = state.networks or 0
    if networks < 10 or networks < 2 * state.observed:
        return ""
    window = settings.REPORT_DEDUP_WINDOW_MINUTES
    return (
        f" {networks:,} networks reported in the last minute: each counts once in {window}"
        " minutes, so fewer reports are counted than arrive."
    )


def _dropped(state: ServiceState, outage: Outage) -> bool:
    """The newest minute is back near normal: its excess at most FALLING_SHARE of the peak's,
    as detection.falling judges the falling verdict's minutes, in counted reports and (when
    read) in the networks reporting."""
    if state.expected is None:
        return False
    if not near_normal(state.observed, state.expected, outage.peak_observed, outage.peak_expected):
        return False
    if state.networks is None or state.peak_networks is None:
        return True
    if state.peak_networks <= outage.peak_expected:
        return True
    return near_normal(state.networks, state.expected, state.peak_networks, outage.peak_expected)


# Where a sentence's time goes until it is rendered as text or as a <time> element: a NUL
# cannot occur in a name (the request guard and the catalog refuse it).
_TIME = "\x00time\x00"
_TIME_END = "\x00end\x00"


def _out(text: str, at: datetime | None, *, html: bool, now: datetime | None) -> str:
    if not html:
        return text.replace(_TIME, time_text(at, now=now)) if at else text
    escaped = escape(text)
    return SafeString(escaped.replace(_TIME, time_html(at, now=now)) if at else escaped)


# --- Outages --------------------------------------------------------------------------------


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
    zone = _zone_of(zone)
    first, last = outage.started_at.astimezone(zone), end.astimezone(zone)
    if date is None:
        date = first.date() != (now or timezone.now()).astimezone(zone).date()
    start = _clock(first, date=date, now=now)
    if _suffix(first) != _suffix(last):  # a clock change in between: say both
        start += _suffix(first)
    finish = _clock(last, date=last.date() != first.date(), now=now) + _suffix(last)
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
            f"Problems since {_TIME}{_paused_words(outage)}."
            if end is None
            else f"Problems from {_TIME} to {_TIME_END}, for {outage_duration(outage)}."
        )
        parts.append(when)
    elif period:
        when = f"Problems {outage_period(outage, zone=zone, now=now, date=date)}"
        when += _paused_words(outage) if end is None else f", for {outage_duration(outage)}"
        parts.append(when + ".")
    if outage.peak_observed and cold:
        peak = rate_phrase(outage.peak_observed, None, capital=False)
        parts.append(f"At the peak: {peak}. {_cold_sentence(outage)}")
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
    text = " ".join(parts)
    if not html:
        return text
    escaped = escape(text).replace(_TIME, time_html(outage.started_at, now=now, date=date))
    if end is not None:
        escaped = escaped.replace(_TIME_END, time_html(end, now=now, date=date))
    return SafeString(escaped)


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


def _cold_sentence(outage: Outage) -> str:
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
    """ "150 reports so far, from 57 different networks." (totals, never a rate)."""
    networks = "network" if outage.networks == 1 else "networks"
    span = "so far" if outage.is_active else "in all"
    text = f"{outage.total_reports} reports {span}"
    if outage.networks:
        text += f", from {outage.networks} different {networks}"
    return text + "."


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    label: str
    text: str
    country: str = ""


def timeline(outage: Outage, events: Iterable[OutageEvent]) -> list[TimelineEntry]:
    """The outage's events in plain words; its final "back to normal" at ``outage_end``.

    A "resolved" event followed by a reopening was only a lull ("Seemed over"): it stays at
    the end it declared, where it stood before the reopening (events written before ends
    were recorded: when the detector saw it).
    """
    events = list(events)
    last_resolved = max(
        (i for i, e in enumerate(events) if e.kind == OutageEvent.Kind.RESOLVED), default=-1
    )
    end = outage_end(outage)
    entries = []
    for i, event in enumerate(events):
        final = i == last_resolved and end is not None
        entries.append(_entry(outage, event, end if final else None, final=final))
    return entries


def _entry(
    outage: Outage, event: OutageEvent, end: datetime | None, *, final: bool
) -> TimelineEntry:
    kind = event.kind
    Kind = OutageEvent.Kind
    measured = event.observed is not None
    name = country_name(event.country) if event.country else ""
    where = f"from {name}" if name else ""
    rate = rate_phrase(event.observed, event.expected, place=where) + "." if measured else ""
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


# How the detector's rule names read ("nb_5m": kind and window), for "How we decided" only.
_RULE_KINDS = {
    "poisson": "compared with the random ups and downs any count has",
    "nb": "compared with this service's usual ups and downs",
    "excess": "far above normal by a margin that needs no statistics",
}
_P_VALUE = re.compile(r"p = ([0-9.]+e[-+]?[0-9]+)")


# The statistics' names, for the technical line only.
_RULE_NAMES = {"poisson": "Poisson", "nb": "negative binomial", "excess": "plain excess"}
# What the detector appends to its notes for experts: "(p = 2.4e-46, rule poisson_1m)",
# "(opened on rule nb_1m, highest score 0.77)". Moved to the technical line, out of the sentences.
_TECHNICAL = re.compile(
    r"\s*\(((?:p = [^,()]+, )?(?:opened on )?rule [a-z0-9_]+(?:, (?:highest )?score [0-9.]+)?)\)"
)
_EXPECTED = re.compile(r" vs [0-9.]+ expected(?: at the level before them)?")
_SUMMARY_SPAN = re.compile(r" (?:since \d{2}:\d{2}|from \d{2}:\d{2} to \d{2}:\d{2}) UTC(?=\.)")
_COUNTRY_SHARE = re.compile(r"\b([A-Z]{2}) (\d+%)")


def _rule_parts(rule: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"([a-z]+)_(\d+)m", rule or "")
    if not match:
        return None
    kind, minutes = match.group(1), int(match.group(2))
    window = "the last minute" if minutes == 1 else f"the last {minutes} minutes together"
    return kind, window


def rule_words(rule: str, *, cold: bool = False) -> str:
    """ "nb_5m" -> "the reports of the last 5 minutes together, compared with ..." (plain
    words: the rule's own name goes to the technical line, ``rule_technical``)."""
    parts = _rule_parts(rule)
    if parts is None:
        return "the reports" if rule else "no rule recorded"
    kind, window = parts
    if cold:
        return f"the reports of {window}, far more than a service with no history has"
    return f"the reports of {window}, {_RULE_KINDS.get(kind, 'compared with what is normal')}"


def rule_technical(rule: str) -> str:
    """ "nb_1m" -> "rule nb_1m (negative binomial, 1-minute window)"."""
    match = re.fullmatch(r"([a-z]+)_(\d+)m", rule or "")
    if not match:
        return f"rule {rule}"
    name = _RULE_NAMES.get(match.group(1), match.group(1))
    return f"rule {rule} ({name}, {match.group(2)}-minute window)"


def chance_words(p: float) -> str:
    """How unlikely, in words: "less than one in a billion"."""
    if p <= 0:
        return "practically impossible"
    for limit, words in (
        (1e-12, "less than one in a trillion"),
        (1e-9, "less than one in a billion"),
        (1e-6, "less than one in a million"),
        (1e-3, "less than one in a thousand"),
    ):
        if p < limit:
            return words
    return f"about one in {round(1 / p):,}"


@dataclass(frozen=True)
class DecisionLine:
    """One line of "How we decided"; ``at`` (if any) goes before it as a <time>."""

    text: str
    at: datetime | None = None

    def __str__(self) -> str:
        return f"{time_text(self.at, date=False)}: {self.text}" if self.at else self.text


def decision_details(
    outage: Outage,
    events: Iterable[OutageEvent],
    problems: Sequence[dict[str, Any]] = (),
    *,
    cold: bool = False,
) -> list[DecisionLine]:
    """The account for the collapsed "How we decided", in plain words: which time window, how
    unlikely, the score, the detector's notes with country and problem names; the rule names
    and p-values only in the last, technical line. ``problems`` (as selectors.outage_problems
    gives them) name the problems; ``cold``: the service has no history yet (cold_start)."""
    name = outage.service.name
    normal = "what a new service typically sees" if cold else "what is normal for this service"
    lines = [
        DecisionLine(
            "We compare the reports of every minute, and of longer windows summed, with "
            f"{normal} at this time of day and week, and count each network once."
        ),
    ]
    technical = [rule_technical(outage.rule)] if outage.rule else []
    if outage.rule:
        lines.append(DecisionLine(f"It opened on {rule_words(outage.rule, cold=cold)}."))
    if cold:
        lines.append(
            DecisionLine(
                f"{name} has almost no reports normally: with no history here yet, we call it "
                "down only when reports come from many different networks at once. Highest "
                f"anomaly score: {outage.score:.2f} (against a new service's usual reports, "
                "not this one's)."
            )
        )
    else:
        lines.append(
            DecisionLine(
                # Calibrated on the service's own history (detection.core.calibration): a bursty
                # service's big bursts score lower than a calm one's, and say so.
                f"Highest anomaly score: {outage.score:.2f} (measured against this service's "
                "own history: 0 is an ordinary minute, 0.5 as rare as the few alarms a month "
                "it is allowed, near 1 far rarer than anything it has shown)."
            )
        )
    for event in events:
        if event.kind not in (OutageEvent.Kind.OPENED, OutageEvent.Kind.COUNTRY):
            continue
        if not event.message:
            continue
        # A country's note starts with its code ("DE: 46 reports..."), which the line names
        # already: "Germany: DE: 46 reports" (API tester F20).
        prefix = f"{event.country}: " if event.country else ""
        note, found = _plain_note(event.message.removeprefix(prefix), outage, problems, cold=cold)
        match = _P_VALUE.search(event.message)
        if match:
            note += f" By chance alone: {chance_words(float(match.group(1)))}."
        where = f"{country_name(event.country)}: " if event.country else ""
        lines.append(DecisionLine(where + note, at=_evidence_at(event)))
        if event.kind == OutageEvent.Kind.OPENED:
            lines += _judged_late(event)
        # Named by what it is, not by a UTC time beside lines in the reader's zone (pages
        # tester F7).
        label = country_name(event.country) if event.country else "at the opening"
        technical += [f"{label}: {t}" for t in found]
    if outage.explanation:
        # Its span in UTC is the page's own first line, in the reader's zone.
        note = _SUMMARY_SPAN.sub("", outage.explanation)
        summary, found = _plain_note(note, outage, problems, cold=cold)
        lines.append(DecisionLine(f"Detector summary: {summary}"))
        technical += found
    if technical:
        lines.append(DecisionLine(f"Technical details: {'; '.join(dict.fromkeys(technical))}."))
    return lines


def _evidence_at(event: OutageEvent) -> datetime:
    """When the minute an entry quotes had closed ("in the last minute" as of then); entries
    from before minutes were recorded, when the detector wrote them."""
    return event.since + timedelta(minutes=1) if event.since else event.at


# Past this, an opening was said later than its minute allowed: our own delay, told.
_LATE = timedelta(minutes=2)


def _judged_late(event: OutageEvent) -> list[DecisionLine]:
    """A line on our own delay where the detector judged the opening minute late (catching
    up after it had stopped): the time before it is when we said so."""
    closed = _evidence_at(event)
    if event.at - closed <= _LATE:
        return []
    text = (
        f"We said so {duration_text(closed, event.at)} after that minute: our detector was "
        "catching up after a pause, not waiting for more reports."
    )
    return [DecisionLine(text, at=event.at)]


def _plain_note(
    note: str, outage: Outage, problems: Sequence[dict[str, Any]], *, cold: bool
) -> tuple[str, list[str]]:
    """A detector note in the page's words: country and problem names for codes and slugs,
    its rule and p-value taken out (returned apart, for the technical line); on a cold start
    no "vs 3.2 expected", which nobody observed."""
    technical = _TECHNICAL.findall(note)
    note = _TECHNICAL.sub("", note)
    if cold:
        note = _EXPECTED.sub("", note)
    note = _COUNTRY_SHARE.sub(lambda m: f"{country_name(m.group(1))} {m.group(2)}", note)
    names = {p["problem"]: p["name"] for p in problems}
    for item in outage.top_problems or []:
        slug = item.get("problem") if isinstance(item, dict) else None
        if slug and slug in names:
            note = note.replace(f"{slug} (", f"{names[slug]} (")
    return note, technical


# --- Track record ---------------------------------------------------------------------------

TRACK_RECORD_INTRO = (
    "How early the crowd saw what the providers' own status pages later said, and what each "
    "side missed: counted from the stored outages and official incidents, never edited."
)
# Column headings of the track-record tables (the phone layout shows them as labels).
TRACK_RECORD_COLUMNS = {
    "outages": "Outages detected",
    "matched_incidents": "Official incidents matched",
    "median_lead": "Median lead",
    "p90_lead": "90th percentile lead",
    "unseen_incidents": "Official incidents the crowd never saw",
    "unacknowledged_outages": "Outages the provider never acknowledged",
}


def track_record_lead(minutes: float | None) -> str:
    """A lead time in words: "14 min earlier", "3 min later", "at the same time", "—"."""
    if minutes is None:
        return "—"
    rounded = round(minutes)
    if rounded == 0:
        return "at the same time"
    return f"{_minutes_text(rounded)} {'earlier' if rounded > 0 else 'later'}"


def _minutes_text(minutes: int) -> str:
    return duration_text(datetime.min, datetime.min + timedelta(minutes=abs(minutes)))


def track_record_span(days: int) -> str:
    return f"Last {days} days"


def track_record_summary(record: Record, *, days: int) -> str:
    """The span's figures in one or two sentences (the page's lead and the API's summary)."""
    if not record.outages and not record.incidents:
        return f"No outage detected and no official incident in the last {days} days."
    outages = "outage" if record.outages == 1 else "outages"
    text = f"In the last {days} days OutageWatch detected {record.outages} {outages}"
    if record.incidents:
        incidents = "incident" if record.incidents == 1 else "incidents"
        text += (
            f"; the providers posted {record.incidents} official {incidents}, "
            f"{record.matched_incidents} of them also seen by the crowd"
        )
    text += "."
    median = record.median_lead
    if median is None:
        return text
    amount = _minutes_text(round(median))
    if round(median) > 0:
        text += f" In the median, OutageWatch knew {amount} before the official status page."
    elif round(median) < 0:
        text += f" In the median, the official status page said so {amount} before OutageWatch."
    else:
        text += " In the median, both said so at the same time."
    return text


# --- Upstream outages -----------------------------------------------------------------------

# Services named in an upstream sentence before "and N more".
UPSTREAM_NAMED = 2


def upstream_affected(names: Sequence[str]) -> str:
    """ "Discord, Shopify and 5 more"; all of them when only one more would be left."""
    if len(names) <= UPSTREAM_NAMED + 1:
        return join_words(names)
    rest = len(names) - UPSTREAM_NAMED
    return join_words([*names[:UPSTREAM_NAMED], f"{rest} more"])


def upstream_sentence(
    view: UpstreamView,
    *,
    html: bool = False,
    zone: tzinfo | str = UTC,
    now: datetime | None = None,
) -> str:
    """ "Probably an outage at Cloudflare: Discord, Shopify and 5 more are affected since
    09:12 UTC." (in ``zone``; ``html``: the times as <time> elements for pages)."""
    names = [m.service_name for m in view.affected]
    listed = upstream_affected(names)
    one = len(names) == 1
    head = f"Probably an outage at {view.provider_name}: {listed}"
    if view.is_active:
        text = f"{head} {'is' if one else 'are'} affected since {_TIME}."
    else:
        text = f"{head} {'was' if one else 'were'} affected from {_TIME} to {_TIME_END}."
    return _times(text, view.started_at, view.resolved_at, html=html, zone=zone, now=now)


def upstream_note(view: UpstreamView, *, outage_id: int) -> str:
    """On the page of one of its outages: what the others are (the page links them)."""
    others = [m for m in view.affected if m.outage_id != outage_id]
    provider = view.provider_name
    if not others:
        return f"Probably caused by an outage at {provider}."
    count = len(others)
    services = "service" if count == 1 else "services"
    if any(m.is_provider and m.outage_id == outage_id for m in view.members):
        return (
            f"{count} {services} that run on {provider} had problems at the same time: "
            f"probably one outage at {provider}."
        )
    return (
        f"Probably part of an outage at {provider}: {count} other {services} on {provider} "
        f"had problems at the same time."
    )


def _times(
    text: str,
    start: datetime,
    end: datetime | None,
    *,
    html: bool,
    zone: tzinfo | str,
    now: datetime | None,
) -> str:
    """The sentence with its start (and end) time: as text in ``zone``, or as <time>."""
    if not html:
        text = text.replace(_TIME, time_in_zone(start, zone, now=now))
        return text.replace(_TIME_END, time_in_zone(end, zone, now=now)) if end else text
    escaped = escape(text).replace(_TIME, time_html(start, now=now))
    return SafeString(escaped.replace(_TIME_END, time_html(end, now=now)) if end else escaped)


# --- Official status ----------------------------------------------------------------------
# The provider's own status page beside the crowd (detection.official): what it says now on
# the service page, the incident an outage matches and who knew first on the outage page,
# and whether the provider has said anything yet in alerts.

OFFICIAL_INDICATORS = {
    "none": "No problems reported",
    "minor": "Minor problems reported",
    "major": "A major outage reported",
    "critical": "A critical outage reported",
    "maintenance": "Maintenance in progress",
}


def official_indicator(indicator: str) -> str:
    """The provider's indicator in plain words ("" for a page that has none, e.g. a feed)."""
    return OFFICIAL_INDICATORS.get(indicator, "")


def official_readable(status: OfficialStatus | None) -> bool:
    """Whether the page's last good read may be shown as what it says now."""
    return status is not None and status.last_success_at is not None and not status.stale


def official_read_sentence(
    status: OfficialStatus, *, now: datetime | None = None, html: bool = False
) -> str:
    """When the page was last read, or plainly that it could not be: "" when it was never
    read (the section shows nothing rather than a guess)."""
    at = status.last_success_at
    if at is None:
        return ""
    if not status.stale:
        return _out(f"Last read at {_TIME}.", at, html=html, now=now)
    if status.failures:
        return _out(
            f"The official status page could not be read since {_TIME}.", at, html=html, now=now
        )
    return _out(
        f"The official status page has not been read since {_TIME}: what it said then may be "
        "out of date.",
        at,
        html=html,
        now=now,
    )


def official_status_sentence(status: OfficialStatus) -> str:
    """ "The official status page says: No problems reported." (only for a readable page)."""
    words = official_indicator(status.indicator)
    if status.description and status.description.lower() != words.lower():
        words = f"{words} ({status.description})" if words else status.description
    count = len(status.open_incidents)
    if not words:
        words = (
            "no open incident"
            if not count
            else f"{count} open {'incident' if count == 1 else 'incidents'}"
        )
    return f"The official status page says: {words[0].upper()}{words[1:]}."


def official_incident_status(status: str) -> str:
    """The provider's status word for people: "investigating" -> "Investigating"."""
    return status.replace("_", " ").capitalize() if status else "Open"


def _minutes(lead: timedelta) -> int:
    return round(abs(lead.total_seconds()) / 60)


def official_lead_sentence(official: OutageOfficial) -> str:
    """Who knew first, by detection.official.matching's lead time: "" without a source."""
    if not official.has_source:
        return ""
    if official.incident is None or official.lead is None:
        if official.waiting:
            return "The official status page has not acknowledged it yet."
        return "The official status page never acknowledged it."
    minutes = _minutes(official.lead)
    if minutes == 0:
        return (
            "OutageWatch detected this within a minute of the official status page "
            "acknowledging it."
        )
    unit = "minute" if minutes == 1 else "minutes"
    when = "before" if official.lead > timedelta(0) else "after"
    return (
        f"OutageWatch detected this {minutes} {unit} {when} the official status page "
        "acknowledged it."
    )


def official_alert_sentence(
    official: OutageOfficial,
    *,
    service: str,
    zone: tzinfo | str = UTC,
    now: datetime | None = None,
    resolved: bool = False,
) -> str:
    """For alerts: "Acme acknowledged it at 14:05 UTC." or "The official status page does
    not mention it yet." ("" when the service has no official source)."""
    if not official.has_source:
        return ""
    if official.incident is None:
        if resolved:
            return "The official status page did not mention it."
        return "The official status page does not mention it yet."
    at = time_in_zone(official.incident.acknowledged_at, zone, now=now)
    return f"{service} acknowledged it at {at}."
