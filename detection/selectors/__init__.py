"""Reads for the outage API and pages: status, report counts, series with the expected band,
outages, sparklines and breakdowns.

Views and serializers call these and only shape the output; nothing here knows about HTTP.
Data only: the words people read are built from it in detection.presentation.
Buckets are sparse (a minute without reports has no row), so every series is filled with 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypedDict

from django.db.models import Max, Q, Sum

from detection.episodes import outage_episode
from detection.falling import reports_falling
from detection.models import OVERALL, Bucket, OutageEvent, SeriesState, ServiceStatus
from detection.presentation import country_name
from detection.reads import Reads, services_cold
from detection.selectors.breakdowns import (
    SPARKLINE_HOURS,
    country_breakdown,
    problem_breakdown,
    sparklines,
    sparklines_to,
)
from detection.selectors.common import LEVEL_CODES, epoch_minute, minute_datetime, minutes_between
from detection.selectors.outages import (
    HISTORY_LIMIT,
    STAMP_MARGIN,
    TIMELINE_EVENTS,
    UNSEEN_WRITES_LAG,
    OutageTimeline,
    outage_cold,
    outage_count,
    outage_countries,
    outage_events,
    outage_final_event,
    outage_get,
    outage_history,
    outage_list,
    outage_problems,
    outage_spans,
    outage_timeline,
    outages_cold_marked,
    outages_updated_until,
)
from detection.selectors.pipeline import (
    DetectionFreshness,
    PipelineProgress,
    bucketed_until,
    detection_freshness,
    minute_judged,
    pipeline_progress,
)
from detection.selectors.reasons import POSSIBLE_REASONS, _possible_reasons, _with_reason
from detection.selectors.series import (
    BAND_SIGMAS,
    DEFAULT_RESOLUTION,
    MAX_WINDOW,
    RESOLUTIONS,
    WINDOWS,
    Series,
    SeriesPoint,
    _bucket_sums,
    _series_assemble,
    series_between,
    series_build,
    series_window,
)
from detection.selectors.state import (
    ServiceState,
    _outage_open,
    _state_from_row,
)
from detection.selectors.upstream import (
    UpstreamMember,
    UpstreamView,
    outages_upstream_views,
    upstream_active,
    upstream_views,
)
from reports.intake import minutes_unheard
from reports.models import Service

__all__ = [
    "BAND_SIGMAS",
    "DEFAULT_RESOLUTION",
    "FALLING_MINUTES",
    "HISTORY_LIMIT",
    "LEVEL_CODES",
    "MAX_WINDOW",
    "POSSIBLE_REASONS",
    "RESOLUTIONS",
    "SPARKLINE_HOURS",
    "STAMP_MARGIN",
    "TIMELINE_EVENTS",
    "UNSEEN_WRITES_LAG",
    "WINDOWS",
    "DetectionFreshness",
    "OutageTimeline",
    "PipelineProgress",
    "Series",
    "SeriesPoint",
    "ServiceOverview",
    "ServiceState",
    "UpstreamMember",
    "UpstreamView",
    "bucketed_until",
    "country_breakdown",
    "country_name",
    "detection_freshness",
    "epoch_minute",
    "minute_datetime",
    "minute_judged",
    "minute_stored",
    "minutes_between",
    "minutes_stored",
    "outage_cold",
    "outage_count",
    "outage_countries",
    "outage_events",
    "outage_final_event",
    "outage_get",
    "outage_history",
    "outage_list",
    "outage_problems",
    "outage_spans",
    "outage_timeline",
    "outages_cold_marked",
    "outages_updated_until",
    "outages_upstream_views",
    "pipeline_progress",
    "problem_breakdown",
    "report_counts",
    "series_between",
    "series_build",
    "series_window",
    "service_overview",
    "service_state_get",
    "sparklines",
    "sparklines_to",
    "status_list",
    "upstream_active",
    "upstream_views",
]


# --- Current status ------------------------------------------------------------------------


def service_state_get(*, service: Service, reads: Reads | None = None) -> ServiceState:
    """One service's status; `reads`: the read it is part of (a page's), which the other parts
    share the buckets' watermark, the baseline and the cold start with."""
    reads = reads or Reads()
    row = ServiceStatus.objects.select_related("outage").filter(service=service).first()
    if row is not None and row.outage is not None:
        row.outage.service = service
    state = _state_from_row(service, row)
    state = _with_episode(state, _reopenings([state]))
    state = _with_reason(state, _possible_reasons([state]))
    # Read at every level here: one service's page shows its normal while all is well too.
    cold = service.pk in reads.cold([service.pk])
    state = replace(state, cold=cold)
    if state.outage is not None and state.outage.judged_cold is None:
        # As outage_cold would read it: the page's words about the outage ask again otherwise.
        state.outage.cold_start = cold
    end = reads.bucketed_until
    recent = _recent_minutes([state], end, reads) if _outage_open(state) else {}
    return _with_falling(state, end, recent.get(service.pk))


def _with_cold(states: list[ServiceState]) -> list[ServiceState]:
    """The states in problems, with whether their service is on a cold start (one query)."""
    ids = [state.service.pk for state in states if state.level >= 1]
    if not ids:
        return states
    cold = services_cold(service_ids=ids)
    return [
        replace(state, cold=state.service.pk in cold) if state.level >= 1 else state
        for state in states
    ]


def _reopenings(states: Sequence[ServiceState]) -> dict[int, datetime]:
    """The newest reopening of each open outage among ``states`` that has one, by outage id
    (one query; a relapse is rare, so its countries are read only for those)."""
    ids = [s.outage.pk for s in states if s.outage is not None and s.outage.is_active]
    if not ids:
        return {}
    rows = OutageEvent.objects.filter(outage_id__in=ids, kind=OutageEvent.Kind.REOPENED)
    reopened: dict[int, datetime] = {}
    for outage_id, at in rows.values_list("outage_id", "at"):
        reopened[outage_id] = max(at, reopened.get(outage_id, at))
    return reopened


def _with_episode(state: ServiceState, reopened: dict[int, datetime]) -> ServiceState:
    """A relapse's state says when it came back and its own countries: a "resolved" notice
    went out, and a country of the first run may be quiet now (finding F25)."""
    outage = state.outage
    if state.level < 2 or outage is None or outage.pk not in reopened:
        return state
    episode = outage_episode(outage=outage)
    # Since the relapse's onset, as its messages say it; the REOPENED event's time is when it
    # was detected, a minute or two later, to the microsecond (API tester F18).
    since = episode.since or reopened[outage.pk]
    return replace(state, again_since=since, countries=episode.countries)


# The newest closed minutes that say whether an open outage's reports are falling.
FALLING_MINUTES = 5


def _falling_judged(state: ServiceState, end: datetime) -> bool:
    """Whether the state has a falling verdict to work out at `end`: an open outage whose
    current run has had FALLING_MINUTES closed minutes of its own (before that the newest
    minutes still include quiet ones before the onset, which would read as a fall in its first
    minutes; for a relapse, the lull before it: "reports falling" a minute into a relapse of
    42 a minute, explain tester F1)."""
    since = state.run_since  # None only without an outage
    if not _outage_open(state) or since is None:
        return False
    return end - timedelta(minutes=FALLING_MINUTES) >= since


@dataclass(frozen=True)
class _Recent:
    """An open outage's newest closed minutes: counted reports with their normal band, the
    distinct networks reporting in each, and the most networks in one of its minutes; and
    whether one of those minutes is one we did not hear (reports.intake)."""

    series: Series
    networks: list[int]
    peak_networks: int
    peak_counted: float
    unheard: bool = False


def minute_stored(minute: datetime) -> int:
    """The reports stored in `minute`, each once (its services' overall buckets). Stored, not
    counted: a busy minute counts a few of each network's reports, so set against its counted
    ones a handful of failed submissions beside forty stored made it unheard, and held open
    outages from resolving (maintainer review, forty-third session)."""
    return minutes_stored([minute]).get(minute, 0)


def minutes_stored(minutes: Sequence[datetime]) -> dict[datetime, int]:
    """minute_stored of each of `minutes` in one query; minutes without buckets are left out."""
    rows = (
        Bucket.objects.filter(minute__in=list(minutes), country=OVERALL)
        .order_by()
        .values("minute")
        .annotate(n=Sum("reports"))
        .values_list("minute", "n")
    )
    return {minute: n or 0 for minute, n in rows}


def _minutes_unheard(start: int, end_minute: int) -> bool:
    """Whether a minute from `start` to `end_minute` (epoch minutes) is one whose reports did
    not all reach the counts. Such a minute is read as a fall: with Redis away, the status
    said "Reports are falling: now about 40 reports a minute ... may be over" of a minute in
    which 111 came (durability tester F2), where the tick itself held the outage open."""
    minutes = [minute_datetime(m) for m in range(start, end_minute)]
    return bool(minutes_unheard(minutes, minutes_stored))


def _with_falling(state: ServiceState, end: datetime, recent: _Recent | None) -> ServiceState:
    """The state with its networks now and at the peak, and its falling verdict, judged on
    the overall series' newest FALLING_MINUTES closed minutes (``recent``: those before
    ``end``, the buckets' watermark; read for every open outage), all of them the outage's
    own, against their normal band (the status row holds one minute only, and a single loud
    minute after quiet ones is no rise)."""
    if not _outage_open(state) or recent is None:
        return state
    networks = recent.networks
    points = recent.series.points
    peak = _run_peak(state, recent)
    state = replace(state, networks=networks[-1], peak_networks=recent.peak_networks, **peak)
    if not _falling_judged(state, end) or recent.unheard:
        return state
    if points[0].expected is None:  # no baseline yet: the status row's newest minute
        if state.expected is None:
            return state
        observed, expected, upper = [state.observed], [state.expected], None
        networks = networks[-1:]
    else:
        observed = [p.observed for p in points]
        expected = [p.expected or 0.0 for p in points]
        upper = [p.upper or 0.0 for p in points]
    falling = reports_falling(
        recent_observed=observed,
        recent_expected=expected,
        upper=upper,
        peak_observed=peak["peak_observed"],
        peak_expected=peak["peak_expected"],
        recent_networks=networks,
        peak_networks=recent.peak_networks,
    )
    return replace(state, falling=falling)


class _Peak(TypedDict):
    peak_observed: float
    peak_expected: float


def _run_peak(state: ServiceState, recent: _Recent) -> _Peak:
    """The current run's peak: the outage's own, or for a relapse its busiest minute since it
    came back, against the normal of its newest minutes (a relapse is within the hour of its
    first run's end, at much the same time of day)."""
    outage = state.outage
    assert outage is not None  # of an open outage (_with_falling)
    # A relapse that went higher than the first run holds the outage's peak: quoted as the
    # outage's, or one card gave that minute two normals, "about 3" and "about 4" (words
    # tester F2).
    since = state.again_since
    if since is None or (outage.peak_at is not None and outage.peak_at >= since):
        return {"peak_observed": outage.peak_observed, "peak_expected": outage.peak_expected}
    normal = [p.expected for p in recent.series.points if p.expected is not None]
    return {
        "peak_observed": recent.peak_counted,
        "peak_expected": sum(normal) / len(normal) if normal else outage.peak_expected,
    }


@dataclass(frozen=True)
class ServiceOverview:
    """What the service endpoint answers: the entry, its status and recent report counts."""

    service: Service
    state: ServiceState
    reports: dict[str, int]


def service_overview(*, service: Service, now: datetime | None = None) -> ServiceOverview:
    reads = Reads(now)  # the status and the counters end at one read of the watermark
    return ServiceOverview(
        service=service,
        state=service_state_get(service=service, reads=reads),
        reports=report_counts(service=service, reads=reads),
    )


def status_list() -> list[ServiceState]:
    """Every active service with possible or detected problems now, worst first."""
    rows = (
        ServiceStatus.objects.filter(level__gte=SeriesState.Level.POSSIBLE, service__is_active=True)
        .select_related("service", "service__category", "outage")
        .order_by("-level", "-score", "service__name")
    )
    for row in rows:
        if row.outage is not None:
            row.outage.service = row.service  # the answer names it: no query per row
    states = [_state_from_row(row.service, row) for row in rows]
    reopened, reasons = _reopenings(states), _possible_reasons(states)
    states = _with_cold([_with_reason(_with_episode(state, reopened), reasons) for state in states])
    if not any(state.level >= 2 for state in states):
        return states
    reads = Reads()
    end = reads.bucketed_until  # once for all of them
    # Every service in problems at once (an upstream outage: dozens) in three queries, not
    # three each.
    open_ = [state for state in states if _outage_open(state)]
    recent = _recent_minutes(open_, end, reads) if open_ else {}
    return [_with_falling(state, end, recent.get(state.service.pk)) for state in states]


def _recent_minutes(states: list[ServiceState], end: datetime, reads: Reads) -> dict[int, _Recent]:
    """The overall series of each open outage's service over the FALLING_MINUTES minutes
    before `end`, by service id: its buckets and baseline read for all of them at once, and
    the most networks that reported, and the most counted reports, in one minute since each
    outage's current run began (a relapse's: since it came back)."""
    end_minute = epoch_minute(end)
    start = end_minute - FALLING_MINUTES
    ids = [state.service.pk for state in states]
    rows = list(
        Bucket.objects.filter(
            service_id__in=ids,
            country=OVERALL,
            minute__gte=minute_datetime(start),
            minute__lt=minute_datetime(end_minute),
        ).values_list("service_id", "minute", "counted", "reporters")
    )
    observed = _bucket_sums(((s, m, c) for s, m, c, _ in rows), step=1)
    networks = _bucket_sums(((s, m, n) for s, m, _, n in rows), step=1)
    baselines = reads.baselines(ids)
    spans = Q()
    for state in states:
        spans |= Q(service_id=state.service.pk, minute__gte=state.run_since)
    peaks = {
        service_id: (networks_peak, counted_peak)
        for service_id, networks_peak, counted_peak in Bucket.objects.filter(
            spans, country=OVERALL, minute__lt=minute_datetime(end_minute)
        )
        .values("service_id")
        .annotate(networks_peak=Max("reporters"), counted_peak=Max("counted"))
        .values_list("service_id", "networks_peak", "counted_peak")
    }
    unheard = _minutes_unheard(start, end_minute)
    recent = {}
    for state in states:
        pk = state.service.pk
        by_minute = networks.get(pk, {})
        networks_peak, counted_peak = peaks.get(pk, (0, 0))
        recent[pk] = _Recent(
            series=_series_assemble(
                service=state.service,
                country=OVERALL,
                end_minute=end_minute,
                step=1,
                count=FALLING_MINUTES,
                observed=observed.get(pk, {}),
                baseline=baselines.get(pk),
            ),
            networks=[by_minute.get(m, 0) for m in range(start, end_minute)],
            peak_networks=networks_peak or 0,
            peak_counted=float(counted_peak or 0),
            unheard=unheard,
        )
    return recent


def report_counts(
    *, service: Service, now: datetime | None = None, reads: Reads | None = None
) -> dict[str, int]:
    """Counted reports of the overall series in the last 15 minutes, hour and 24 hours: the
    newest minutes already counted into buckets (a minute's bucket is written once it has
    closed; from `now` itself the spans held a minute less, review). `reads` (its own `now`)
    rather than `now`: the read this is part of."""
    end = (reads or Reads(now)).bucketed_until
    spans = {"last_15m": 15, "last_1h": 60, "last_24h": 1440}
    sums = (
        Bucket.objects.filter(service=service, country=OVERALL)
        .filter(minutes_between(end - timedelta(minutes=max(spans.values())), end))
        .aggregate(
            **{
                name: Sum("counted", filter=minutes_between(end - timedelta(minutes=m), end))
                for name, m in spans.items()
            }
        )
    )
    return {name: int(sums[name] or 0) for name in spans}
