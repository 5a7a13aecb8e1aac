"""Services' current status as the pages and the API show it: one service's, the list of those in
problems, and the service endpoint's overview with its recent report counts. Puts together the
state, the possible reasons, a relapse's episode, the cold start and the falling verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db.models import Sum

from detection.episodes import outage_episode
from detection.models import OVERALL, Bucket, OutageEvent, SeriesState, ServiceStatus
from detection.reads import Reads, services_cold
from detection.selectors.common import minutes_between
from detection.selectors.falling import _recent_minutes, _with_falling
from detection.selectors.reasons import _possible_reasons, _with_reason
from detection.selectors.state import ServiceState, _outage_open, _state_from_row
from reports.models import Service


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
