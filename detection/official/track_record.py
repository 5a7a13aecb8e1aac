"""The public track record: crowd outages against official incidents, per service and overall.

A read (data only): the rows of the last max(SPANS) days, matched by
detection.official.matching, whose METHOD the page prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from django.utils import timezone

from detection.cache import cached_read
from detection.models import Outage
from detection.official.matching import (
    METHOD,
    SLACK,
    CrowdOutage,
    Incident,
    Match,
    Record,
    matches,
    record,
)
from detection.official.models import ServiceStatusSource
from detection.official.selectors import crowd_outage, links_incidents, matchable, source_read
from reports.models import Service

SPANS = (30, 90)


@dataclass(frozen=True)
class ServiceRecord:
    slug: str
    name: str
    has_source: bool  # the provider publishes a status page we have read (source_read)
    records: dict[int, Record]  # days -> figures


@dataclass(frozen=True)
class TrackRecord:
    now: datetime
    spans: tuple[int, ...]
    overall: dict[int, Record]
    services: tuple[ServiceRecord, ...]  # services with an outage or an incident, busiest first
    method: str = METHOD


def track_record_cached() -> TrackRecord:
    """track_record() now, cached under the data version: each tick bumps it, and so does a
    poll that changes what the official pages show (detection.official.services), so a new
    incident counts within a poll; a read costs a cache hit in between."""
    return cached_read("track-record", track_record)


def track_record(*, now: datetime | None = None) -> TrackRecord:
    """The figures over each of SPANS days up to now."""
    now = now or timezone.now()
    # Rows a little older than the longest span still match outages inside it.
    since = now - timedelta(days=max(SPANS)) - SLACK - timedelta(days=1)
    outages = _outages(since)
    incidents, with_source = _incidents(since, now)
    found = matches(outages, incidents, now=now)
    names = dict(Service.objects.values_list("slug", "name"))

    def spans(
        outs: list[CrowdOutage], incs: list[Incident], matched: list[Match]
    ) -> dict[int, Record]:
        return {
            d: record(
                outs, incs, matched, with_source=with_source, since=now - timedelta(days=d), now=now
            )
            for d in SPANS
        }

    overall = spans(outages, incidents, found)
    # Each service's own outages, incidents and matches, sorted out in one pass over each:
    # filtering the whole lists again for every service was quadratic in the catalog.
    outages_of, incidents_of = _by_service(outages), _by_service(incidents)
    found_of = _by_service(found)
    rows = []
    for slug in outages_of.keys() | incidents_of.keys():
        records = spans(
            outages_of.get(slug, []), incidents_of.get(slug, []), found_of.get(slug, [])
        )
        longest = records[max(SPANS)]
        if longest.outages or longest.incidents:
            rows.append(ServiceRecord(slug, names.get(slug, slug), slug in with_source, records))
    rows.sort(
        key=lambda r: (-r.records[max(SPANS)].outages, -r.records[max(SPANS)].incidents, r.name)
    )
    return TrackRecord(now=now, spans=SPANS, overall=overall, services=tuple(rows))


class _OfService(Protocol):
    @property
    def service(self) -> str: ...


T = TypeVar("T", bound=_OfService)


def _by_service(items: Iterable[T]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = {}
    for item in items:
        grouped.setdefault(item.service, []).append(item)
    return grouped


def _outages(since: datetime) -> list[CrowdOutage]:
    # The public catalog's services only, as every other list: a retired one's pages are gone.
    rows = Outage.objects.filter(started_at__gte=since, service__is_active=True).values_list(
        "id", "service__slug", "started_at", "detected_at", "resolved_at", "status"
    )
    return [
        crowd_outage(
            outage_id=pk,
            service=slug,
            started_at=started,
            detected_at=detected,
            resolved_at=resolved,
            active=status == Outage.Status.ACTIVE,
        )
        for pk, slug, started, detected, resolved, status in rows
    ]


def _incidents(since: datetime, now: datetime) -> tuple[list[Incident], set[str]]:
    """Every (incident, service) pair the incident concerns, read as the outage page reads
    them (links_incidents), and the services whose page has been read (source_read): only
    those can have an outage the provider "never acknowledged", as on the outage page."""
    links = list(
        ServiceStatusSource.objects.filter(service__is_active=True).select_related(
            "service", "source"
        )
    )
    slugs = {link.service_id: link.service.slug for link in links}
    out = [
        matchable(view, service=slugs[service_id])
        for service_id, views in links_incidents(links=links, start=since, end=now).items()
        for view in views
    ]
    return out, {link.service.slug for link in links if source_read(link.source)}
