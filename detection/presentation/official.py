"""The provider's own status page beside the crowd (detection.official): what it says now on
the service page, the incident an outage matches and who knew first on the outage page, and
whether the provider has said anything yet in alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from detection.presentation.times import TIME, render, time_in_zone

if TYPE_CHECKING:
    from detection.official.selectors import OfficialStatus, OutageOfficial


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
        return render(f"Last read at {TIME}.", at, html=html, now=now)
    if status.failures:
        return render(
            f"The official status page could not be read since {TIME}.", at, html=html, now=now
        )
    return render(
        f"The official status page has not been read since {TIME}: what it said then may be "
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
