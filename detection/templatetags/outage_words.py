"""Template access to detection.presentation: times for the reader's zone, outage words.

{{ at|localtime }}            <time datetime="...Z">14:05 UTC</time>, date when not today
{{ at|localtime_date }}       the same, always with the date
{% outage_summary outage problems %}  (period=False: without "from ... to ...")
{{ outage|outage_end }}       the one end time; {{ x|about }} "about 3"
{% outage_timeline outage events as entries %}   presentation.TimelineEntry list
{% outage_details outage events problems cold=cold as lines %}   "How we decided" lines
{{ expected|normally }}        "normally under 1", "normally about 3"
{% upstream_sentence view %} / {% upstream_note view outage.pk %}   upstream outages
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django import template
from django.utils.safestring import SafeString

from detection import presentation, selectors
from detection.models import Outage, OutageEvent

register = template.Library()


@register.filter
def localtime(at: datetime | None) -> SafeString | str:
    return presentation.time_html(at) if at else ""


@register.filter
def localtime_date(at: datetime | None) -> SafeString | str:
    return presentation.time_html(at, date=True) if at else ""


@register.simple_tag
def outage_summary(
    outage: Outage,
    problems: Sequence[dict[str, Any]] = (),
    period: bool = True,
    html: bool = False,
    cold: bool | None = None,
) -> str:
    """html=True: its times as <time> elements (page text, not attributes); cold: it was judged
    on a cold start (presentation.cold_start); None: as the outage recorded it
    (selectors.outage_cold). The service's state now is not it: once its baseline was fitted,
    the status card quoted the opening's guess as a normal (regression tester, 47th session)."""
    if cold is None:
        cold = selectors.outage_cold(outage)
    return presentation.outage_summary(outage, problems, period=period, html=html, cold=cold)


@register.filter
def outage_end(outage: Outage) -> datetime | None:
    """The outage's one end time (None while open): what every display shows."""
    return presentation.outage_end(outage)


@register.filter
def about(value: float) -> str:
    """ "about 3", "less than 1"."""
    return presentation.about(value)


@register.simple_tag
def outage_timeline(
    outage: Outage, events: Iterable[OutageEvent], cold: bool = False
) -> list[presentation.TimelineEntry]:
    return presentation.timeline(outage, events, cold=cold)


@register.simple_tag
def outage_details(
    outage: Outage,
    events: Iterable[OutageEvent],
    problems: Sequence[dict[str, Any]] = (),
    cold: bool = False,
) -> list[presentation.DecisionLine]:
    return presentation.decision_details(outage, events, problems, cold=cold)


@register.filter
def normally(expected: float | None, cold: bool = False) -> str:
    """ "normally under 1", "normally about 3" (beside a peak)."""
    return presentation.normally(expected, cold=cold)


@register.simple_tag
def outage_duration(outage: Outage) -> str:
    return presentation.outage_duration(outage)


@register.simple_tag
def rate_phrase(observed: float, expected: float | None = None) -> str:
    return presentation.rate_phrase(observed, expected)


@register.simple_tag
def upstream_sentence(view: Any) -> str:
    """An upstream outage in one sentence, its times as <time> elements."""
    return presentation.upstream_sentence(view, html=True)


@register.simple_tag
def upstream_note(view: Any, outage_id: int) -> str:
    return presentation.upstream_note(view, outage_id=outage_id)


@register.filter
def track_lead(minutes: float | None) -> str:
    """A track-record lead time in words: "14 min earlier", "3 min later"."""
    return presentation.track_record_lead(minutes)
