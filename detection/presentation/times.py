"""Times in words and markup: "14:05 UTC" here, the reader's zone in emails (``time_in_zone``)
and on pages (``time_html``: a ``<time>`` that static/js/localtime.js rewrites).

Sentences are written with placeholders for their times (``TIME``, ``TIME_END``) and rendered
once, as text or as ``<time>`` elements, by ``render`` and ``render_span``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString


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


def zone_of(zone: tzinfo | str) -> tzinfo:
    return zone_get(zone) if isinstance(zone, str) else zone


def clock(local: datetime, *, date: bool, now: datetime | None = None) -> str:
    """ "14:05", "27 Nov 14:05", or "29 Oct 2025, 14:05" when the year is not the reader's
    current one: outage pages and lists are a permanent record, and without the year last
    October's outage reads exactly like this October's."""
    if not date:
        return f"{local:%H:%M}"
    this_year = (now or timezone.now()).astimezone(local.tzinfo).year
    if local.year != this_year:
        return f"{local.day} {local:%b %Y}, {local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def suffix(local: datetime) -> str:
    offset = offset_text(local)
    return f" {offset}" if offset == "UTC" else f" ({offset})"


def time_in_zone(
    at: datetime, zone: tzinfo | str = UTC, *, now: datetime | None = None, date: bool | None = None
) -> str:
    """ "15:05 (UTC+1)" in a zone, "14:05 UTC" in UTC; with the date ("27 Nov 15:05 (UTC+1)")
    when it is not today there, or always with ``date=True``; with the year too when it is
    not this year there ("29 Oct 2025, 18:47 UTC")."""
    zone = zone_of(zone)
    local = at.astimezone(zone)
    if date is None:
        date = local.date() != (now or timezone.now()).astimezone(zone).date()
    return clock(local, date=date, now=now) + suffix(local)


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


# Where a sentence's time goes until it is rendered as text or as a <time> element: a NUL
# cannot occur in a name (the request guard and the catalog refuse it).
TIME = "\x00time\x00"
TIME_END = "\x00end\x00"


def render(text: str, at: datetime | None, *, html: bool, now: datetime | None) -> str:
    """The sentence with its time: as UTC text, or as a <time> element (a SafeString)."""
    if not html:
        return text.replace(TIME, time_text(at, now=now)) if at else text
    escaped = escape(text)
    return SafeString(escaped.replace(TIME, time_html(at, now=now)) if at else escaped)


def render_span(
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
        text = text.replace(TIME, time_in_zone(start, zone, now=now))
        return text.replace(TIME_END, time_in_zone(end, zone, now=now)) if end else text
    escaped = escape(text).replace(TIME, time_html(start, now=now))
    return SafeString(escaped.replace(TIME_END, time_html(end, now=now)) if end else escaped)
