"""The track record's method: which crowd outage is which official incident, and who knew first.

Pure Python (no Django): detection.official.track_record reads the rows and calls these, and
the track-record page prints METHOD so readers can check the numbers.

- A crowd outage and an official incident of the same service match when their times overlap,
  give or take SLACK: the incident's span runs from the earlier of its start and its
  acknowledgement to its resolution (or now), the outage's from its onset to its end (or now).
- An outage's incident is the matching one the provider acknowledged first; the lead time is
  that acknowledgement minus the moment OutageWatch detected the outage (positive: the crowd
  knew first).
- Scheduled maintenance is not an incident. An outage that started less than ACK_GRACE ago and
  has no incident yet is not counted as never acknowledged: providers may still post.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SLACK = timedelta(minutes=30)
ACK_GRACE = timedelta(hours=6)
MAINTENANCE = "maintenance"

METHOD = (
    "A crowd outage and an official incident of the same service match when their times "
    f"overlap, give or take {int(SLACK.total_seconds() // 60)} minutes. The lead time is when "
    "the provider first published the incident minus when OutageWatch detected the outage: "
    "positive when the crowd knew first. Scheduled maintenance is left out. An outage counts "
    "as never acknowledged only once it is "
    f"{int(ACK_GRACE.total_seconds() // 3600)} hours old without a matching incident, and only "
    "for services whose machine-readable status page we have read. An incident of a status "
    "page several services share counts for the services it names, and once in the overall "
    "figures."
)


@dataclass(frozen=True)
class CrowdOutage:
    id: int
    service: str
    started_at: datetime
    detected_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Incident:
    id: int
    service: str
    impact: str
    started_at: datetime
    acknowledged_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Match:
    outage_id: int
    incident_id: int
    lead: timedelta  # acknowledgement minus detection: positive when the crowd was first
    # The service both concern: one incident of a shared status page (Google's, GitHub's) is
    # one row per service it concerns, and seen by the crowd only where it matched.
    service: str = ""


@dataclass(frozen=True)
class Record:
    """One service's (or everyone's) figures over one span."""

    outages: int  # crowd outages that started in the span
    incidents: int  # distinct official incidents (not maintenance) that started in the span
    matched_incidents: int  # of those, seen by the crowd too
    unseen_incidents: int  # official incidents the crowd never saw
    unacknowledged_outages: int  # crowd outages of services with a source, no incident
    leads: tuple[float, ...]  # lead times in minutes, one per matched outage

    @property
    def median_lead(self) -> float | None:
        return statistics.median(self.leads) if self.leads else None

    @property
    def p90_lead(self) -> float | None:
        return _quantile(self.leads, 0.9)


def matches(
    outages: Sequence[CrowdOutage], incidents: Sequence[Incident], *, now: datetime
) -> list[Match]:
    """Each outage with the matching incident its provider acknowledged first."""
    by_service: dict[str, list[Incident]] = {}
    for incident in incidents:
        if incident.impact != MAINTENANCE:
            by_service.setdefault(incident.service, []).append(incident)
    out = []
    for outage in outages:
        overlapping = [
            i for i in by_service.get(outage.service, []) if _overlap(outage, i, now=now)
        ]
        if overlapping:
            first = min(overlapping, key=lambda i: (i.acknowledged_at, i.id))
            lead = first.acknowledged_at - outage.detected_at
            out.append(Match(outage.id, first.id, lead, outage.service))
    return out


def record(
    outages: Sequence[CrowdOutage],
    incidents: Sequence[Incident],
    found: Iterable[Match],
    *,
    with_source: set[str],
    since: datetime,
    now: datetime,
) -> Record:
    """The figures over [since, now] for these outages and incidents (one service's or all).

    ``found``: matches() over a wider span, so that an outage just inside the span still finds
    an incident that began before it; ``with_source``: services with an official source."""
    found = list(found)
    in_span = [o for o in outages if o.started_at >= since]
    official = [i for i in incidents if i.impact != MAINTENANCE and i.started_at >= since]
    matched_outages = {m.outage_id: m for m in found}
    matched_incidents = {(m.incident_id, m.service) for m in found}
    leads = tuple(
        matched_outages[o.id].lead.total_seconds() / 60 for o in in_span if o.id in matched_outages
    )
    unacknowledged = sum(
        1
        for o in in_span
        if o.service in with_source
        and o.id not in matched_outages
        and now - o.started_at >= ACK_GRACE
    )
    # An incident of a shared page is one pair per service it concerns: counted once, and
    # seen when the crowd saw it on any of them (everyone's figures; one service's have one
    # pair per incident anyway).
    posted = {i.id for i in official}
    seen = {i.id for i in official if (i.id, i.service) in matched_incidents}
    return Record(
        outages=len(in_span),
        incidents=len(posted),
        matched_incidents=len(seen),
        unseen_incidents=len(posted) - len(seen),
        unacknowledged_outages=unacknowledged,
        leads=leads,
    )


def _overlap(outage: CrowdOutage, incident: Incident, *, now: datetime) -> bool:
    outage_end = outage.resolved_at or now
    start = min(incident.started_at, incident.acknowledged_at)
    end = incident.resolved_at or now
    return start <= outage_end + SLACK and end >= outage.started_at - SLACK


def _quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
