"""What a chart shows, in words under it (for screen readers and for everyone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from detection.presentation.outages import cold_start
from detection.presentation.times import time_html
from detection.presentation.words import about, about_reports, join_words

if TYPE_CHECKING:
    from detection.selectors import Series, SeriesPoint


def series_caption(
    series: Series, highlight: Sequence[tuple[datetime, datetime | None]] = ()
) -> SafeString:
    """What a chart shows, in words under it: its highest and its newest bucket against
    normal, and the outage it shades. A screen reader had only the chart's title (pages
    tester F9); everyone gets the figures without reading them off the axis. Every bucket the
    chart draws, the one still filling too (its rate so far): words of the closed ones only
    said "highest: about 2" under a chart at 39 a minute in an outage's first quarter hour
    (accessibility tester F3, forty-fifth session)."""
    drawn = [p for p in series.points if p.minutes > 0]
    if not drawn:
        return SafeString("")
    unit = "a minute" if series.step_minutes == 1 else "a minute on average"
    top = max(drawn, key=lambda p: p.observed / p.minutes)
    text: str  # HTML, escaped piece by piece (a str once "." is added): marked safe at the end
    if top.observed <= 0:
        text = escape("No counted reports in this span.")
    else:
        text = format_html("Highest: {} {}.", _bucket_rate(top, unit), _bucket_when(top))
    newest = drawn[-1]
    text += format_html(" Newest: {} {}", _bucket_rate(newest, unit), _bucket_when(newest))
    # A cold start's expectation is a guess for a new service, not its normal (outages).
    if newest.expected is not None and not cold_start(series.baseline_method):
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


def _bucket_when(point: SeriesPoint) -> SafeString:
    """ "at 14:00", or for a bucket still filling "so far since 14:00"."""
    if point.complete:
        return format_html("at {}", time_html(point.at))
    return format_html("so far since {}", time_html(point.at))


def _bucket_rate(point: SeriesPoint, unit: str) -> str:
    """A bucket's reports a minute: the count itself for one minute, else "about N", with
    ``unit``; "no reports" alone ("no reports a minute" is no English: explain tester F3)."""
    if point.observed <= 0:
        return "no reports"
    if point.minutes == 1:
        count = int(point.observed)
        return f"{count} {'report' if count == 1 else 'reports'} {unit}"
    return f"{about_reports(point.observed / point.minutes)} {unit}"
