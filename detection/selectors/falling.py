"""Whether an open outage's reports are falling: its newest closed minutes (counted reports against
their band, networks, the run's peak) read for every open outage at once, judged by
detection.falling; and the reports stored per minute, which tell a minute we did not hear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypedDict

from django.db.models import Max, Q, Sum

from detection.falling import reports_falling
from detection.models import OVERALL, Bucket
from detection.reads import Reads
from detection.selectors.common import epoch_minute, minute_datetime
from detection.selectors.series import Series, _bucket_sums, _series_assemble
from detection.selectors.state import ServiceState, _outage_open
from reports.intake import minutes_unheard

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
