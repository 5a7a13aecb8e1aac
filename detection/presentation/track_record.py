"""The track record: how early the crowd saw what the providers' status pages later said."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from detection.presentation.words import duration_text

if TYPE_CHECKING:
    from detection.official.matching import Record


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
