"""Reads of the official status for pages, the API, alerts and the track record.

Data only (frozen dataclasses of plain values): the words people read are built from them in
detection.presentation. Everything a service is shown comes through its link
(ServiceStatusSource): with ``components`` set, only that part of a shared page counts, see
``concerns``. The state shown is the source's last good payload; ``stale`` says when that
is too old to be called the current status (OFFICIAL_STALE_SECONDS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from detection.models import Outage
from detection.official.matching import ACK_GRACE, SLACK, CrowdOutage, Incident, matches
from detection.official.models import OfficialIncident, ServiceStatusSource, StatusSource
from detection.official.parsers import COMPONENT_INDICATOR, INDICATORS
from reports.models import Service

# Documents that list every component of the page, affected or not: only on those does a
# component name the page does not use prove a link's guess wrong (``_wanted``). An
# incident.io document names only the components its open incidents affect, a feed none,
# and a page never read names nothing yet: their silence about a name says nothing.
FULL_COMPONENT_LISTS = frozenset({StatusSource.Kind.STATUSPAGE, StatusSource.Kind.STATUSIO})


@dataclass(frozen=True)
class OfficialIncidentView:
    id: int
    source_id: int
    external_id: str
    title: str
    status: str  # the provider's word: investigating, identified, monitoring, resolved...
    impact: str  # none | minor | major | critical | maintenance | "" (not said)
    components: tuple[str, ...]
    url: str  # the provider's page of the incident, or ""
    started_at: datetime  # when the provider says the impact began
    acknowledged_at: datetime  # when the provider first published it
    resolved_at: datetime | None
    updated_at: datetime  # the provider's last update

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class OfficialStatus:
    service_id: int
    source_id: int
    kind: str  # statuspage | incidentio | statusio | feed
    page_url: str  # the status page for people (may be "")
    indicator: str  # none | minor | major | critical | maintenance | "" (never read yet)
    description: str  # the provider's own summary, "" when it does not fit this service
    components: dict[str, str]  # this service's components -> their status word
    open_incidents: tuple[OfficialIncidentView, ...]  # newest first
    last_success_at: datetime | None  # the last poll that read the page (or a 304)
    last_error: str  # why the last failed poll failed ("" if none)
    failures: int  # failed polls in a row (0: the last poll worked)
    stale: bool  # no good read for OFFICIAL_STALE_SECONDS: do not call it current


def official_status(*, service: Service, now: datetime | None = None) -> OfficialStatus | None:
    """The service's official status now, or None when it has no official source.

    The indicator is the page's, or with components named for the service the worst of
    those components; open incidents are those that concern the service (``concerns``).
    Component names that the page does not use count as none: the whole page stands for
    the service."""
    return official_statuses(services=[service], now=now).get(service.pk)


def official_statuses(
    *, services: Iterable[Service], now: datetime | None = None
) -> dict[int, OfficialStatus]:
    """official_status for many services in two queries (the status board): service id ->
    status, services without an official source left out."""
    now = now or timezone.now()
    links = list(
        ServiceStatusSource.objects.filter(
            service__in=list(services), source__enabled=True
        ).select_related("source")
    )
    open_rows: dict[int, list[OfficialIncident]] = {}
    for row in OfficialIncident.objects.filter(
        source__in={link.source_id for link in links}, resolved_at__isnull=True
    ).order_by("-started_at", "-pk"):
        open_rows.setdefault(row.source_id, []).append(row)
    return {
        link.service_id: _status(link, open_rows.get(link.source_id, []), now=now) for link in links
    }


def official_incidents_between(
    *, service: Service, start: datetime, end: datetime
) -> list[OfficialIncidentView]:
    """The service's official incidents whose time overlaps [start, end] (open ones run to
    now), oldest first: what an outage page links, what the track record matches."""
    link = ServiceStatusSource.objects.filter(service=service).select_related("source").first()
    if link is None:
        return []
    return links_incidents(links=[link], start=start, end=end).get(service.pk, [])


def links_incidents(
    *, links: Sequence[ServiceStatusSource], start: datetime, end: datetime
) -> dict[int, list[OfficialIncidentView]]:
    """service id -> the official incidents of its link's source that concern it and overlap
    [start, end], oldest first, in one query (links with their source loaded).

    The one read behind both the outage page's incident and the track record, so the two
    cannot disagree about which incidents a service has. An incident row is shown whether or
    not its page has been read since: it was read from the page (or written by simulate)."""
    by_source: dict[int, list[ServiceStatusSource]] = {}
    for link in links:
        by_source.setdefault(link.source_id, []).append(link)
    rows = (
        OfficialIncident.objects.filter(source_id__in=by_source.keys(), started_at__lte=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
        .order_by("started_at", "pk")
    )
    out: dict[int, list[OfficialIncidentView]] = {link.service_id: [] for link in links}
    for row in rows:
        for link in by_source[row.source_id]:
            if link_concerns(link, row.components, row.title):
                out[link.service_id].append(_view(row))
    return out


def source_read(source: StatusSource) -> bool:
    """Whether the source's page has ever been read: only then may a surface say that the
    provider has *not* posted something ("not yet", "never acknowledged"). An incident it
    did post needs no read to be shown: its row is the evidence."""
    return source.last_success_at is not None


def official_incident_acknowledged_at(*, incident_id: int) -> datetime | None:
    """When the provider first published the incident (None: no such incident).

    The provider's own earliest stamp (created_at or its first update), unless a successful
    read of the page after that stamp did not show it (a backdated post): then the first
    moment it can have been public. Never changes once the incident is stored, so lead times
    against it are stable (detection.official.services)."""
    return (
        OfficialIncident.objects.filter(pk=incident_id)
        .values_list("acknowledged_at", flat=True)
        .first()
    )


def concerns(wanted: list[str], components: Iterable[str], title: str) -> bool:
    """Whether an incident concerns a service narrowed to ``wanted`` components: it names
    one of them (case-insensitively, in its components or title), or it names no component
    at all (its scope is unknown: shown rather than hidden)."""
    names = [name.lower() for name in components]
    if not wanted or not names:
        return True
    text = " ".join([*names, title.lower()])
    return any(want.lower() in text for want in wanted)


def _status(
    link: ServiceStatusSource, rows: list[OfficialIncident], *, now: datetime
) -> OfficialStatus:
    source: StatusSource = link.source
    wanted = _wanted(link)
    components = _components(wanted, source.components)
    concerning = tuple(_view(row) for row in rows if concerns(wanted, row.components, row.title))
    indicator, description = source.indicator, source.description
    if components:
        worst = min(
            (COMPONENT_INDICATOR.get(status, "minor") for status in components.values()),
            key=INDICATORS.index,
        )
        if worst != indicator:
            indicator, description = worst, ""
    elif wanted and source.components:
        # A page listing only its affected components (incident.io) names others but none of
        # this service's: the page's indicator is theirs. This service's is the worst of the
        # open incidents that concern it (those naming no component), else all clear.
        impacts = [i.impact for i in concerning if i.impact in INDICATORS]
        worst = min(impacts, key=INDICATORS.index, default="none")
        if worst != indicator:
            indicator, description = worst, ""
    stale_after = timedelta(seconds=settings.OFFICIAL_STALE_SECONDS)
    return OfficialStatus(
        service_id=link.service_id,
        source_id=source.pk,
        kind=source.kind,
        page_url=source.page_url,
        indicator=indicator,
        description=description,
        components=components or dict(source.components),
        open_incidents=concerning,
        last_success_at=source.last_success_at,
        last_error=source.last_error if source.failures else "",
        failures=source.failures,
        stale=source.last_success_at is None or now - source.last_success_at > stale_after,
    )


def link_concerns(link: ServiceStatusSource, components: Iterable[str], title: str) -> bool:
    """Whether an incident of the link's source concerns the link's service (``concerns``
    with the link's components; the link's source must be loaded)."""
    return concerns(_wanted(link), components, title)


def _wanted(link: ServiceStatusSource) -> list[str]:
    """The link's component names, or [] (the whole page) when a page that lists all its
    components (FULL_COMPONENT_LISTS) uses none of them: a guess proven wrong must not hide
    the provider's incidents. A page that lists only some components, or none yet, cannot
    prove a name wrong, and an incident naming only other components is explicit that it is
    not this service's (an OpenAI incident naming "ChatGPT" is not the API's)."""
    source = link.source
    disproved = (
        source.kind in FULL_COMPONENT_LISTS
        and bool(source.components)
        and not _components(link.components, source.components)
    )
    return [] if disproved else list(link.components)


def _components(wanted: list[str], page: dict[str, str]) -> dict[str, str]:
    """The page's components that are the service ({} for the whole page)."""
    return {
        name: status
        for name, status in page.items()
        if any(want.lower() in name.lower() for want in wanted)
    }


def _view(row: OfficialIncident) -> OfficialIncidentView:
    return OfficialIncidentView(
        id=row.pk,
        source_id=row.source_id,
        external_id=row.external_id,
        title=row.title,
        status=row.status,
        impact=row.impact,
        components=tuple(row.components),
        url=row.url,
        started_at=row.started_at,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True)
class OutageOfficial:
    """An outage against its service's official status page (detection.official.matching)."""

    # There is something to say: a matching incident (its row is the evidence), or a page we
    # have read, which may say "not yet" or "never" (source_read). False: say nothing.
    has_source: bool
    incident: OfficialIncidentView | None  # the matching incident acknowledged first
    lead: timedelta | None  # its acknowledgement minus the detection: positive, crowd first
    waiting: bool  # no incident yet, and the provider may still post one (ACK_GRACE)


def crowd_outage(
    *,
    outage_id: int,
    service: str,
    started_at: datetime,
    detected_at: datetime,
    resolved_at: datetime | None,
    active: bool,
) -> CrowdOutage:
    """An outage as matching sees it (the outage page's and the track record's alike): an
    active one runs to now, whatever end an earlier episode left in its resolved_at."""
    return CrowdOutage(outage_id, service, started_at, detected_at, None if active else resolved_at)


def matchable(view: OfficialIncidentView, *, service: str) -> Incident:
    """An official incident as matching sees it, charged to one service of its page."""
    return Incident(
        view.id, service, view.impact, view.started_at, view.acknowledged_at, view.resolved_at
    )


def outage_official(*, outage: Outage, now: datetime | None = None) -> OutageOfficial:
    """The official incident of an outage and the lead time, by the track record's rules:
    the same incidents (links_incidents), the same matching (matching.matches over those
    within SLACK of the outage's span) and the same reading of silence (source_read)."""
    now = now or timezone.now()
    link = (
        ServiceStatusSource.objects.filter(service_id=outage.service_id)
        .select_related("source")
        .first()
    )
    if link is None:
        return OutageOfficial(has_source=False, incident=None, lead=None, waiting=False)
    end = outage.resolved_at if outage.resolved_at and not outage.is_active else now
    views = links_incidents(links=[link], start=outage.started_at - SLACK, end=end + SLACK)[
        outage.service_id
    ]
    crowd = crowd_outage(
        outage_id=outage.pk,
        service="",
        started_at=outage.started_at,
        detected_at=outage.detected_at,
        resolved_at=outage.resolved_at,
        active=outage.is_active,
    )
    found = matches([crowd], [matchable(v, service="") for v in views], now=now)
    if found:
        incident = next(v for v in views if v.id == found[0].incident_id)
        return OutageOfficial(has_source=True, incident=incident, lead=found[0].lead, waiting=False)
    if not source_read(link.source):
        # A page never read says nothing, not even "not acknowledged".
        return OutageOfficial(has_source=False, incident=None, lead=None, waiting=False)
    waiting = outage.is_active or now - outage.started_at < ACK_GRACE
    return OutageOfficial(has_source=True, incident=None, lead=None, waiting=waiting)
