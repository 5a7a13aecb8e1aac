"""Outages as the pages, feeds and API list them: filtered lists and a poller's watermark, one
outage with its timeline, countries, problems and runs, a service's history, the cold start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from detection.models import Outage, OutageEvent
from detection.reads import Reads, services_cold
from detection.selectors.common import _country_codes, _problem_names
from detection.transactions import open_transactions
from reports.cache import catalog_service
from reports.models import Service


def outage_list(
    *,
    service: Service | None = None,
    country: str = "",
    status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    updated_since: datetime | None = None,
) -> QuerySet[Outage]:
    """Outages of the catalog's active services, newest first. since/until keep those that
    overlap [since, until): resolved_at is the first minute after an outage, so one that
    ended at `since` does not (a client polling with its last resolved_at got it again).
    updated_since keeps those changed since (a poller's last poll: an outage resolved after
    it but ended before it fell outside every overlap, API tester, forty-fourth session)."""
    outages = (
        Outage.objects.filter(service__is_active=True)
        .select_related("service")
        .order_by("-started_at", "-id")
    )
    if service is not None:
        outages = outages.filter(service=service)
    if country:
        outages = outages.filter(_in_country(country))
    if status:
        outages = outages.filter(status=status)
    if since is not None:
        outages = outages.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=since))
    if until is not None:
        outages = outages.filter(started_at__lt=until)
    if updated_since is not None:
        outages = outages.filter(updated_at__gte=updated_since)
    return outages


# Where the database cannot say which transactions are still open (SQLite, the development
# default), a poller resumes this far behind the read: a detection tick (one transaction) commits
# well within its minute, and a change seen twice costs a duplicate, one never seen is lost.
UNSEEN_WRITES_LAG = timedelta(seconds=60)
# On PostgreSQL, what may separate a stamp from the start of the transaction that writes it: a
# save stamps updated_at in Python just before its first statement begins the transaction, and
# the web and worker hosts' clocks differ by what NTP leaves (docs/deployment.md).
STAMP_MARGIN = timedelta(seconds=2)


def outages_updated_until() -> datetime:
    """Where a poller of `updated_since` resumes: every outage change stamped before this time
    is visible to a read that starts after this call, so call it before the read.

    The time of the poller's own last poll was not: the detector stamps updated_at inside its
    tick's transaction and commits seconds later, and a poll in between neither saw the change
    nor asked for it again (API tester, fifty-first session). Stamps are on the app's clock,
    so this is too: the read's time, moved back by how long the oldest open transaction has
    been open (measured by the database) and the stamp margin. Never after the read's time.
    """
    read_at = timezone.now()
    if connection.vendor != "postgresql":
        return read_at - UNSEEN_WRITES_LAG
    # Every open transaction counts, not only those that wrote already: a stamp is taken
    # before the write that gives its transaction an xid.
    found = open_transactions(Outage._meta.db_table)
    open_for = found.now - found.oldest_start if found.oldest_start else timedelta(0)
    until = read_at - max(open_for, timedelta(0)) - STAMP_MARGIN
    if found.unseen:  # a transaction of unknown age may hold a change: as where none can be seen
        until = min(until, read_at - UNSEEN_WRITES_LAG)
    return until


def _in_country(country: str) -> Q:
    """Outages that affect this country: those that name it, and those with no country
    standing out (`countries: []`), which are everywhere (alerts tell every follower of
    them, whatever countries they follow)."""
    # A JSON text match works on SQLite and PostgreSQL alike; the quotes stop "DE" from
    # matching inside another token. `[]` compares as JSON on both.
    return Q(countries__icontains=f'"{country}"') | Q(countries=[])


def outage_get(*, outage_id: int) -> Outage:
    """The outage (its timeline: outage_timeline); raises Outage.DoesNotExist."""
    return Outage.objects.select_related("service", "service__category").get(
        pk=outage_id, service__is_active=True
    )


# The newest events an outage's page and API answer list: a long outage of a giant service
# writes a new peak, a country or a lull most minutes, and every one of them was listed.
TIMELINE_EVENTS = 50
# The events "How we decided" quotes (presentation.decision_details): all of them, however
# old; one an opening and one a country that joined (again after a relapse).
_EVIDENCE = (OutageEvent.Kind.OPENED, OutageEvent.Kind.COUNTRY)


@dataclass(frozen=True)
class OutageTimeline:
    events: list[OutageEvent]  # the newest `limit`, oldest first
    earlier: int  # the events before those, not listed
    evidence: list[OutageEvent]  # the openings and countries, oldest first


def outage_timeline(*, outage: Outage, limit: int = TIMELINE_EVENTS) -> OutageTimeline:
    """The outage's newest `limit` events, how many came before, and the decision's evidence:
    one query while the outage has no more than `limit` events, three beyond."""
    newest = list(outage.events.order_by("-at", "-id")[:limit])[::-1]
    if len(newest) < limit:
        return OutageTimeline(newest, 0, [e for e in newest if e.kind in _EVIDENCE])
    earlier = outage.events.count() - len(newest)
    evidence = list(outage.events.filter(kind__in=_EVIDENCE).order_by("at", "id"))
    return OutageTimeline(newest, earlier, evidence)


def outage_events(*, outage: Outage) -> QuerySet[OutageEvent]:
    """Every event of the outage, for the API's pages of its whole timeline."""
    return outage.events.all()


def outage_final_event(*, outage: Outage) -> int | None:
    """The id of the resolved outage's last "resolved" event, its end ("Back to normal"), for
    a page of its events that may not hold it (presentation.timeline); None while open."""
    if outage.is_active:
        return None
    rows = outage.events.filter(kind=OutageEvent.Kind.RESOLVED).order_by("-at", "-id")
    return rows.values_list("id", flat=True).first()


def outage_countries(outage: Outage) -> list[str]:
    return _country_codes(outage.countries)


def outage_problems(outage: Outage) -> list[dict[str, Any]]:
    """Top problems as [{"problem", "name", "count"}], most reported first."""
    items = [p for p in outage.top_problems or [] if isinstance(p, dict) and p.get("problem")]
    slugs = [p["problem"] for p in items]
    # From the catalog held in process: a page of outages (API, feed) costs no query each.
    entry = catalog_service(outage.service.slug) if slugs else None
    names = {slug: problem.name for slug, problem in (entry.problems if entry else {}).items()}
    missing = [slug for slug in slugs if slug not in names]
    if missing:  # an inactive service, or a problem since removed from it
        names |= _problem_names(missing)
    return [
        {
            "problem": p["problem"],
            "name": names.get(p["problem"], p["problem"]),
            "count": int(p.get("count", 0)),
        }
        for p in items
    ]


HISTORY_LIMIT = 10


def outage_history(
    *, service: Service, limit: int = HISTORY_LIMIT, reads: Reads | None = None
) -> list[Outage]:
    return outages_cold_marked(list(outage_list(service=service)[:limit]), reads=reads)


def outages_cold_marked(outages: list[Outage], *, reads: Reads | None = None) -> list[Outage]:
    """Each outage marked (`cold_start`) with whether its service has no history yet, so
    that a list or feed claims no "normal" beside its peak (explain tester F2); one query at
    most (none when `reads`, the read this is part of, knows already)."""
    unknown = {outage.service_id for outage in outages if outage.judged_cold is None}
    cold = (reads or Reads()).cold(unknown)
    for outage in outages:
        judged = outage.judged_cold
        outage.cold_start = outage.service_id in cold if judged is None else judged
    return outages


def outage_cold(outage: Outage) -> bool:
    """Whether the outage was judged on a cold start: as recorded when it opened, else (an
    outage opened before that was recorded) whether its service has no history yet
    (services_cold); as marked by outages_cold_marked for a list, else read (one query)."""
    marked = getattr(outage, "cold_start", None)
    if marked is None and outage.judged_cold is not None:
        marked = outage.cold_start = outage.judged_cold
    if marked is None:
        marked = outage.cold_start = outage.service_id in services_cold(
            service_ids=[outage.service_id]
        )
    return marked


def outage_spans(outages: Sequence[Outage]) -> list[tuple[datetime, datetime | None]]:
    """The charts' shading: each outage's runs of problems, one span each (None: going on).
    An outage that stopped and came back has one per run: its lulls were back to normal, as
    its timeline says ("Seemed over"), and one band across them showed them as problems
    (pages tester F21). One query, for the outages that had a lull only."""
    paused = [o.pk for o in outages if o.paused_minutes]
    marks: dict[int, list[tuple[str, datetime | None]]] = {}
    if paused:
        kinds = (OutageEvent.Kind.RESOLVED, OutageEvent.Kind.REOPENED)
        rows = OutageEvent.objects.filter(outage_id__in=paused, kind__in=kinds).order_by("id")
        for outage_id, kind, since in rows.values_list("outage_id", "kind", "since"):
            marks.setdefault(outage_id, []).append((kind, since))
    spans: list[tuple[datetime, datetime | None]] = []
    for outage in outages:
        start, lull = outage.started_at, None
        for kind, since in marks.get(outage.pk, ()):
            if kind == OutageEvent.Kind.RESOLVED:
                lull = since
            elif lull is not None and since is not None and since > lull:
                spans.append((start, lull))
                start, lull = since, None
        spans.append((start, outage.resolved_at))
    return spans


def outage_count(*, service: Service, shown: Sequence[Outage] = ()) -> int:
    """How many outages the service has; no query when ``shown`` (its newest, as
    outage_history returns them) is already all of them."""
    if len(shown) < HISTORY_LIMIT:
        return len(shown)
    return outage_list(service=service).count()
