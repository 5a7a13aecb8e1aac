"""One read per page for what changes while it is open: a service's status, counters, charts,
countries and history; the home page's status board and cards; an outage's state and chart.

The page renders it on load and its live.json answer renders the same parts from the same
read, so what a page shows never comes from two moments (the issue's "countries still say
Problems after the outage resolved"). Each read is cached under the data version that every
detection tick bumps (detection.cache), so a poll costs a cache hit while nothing changed.
Data only: the words are built by detection.presentation in the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pycountry
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html

from detection import selectors
from detection.cache import cached_read, data_version
from detection.core.networks import BEYOND_ONE_HOST
from detection.core.scoring import MIN_EXCESS_POSSIBLE
from detection.models import OVERALL, Outage, SeriesState
from detection.official.selectors import (
    OfficialStatus,
    OutageOfficial,
    official_status,
    outage_official,
)
from detection.presentation import country_name, excess_words, time_html
from detection.reads import Reads
from detection.services.config import listing_sites
from reports.models import Report, Service

# The live chart: every minute of the last hours, so the rise shows the minute it is detected.
LIVE_HOURS = 6
# Excess over normal (observed / expected in the newest judged minute) that picks a map shade.
EXCESS_STEPS = (2.0, 5.0, 20.0)
SUBDIVISION_ROWS = 10


@dataclass(frozen=True)
class CountryRow:
    country: str
    name: str
    count: int  # counted reports in the last 24 hours
    level: str  # "ok", "possible", "problems": from the service's current status only
    excess: float | None  # observed / expected now, for countries with problems
    shade: int  # 0 (reports, normal) .. 3 (far above normal)
    excess_text: str = ""  # the excess in words (presentation.excess_words)


@dataclass(frozen=True)
class ServiceLive:
    """Everything a service page refreshes together."""

    state: selectors.ServiceState
    counts: dict[str, int]
    live: selectors.Series
    day: selectors.Series
    highlight: list[tuple[datetime, datetime | None]]
    countries: list[CountryRow]
    subdivisions: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    outages: list[Outage]
    # All of the service's outages, of which `outages` are the newest few: the history links
    # to the full list when there are more.
    outages_total: int = 0
    # True: `problems` are the current outage's; False: the last 24 hours'.
    problems_of_outage: bool = False
    # The distinct sites a problem of the last 24 hours needs to be listed (listing_sites).
    problem_sites: int = BEYOND_ONE_HOST
    # The provider's own status page beside the crowd; None: it publishes none we read.
    official: OfficialStatus | None = None

    @property
    def code(self) -> str:
        return self.state.code

    @property
    def reported_today(self) -> bool:
        """Counted reports in the last 24 hours (the page's own counter): without any, the
        problems card says so, not that no problem reached the site bar, which read as if
        some had been reported."""
        return self.counts["last_24h"] > 0


def service_live(*, service: Service) -> ServiceLive:
    return cached_read(f"live:service:{service.pk}", lambda: _service_live(service))


def _service_live(service: Service, now: datetime | None = None) -> ServiceLive:
    # The parts share one read of the buckets' watermark, the baseline and the cold start.
    reads = Reads(now)
    now = reads.now
    state = selectors.service_state_get(service=service, reads=reads)
    outages = selectors.outage_history(service=service, reads=reads)
    # Both charts end where the buckets end, not at the clock: a minute not counted yet
    # would draw as a fall at the right edge.
    live = selectors.series_build(
        service=service,
        country=OVERALL,
        end_minute=selectors.epoch_minute(reads.bucketed_until),
        step=1,
        count=LIVE_HOURS * 60,
        reads=reads,
    )
    return ServiceLive(
        state=state,
        counts=selectors.report_counts(service=service, reads=reads),
        live=live,
        day=selectors.series_window(service=service, window="24h", resolution="15m", reads=reads),
        highlight=selectors.outage_spans(outages),
        countries=country_rows(service=service, state=state, reads=reads),
        subdivisions=subdivision_counts(service=service, now=now),
        outages=outages,
        outages_total=selectors.outage_count(service=service, shown=outages),
        official=official_status(service=service, now=now),
        **_problems(service=service, state=state, reads=reads),
    )


def _problems(*, service: Service, state: selectors.ServiceState, reads: Reads) -> dict:
    """During an outage, the problems reported in it; otherwise those of the last 24 hours."""
    outage = state.outage
    if outage is not None and outage.is_active:
        items = selectors.outage_problems(outage)
        total = sum(item["count"] for item in items)
        if total:
            shares = [{**item, "percent": round(100 * item["count"] / total)} for item in items]
            return {"problems": shares, "problems_of_outage": True}
    return {
        "problems": selectors.problem_breakdown(service=service, reads=reads),
        "problem_sites": listing_sites(),
    }


def country_rows(
    *, service: Service, state: selectors.ServiceState, reads: Reads | None = None
) -> list[CountryRow]:
    """Countries with reports in the last 24 hours, most first.

    A country's level comes from the service's current status (its countries at level 1 or
    more; in a relapse, the relapse's own), never from the country series' own state alone:
    that row is only rewritten when the series is judged again, and a quiet country may not
    be for a long time. Its "N× normal" is shown only for an excess the detector would call
    possible problems (MIN_EXCESS_POSSIBLE reports): one report where 0.1 are normal is "7×"
    and means nothing (finding F25).
    """
    affected = set(state.countries) if state.level > 0 else set()
    judged = {
        row["country"]: row
        for row in SeriesState.objects.filter(service=service, country__in=affected).values(
            "country", "level", "observed", "expected"
        )
    }
    rows = []
    for item in selectors.country_breakdown(service=service, reads=reads):
        code = item["country"]
        level, excess = "ok", None
        if code in affected:
            row: Mapping[str, Any] = judged.get(code, {})
            # A country cannot be worse than the service it belongs to, nor "ok" while listed;
            # listed in an open outage and still elevated, it has the outage's problems (it
            # read "Possible problems" at 5x normal beside "Problems detected": words tester
            # F5).
            own = int(row.get("level", 1))
            level = selectors.LEVEL_CODES[
                state.level if state.level >= 2 and own >= 1 else max(1, min(own, state.level))
            ]
            excess = _excess(row)
        words = ""
        if excess is not None:
            words = excess_words(row["observed"], None if state.cold else row["expected"])
        rows.append(
            CountryRow(
                country=code,
                name=item["name"],
                count=item["count"],
                level=level,
                excess=excess,
                shade=_shade(level, excess),
                excess_text=words,
            )
        )
    return rows


def _excess(row: Mapping[str, Any]) -> float | None:
    """observed / expected of a country's newest judged minute, when its excess clears the
    detector's floor for possible problems."""
    expected = row.get("expected") or 0.0
    observed = row.get("observed")
    if observed is None or expected <= 0 or observed - expected < MIN_EXCESS_POSSIBLE:
        return None
    return observed / expected


def _shade(level: str, excess: float | None) -> int:
    if level == "ok":
        return 0
    if excess is None:
        return 1 if level == "possible" else 2
    return 1 + sum(excess >= step for step in EXCESS_STEPS[1:])


def subdivision_counts(*, service: Service, now: datetime | None = None) -> list[dict[str, Any]]:
    """Regions named in counted reports of the last 24 hours, most first (only some reports
    carry one). Counts only: which network reported is never shown."""
    now = now or timezone.now()
    rows = (
        Report.objects.filter(
            service=service, counted=True, created_at__gt=now - timedelta(hours=24)
        )
        .exclude(subdivision="")
        .values("country", "subdivision")
        # "*", not the id: the index of reports that name a region holds every column this
        # reads, so PostgreSQL can answer from the index without visiting the table.
        .annotate(n=Count("*"))
        .order_by("-n", "subdivision")[:SUBDIVISION_ROWS]
    )
    return [
        {
            "country": r["country"],
            "subdivision": r["subdivision"],
            "name": subdivision_name(r["subdivision"]),
            "count": r["n"],
        }
        for r in rows
    ]


def subdivision_name(code: str) -> str:
    item = pycountry.subdivisions.get(code=code)
    return item.name if item is not None else code


# --- Home page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeLive:
    """The status board and every card's level and sparkline."""

    problems_now: list[selectors.ServiceState]
    levels: dict[int, str] = field(default_factory=dict)  # service id -> level code
    # Service id -> its status, for the services in problems now: a card's badge says what
    # the board's says ("Reports falling" on both).
    states: dict[int, selectors.ServiceState] = field(default_factory=dict)
    lines: dict[int, list[int]] = field(default_factory=dict)  # service id -> hourly counts
    slugs: dict[int, str] = field(default_factory=dict)  # service id -> slug, for the JSON
    # Outages of several services probably caused by one provider, going on now.
    upstreams: list[selectors.UpstreamView] = field(default_factory=list)

    @property
    def board(self) -> list[tuple[selectors.ServiceState, list[int] | None]]:
        """The services with problems now, worst first, each with its sparkline."""
        return [(state, self.lines.get(state.service.pk)) for state in self.problems_now]


def home_live() -> HomeLive:
    return cached_read("live:home", _home_live)


def _home_live(now: datetime | None = None) -> HomeLive:
    now = now or timezone.now()
    problems_now = selectors.status_list()
    # Closed hours only: the hour still filling would end every line with a fall.
    hour = now.replace(minute=0, second=0, microsecond=0)
    lines = selectors.sparklines(now=hour - timedelta(microseconds=1))
    # A service in problems draws the hours up to its newest counted minute instead: an
    # outage younger than the clock's hour was missing from the line under its red badge
    # (pages tester F10). Those hours end where the buckets do, so none is still filling.
    if problems_now:
        ids = [state.service.pk for state in problems_now]
        lines |= selectors.sparklines_to(service_ids=ids, end=selectors.bucketed_until(now))
    levels = {state.service.pk: state.code for state in problems_now}
    shown = set(lines) | set(levels)
    slugs = dict(Service.objects.filter(pk__in=shown, is_active=True).values_list("pk", "slug"))
    return HomeLive(
        problems_now=problems_now,
        levels=levels,
        states={state.service.pk: state for state in problems_now},
        lines={pk: line for pk, line in lines.items() if pk in slugs},
        slugs=slugs,
        upstreams=selectors.upstream_active(),
    )


# --- Outage page ------------------------------------------------------------------------------

# Context drawn around an outage on its chart.
OUTAGE_BEFORE = timedelta(hours=2)
OUTAGE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class OutageLive:
    outage: Outage
    state: selectors.ServiceState
    series: selectors.Series
    highlight: list[tuple[datetime, datetime | None]]
    timeline: selectors.OutageTimeline
    countries: list[CountryRow]  # the outage's countries, "problems" only while it is open
    problems: list[dict[str, Any]]
    # The official incident it matches and who knew first (detection.official.matching).
    official: OutageOfficial | None = None
    # The upstream outage it is grouped in (a provider's), with the others in it.
    upstream: selectors.UpstreamView | None = None

    @property
    def falling(self) -> bool:
        """The service's status says this open outage's reports are falling: the outage page
        says so too (a reader arriving from an alert saw only "Ongoing")."""
        return self.state.falling and self._current

    @property
    def again_since(self) -> datetime | None:
        """When this open outage came back, if it is a relapse: its page said only "Ongoing,
        started 14:05" while its problems had stopped and come back (pages tester F21)."""
        return self.state.again_since if self._current else None

    @property
    def _current(self) -> bool:
        current = self.state.outage
        return current is not None and current.pk == self.outage.pk


def outage_live(*, outage: Outage) -> OutageLive:
    return cached_read(f"live:outage:{outage.pk}", lambda: _outage_live(outage))


def _outage_live(outage: Outage, now: datetime | None = None) -> OutageLive:
    reads = Reads(now)  # the status and the chart share the watermark and the baseline
    now = reads.now
    end = min((outage.resolved_at or now) + OUTAGE_AFTER, reads.bucketed_until)
    series = selectors.series_between(
        service=outage.service, start=outage.started_at - OUTAGE_BEFORE, end=end, reads=reads
    )
    level = "problems" if outage.is_active else "ok"
    countries = [
        CountryRow(
            country=code,
            name=country_name(code),
            count=0,
            level=level,
            excess=None,
            shade=_shade(level, None),
        )
        for code in selectors.outage_countries(outage)
    ]
    return OutageLive(
        outage=outage,
        state=selectors.service_state_get(service=outage.service, reads=reads),
        series=series,
        highlight=selectors.outage_spans([outage]),
        timeline=selectors.outage_timeline(outage=outage),
        countries=countries,
        problems=selectors.outage_problems(outage),
        official=outage_official(outage=outage, now=now),
        upstream=None
        if outage.upstream_id is None
        else selectors.upstream_views(ids={outage.upstream_id}).get(outage.upstream_id),
    )


# The newest minute judged, by the data version it was read under: only a tick moves it on,
# and each tick moves the version on. Read on every request, it halved the read API's cached
# answers' rate (bench/load: 0.45-0.66x the bare view before, 0.22-0.31x), and it would have
# cost every live.json poll a query.
_judged: tuple[int, datetime | None] | None = None


def minute_judged() -> datetime | None:
    """selectors.minute_judged(), read once per data version (each time while Redis is away)."""
    global _judged
    version = data_version()
    known = _judged
    if version and known is not None and known[0] == version:
        return known[1]
    judged = selectors.minute_judged()
    if version:
        _judged = (version, judged)
    return judged


def pipeline_notice(*, now: datetime | None = None) -> str:
    """What a status page says when the minutes are judged late (a stopped detector: the
    page otherwise kept its last verdict, "No problems", while reports waited unjudged);
    "" while detection keeps up. Read outside the per-tick cache, which such a stop freezes."""
    now = now or timezone.now()
    freshness = selectors.detection_freshness(judged=minute_judged(), now=now)
    # Never run (a new install before its first minute): no verdict to call old yet.
    if freshness.current or freshness.as_of is None:
        return ""
    return format_html(
        "Detection is {} minutes behind: the statuses here are as of {}, and newer reports "
        "are not judged yet.",
        freshness.behind_minutes,
        time_html(freshness.as_of, now=now),
    )
