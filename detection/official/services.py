"""Writes of the official status poller: claim due sources, poll one, load the data file.

One poll: a conditional GET (If-None-Match / If-Modified-Since from the last good payload;
304 changes nothing but the poll times) through outagewatch.outbound (public addresses
only, no redirects followed, timeouts, capped body), the payload parsed completely
(detection.official.parsers), then the source's state and its incidents written in one
transaction. Anything refused or failed is logged with its reason, leaves the last good
state as it was and pushes the next poll back exponentially (OFFICIAL_POLL_SECONDS * 2**n,
capped at OFFICIAL_BACKOFF_MAX_SECONDS); the first good poll resets the count.

The acknowledgement time of an incident is when the provider first published it: its own
earliest stamp (created_at, the first update), except that a page we read successfully after
that stamp without the incident on it shows the stamp was backdated; then the earliest time
it can have been public is that read. Set once, when the incident is first seen.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.services import alerts_notify
from detection.cache import data_version_bump
from detection.models import Outage
from detection.official.models import (
    OfficialIncident,
    OfficialIncidentUpdate,
    ServiceStatusSource,
    StatusHost,
    StatusSource,
)
from detection.official.parsers import ParsedIncident, ParsedUpdate, PayloadError, Snapshot, parse
from detection.official.selectors import link_concerns, outage_official
from detection.official.tasks import official_source_poll_task
from outagewatch import outbound
from reports.models import FormerSlug, Service

logger = logging.getLogger("detection.official")

USER_AGENT = "OutageWatch-StatusPoller/1.0 (+https://github.com/outagewatch)"
SOURCES_FILE = Path(__file__).with_name("sources.json")
SWEEP_LIMIT = 500  # sources claimed per sweep at most; the rest wait for the next one
HOST_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class PollResult:
    outcome: str  # updated | not_modified | refused | failed | missing
    reason: str = ""
    opened: int = 0
    resolved: int = 0


# --- the sweeper -----------------------------------------------------------------------------


def official_sweep(*, now: datetime | None = None) -> list[int]:
    """Claim the sources that are due, each only if its host has a request left in this
    minute's budget, and queue one poll task for each after commit. A claim moves the
    source's next_poll_at a lease ahead, so a poll lost with its worker is retried then."""
    now = now or timezone.now()
    due = StatusSource.objects.filter(enabled=True, next_poll_at__lte=now).order_by("next_poll_at")
    claimed = []
    for pk, host, due_at in due.values_list("pk", "host", "next_poll_at")[:SWEEP_LIMIT]:
        if not _host_request_take(host=host, now=now):
            continue  # stays due: the next sweep tries again
        lease = now + timedelta(seconds=settings.OFFICIAL_CLAIM_SECONDS)
        if StatusSource.objects.filter(pk=pk, next_poll_at=due_at).update(next_poll_at=lease):
            claimed.append(pk)
    for pk in claimed:
        transaction.on_commit(functools.partial(official_source_poll_task.delay, source_id=pk))
    return claimed


def _host_request_take(*, host: str, now: datetime) -> bool:
    """One request from the host's budget for the current minute (a fixed window), taken by
    conditional UPDATE so two sweepers cannot both spend the last one."""
    StatusHost.objects.get_or_create(host=host, defaults={"window_started_at": now})
    rows = StatusHost.objects.filter(host=host)
    if rows.filter(window_started_at__lte=now - HOST_WINDOW).update(
        window_started_at=now, requests=1
    ):
        return True
    budget = settings.OFFICIAL_HOST_REQUESTS_PER_MINUTE
    return bool(rows.filter(requests__lt=budget).update(requests=F("requests") + 1))


# --- one poll --------------------------------------------------------------------------------


def status_source_poll(*, source_id: int, now: datetime | None = None) -> PollResult:
    """Poll one source and store what it says; never raises for anything the server does."""
    now = now or timezone.now()
    source = StatusSource.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return PollResult("missing")
    try:
        response = _fetch(source)
    except outbound.OutboundError as exc:
        return _poll_failed(source, now=now, outcome="failed", reason=str(exc))
    if response.status == 304 and (source.etag or source.last_modified):
        StatusSource.objects.filter(pk=source.pk).update(
            last_polled_at=now, last_success_at=now, failures=0, next_poll_at=_next_poll(now)
        )
        return PollResult("not_modified")
    reason = _refusal(response)
    if reason:
        outcome = "failed" if response.status >= 400 else "refused"
        return _poll_failed(source, now=now, outcome=outcome, reason=reason)
    try:
        snapshot = parse(source.kind, response.body, now=now)
    except PayloadError as exc:
        return _poll_failed(source, now=now, outcome="refused", reason=f"payload refused: {exc}")
    return _snapshot_store(source.pk, snapshot, response=response, now=now)


def _fetch(source: StatusSource) -> outbound.Response:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/xml, */*"}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    return outbound.request(
        "GET",
        source.url,
        headers=headers,
        timeout=settings.OFFICIAL_HTTP_TIMEOUT_SECONDS,
        max_bytes=settings.OFFICIAL_MAX_BODY_BYTES,
        allow_loopback=settings.OFFICIAL_HTTP_ALLOW_LOOPBACK,
    )


def _refusal(response: outbound.Response) -> str:
    """Why a (non-304) answer cannot be read as the page's state, or ""."""
    if response.status == 304:
        return "HTTP 304 to a request that was not conditional"
    if 300 <= response.status < 400:
        where = response.headers.get("location", "")[:200] or "nowhere"
        return f"HTTP {response.status}: redirect to {where} not followed"
    if response.status != 200:
        return f"HTTP {response.status}"
    if response.truncated:
        return f"payload refused: larger than {settings.OFFICIAL_MAX_BODY_BYTES} bytes"
    return ""


def _next_poll(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.OFFICIAL_POLL_SECONDS)


def _backoff(failures: int) -> timedelta:
    seconds = settings.OFFICIAL_POLL_SECONDS * 2 ** min(failures, 20)
    return timedelta(seconds=min(seconds, settings.OFFICIAL_BACKOFF_MAX_SECONDS))


def _poll_failed(source: StatusSource, *, now: datetime, outcome: str, reason: str) -> PollResult:
    failures = source.failures + 1
    logger.warning(
        "Official status %s from %s (failure %d in a row): %s",
        outcome,
        source.url,
        failures,
        reason,
    )
    # Only the poll bookkeeping changes: the last good state stays what the pages show.
    StatusSource.objects.filter(pk=source.pk).update(
        failures=F("failures") + 1,
        last_error=reason[:500],
        last_error_at=now,
        last_polled_at=now,
        next_poll_at=now + _backoff(failures),
    )
    return PollResult(outcome, reason=reason)


def _snapshot_store(
    source_id: int, snapshot: Snapshot, *, response: outbound.Response, now: datetime
) -> PollResult:
    with transaction.atomic():
        source = StatusSource.objects.select_for_update().get(pk=source_id)
        shown = _shown(source)
        opened, resolved = _incidents_store(source, snapshot, now=now)
        _acknowledgements_notify(source, now=now)
        source.indicator = snapshot.indicator
        source.description = snapshot.description
        source.components = snapshot.components
        source.etag = response.headers.get("etag", "")[:300]
        source.last_modified = response.headers.get("last-modified", "")[:100]
        source.last_polled_at = source.last_success_at = now
        source.failures = 0
        source.next_poll_at = _next_poll(now)
        source.save()
        if _shown(source) != shown:
            # Pages and API answers are cached until the next tick: show the news now.
            transaction.on_commit(data_version_bump)
    return PollResult("updated", opened=opened, resolved=resolved)


def _shown(source: StatusSource) -> tuple:
    """What pages show of the source besides the time of the last read."""
    incidents = source.incidents.filter(resolved_at__isnull=True).order_by("pk")
    rows = incidents.values_list("pk", "title", "status", "url", "started_at")
    return (source.indicator, source.description, source.components, list(rows))


def _acknowledgements_notify(source: StatusSource, *, now: datetime) -> None:
    """Tell alerts about each open outage that an incident first seen in this poll is the
    provider's acknowledgement of (matching rules: detection.official.selectors), inside
    the poll's transaction; alerts sends one notice per outage and subscriber at most."""
    new = list(source.incidents.filter(first_seen_at=now))
    if not new:
        return
    for link in source.links.select_related("source"):
        if not any(link_concerns(link, row.components, row.title) for row in new):
            continue
        outage = Outage.objects.filter(
            service_id=link.service_id, status=Outage.Status.ACTIVE
        ).first()
        if outage is not None and outage_official(outage=outage, now=now).incident is not None:
            alerts_notify(outage=outage, change="acknowledged", now=now)


def _incidents_store(source: StatusSource, snapshot: Snapshot, *, now: datetime) -> tuple[int, int]:
    """Create or update every incident of the snapshot; with a document that lists every
    open incident, close the open ones it no longer lists. Returns (opened, resolved)."""
    ids = [parsed.external_id for parsed in snapshot.incidents]
    known = {
        row.external_id: row
        for row in source.incidents.filter(Q(external_id__in=ids) | Q(resolved_at__isnull=True))
    }
    opened = resolved = 0
    updates: list[OfficialIncidentUpdate] = []
    for parsed in snapshot.incidents:
        row = known.get(parsed.external_id)
        was_open = row is not None and row.resolved_at is None
        row = _incident_save(source, row, parsed, now=now)
        opened += row.resolved_at is None and not was_open
        resolved += row.resolved_at is not None and was_open
        updates += _update_rows(row, parsed, now=now)
    if snapshot.lists_all_open:
        listed = set(ids)
        for row in known.values():
            if row.resolved_at is None and row.external_id not in listed:
                _incident_close(row, now=now)
                updates.append(
                    OfficialIncidentUpdate(incident=row, status="resolved", at=now, seen_at=now)
                )
                resolved += 1
    OfficialIncidentUpdate.objects.bulk_create(updates, ignore_conflicts=True)
    return opened, resolved


def _incident_save(
    source: StatusSource, row: OfficialIncident | None, parsed: ParsedIncident, *, now: datetime
) -> OfficialIncident:
    if row is None:
        row = OfficialIncident(
            source=source,
            external_id=parsed.external_id,
            acknowledged_at=_acknowledged_at(parsed, last_success=source.last_success_at, now=now),
            first_seen_at=now,
        )
    row.title = parsed.title
    row.status = parsed.status
    row.impact = parsed.impact
    row.components = list(parsed.components)
    row.url = parsed.url if parsed.url.startswith(("https://", "http://")) else ""
    row.started_at = min(parsed.started_at, row.acknowledged_at)
    row.updated_at = parsed.updated_at
    row.resolved_at = parsed.resolved_at
    row.last_seen_at = now
    row.save()
    return row


def _acknowledged_at(
    parsed: ParsedIncident, *, last_success: datetime | None, now: datetime
) -> datetime:
    published = min(parsed.published_at, now)  # a clock ahead of ours is not a prophecy
    if last_success is not None and published < last_success:
        return last_success  # not on the page we read then: backdated
    return published


def _incident_close(row: OfficialIncident, *, now: datetime) -> None:
    # Gone from a list of open incidents: resolved (or withdrawn) since the last good read.
    row.status = "resolved"
    row.resolved_at = now
    row.updated_at = max(row.updated_at, now)
    row.last_seen_at = now
    row.save(update_fields=["status", "resolved_at", "updated_at", "last_seen_at"])


def _update_rows(
    row: OfficialIncident, parsed: ParsedIncident, *, now: datetime
) -> list[OfficialIncidentUpdate]:
    known = list(parsed.updates)
    if not any(update.status == parsed.status for update in known):
        known.append(ParsedUpdate(parsed.status, parsed.updated_at, ""))
    return [
        OfficialIncidentUpdate(incident=row, status=u.status, at=u.at, body=u.body, seen_at=now)
        for u in known
    ]


# --- the data file ---------------------------------------------------------------------------


def status_sources_load(*, path: Path = SOURCES_FILE, now: datetime | None = None) -> int:
    """Make the rows say what the data file says: a source per URL, each catalog service
    linked to its own. Polling state and incidents of a URL are kept across loads; a
    service dropped from the file loses its link, a source left without services is
    disabled (its incidents stay for the track record). Returns the services linked.

    Refuses the whole file (ValueError) when an entry is not a known kind and http(s) URL."""
    now = now or timezone.now()
    entries = _sources_read(path)
    services = {s.slug: s for s in Service.objects.filter(slug__in=entries)}
    # A key naming a service by a slug the catalog renamed since (docs/catalog.md) still links
    # it, unless the file names it by its current slug too: a rename must not silently drop
    # the service's status page.
    renamed = FormerSlug.objects.filter(slug__in=entries).exclude(slug__in=services)
    for former in renamed.select_related("service"):
        if former.service.slug not in entries:
            services[former.slug] = former.service
    with transaction.atomic():
        linked = []
        unknown = sorted(slug for slug in entries if slug not in services)
        if unknown:
            # Not an error (one file serves catalogs of every size), but said: a typo in a
            # slug would otherwise leave a service without its status page unnoticed.
            logger.info(
                "%d entries name services this catalog does not have: %s",
                len(unknown),
                ", ".join(unknown),
            )
        for slug, entry in entries.items():
            service = services.get(slug)
            if service is None:
                continue  # not in this installation's catalog
            fields = {
                "kind": entry["kind"],
                "host": urlsplit(entry["url"]).hostname or "",
                "page_url": entry.get("page_url", ""),
            }
            source, _ = StatusSource.objects.update_or_create(
                url=entry["url"],
                defaults={**fields, "enabled": True},
                create_defaults={**fields, "next_poll_at": now},
            )
            ServiceStatusSource.objects.update_or_create(
                service=service,
                defaults={"source": source, "components": entry.get("components", [])},
            )
            linked.append(service.pk)
        ServiceStatusSource.objects.exclude(service_id__in=linked).delete()
        StatusSource.objects.filter(links__isnull=True).update(enabled=False)
    return len(linked)


# What StatusSource.url (and page_url) can hold.
URL_MAX_LENGTH = cast(int, StatusSource._meta.get_field("url").max_length)  # set on the field


def _web_url(value: object) -> bool:
    """An http(s) URL with a host: what the poller fetches and the pages link to (a
    javascript: page_url would run in a reader's browser)."""
    if not isinstance(value, str) or len(value) > URL_MAX_LENGTH:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _sources_read(path: Path) -> dict[str, dict]:
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or "sources" not in document:
        raise ValueError(f'{path.name}: not a sources file (a JSON object with "sources")')
    entries = document["sources"]
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise ValueError(f"{path.name}: sources must map each service's slug to an object")
    kinds = set(StatusSource.Kind.values)
    kinds_by_url: dict[str, str] = {}
    for slug, entry in entries.items():
        if entry.get("kind") not in kinds or not _web_url(entry.get("url")):
            raise ValueError(f"{path.name}: {slug}: needs a kind in {sorted(kinds)} and a URL")
        if "page_url" in entry and not _web_url(entry["page_url"]):
            raise ValueError(f"{path.name}: {slug}: page_url must be an http(s) URL")
        components = entry.get("components", [])
        if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
            raise ValueError(f"{path.name}: {slug}: components must be a list of names")
        # One source per URL: two kinds for one would leave which parser reads it to the
        # order of the file.
        kind = kinds_by_url.setdefault(entry["url"], entry["kind"])
        if kind != entry["kind"]:
            raise ValueError(
                f"{path.name}: {slug}: {entry['url']} is given as {kind} elsewhere in the file, "
                f"here as {entry['kind']}"
            )
    return entries
