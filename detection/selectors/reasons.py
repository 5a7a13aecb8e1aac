"""Why "possible problems" is not more (ServiceState.possible_reason), from the stored series
states and an outage just judged over: two queries at most for a whole list of services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.conf import settings

from detection.core.state import STATE_POSSIBLE
from detection.models import Outage, OutageEvent, SeriesState
from detection.selectors.state import ServiceState

# What the stored rows can tell about a "possible problems" verdict (detection.core):
# - "after_outage": a series scored "problems" but the state machine held it at "possible":
#   right after an outage ended, only fresh reports in the newest minutes may call it again
#   (the long windows still hold the old outage's reports);
# - "outage_bar": a series' own calibrated threshold held a verdict of "problems" at
#   "possible" (SeriesState.held) within the reopen window of an outage of the service: that
#   outage is among the bursts the threshold is set on, and raised it. A relapse of 47, 36 and
#   43 reports a minute where 1.5 are normal was held so for two minutes and read "the jump is
#   in a single minute so far" (documentation tester, forty-eighth session);
# - "own_bursts": held by the series' threshold otherwise: its history has bursts like this;
# - "one_minute": the evidence is one minute's jump (the rule's window is a single minute),
#   short of the floors for an outage;
# - "": anything else (a longer window short of those): more minutes are needed to confirm.
POSSIBLE_REASONS = ("after_outage", "outage_bar", "own_bursts", "one_minute", "")


@dataclass(frozen=True)
class _Possible:
    """A series at "possible problems": its scoring level, rule and whether its calibrated
    threshold held it there."""

    level: int
    rule: str
    held: bool


@dataclass(frozen=True)
class _Reasons:
    """What _with_reason reads for the services at level 1: their series at "possible", by
    service id, and those with an outage judged over within the reopen window."""

    series: dict[int, list[_Possible]] = field(default_factory=dict)
    ended: frozenset[int] = frozenset()


def _possible_reasons(states: Sequence[ServiceState]) -> _Reasons:
    """The series at "possible" of the services at level 1 (one query for them all) and, for
    those a threshold held, whether an outage of theirs just ended (one more)."""
    ids = [state.service.pk for state in states if state.level == 1]
    if not ids:
        return _Reasons()
    found: dict[int, list[_Possible]] = {}
    rows = SeriesState.objects.filter(service_id__in=ids, state=STATE_POSSIBLE)
    for service_id, level, rule, held in rows.values_list("service_id", "level", "rule", "held"):
        found.setdefault(service_id, []).append(_Possible(int(level), rule, bool(held)))
    held_any = [s for s in states if any(p.held for p in found.get(s.service.pk, []))]
    return _Reasons(found, _ended_recently(held_any))


def _ended_recently(states: Sequence[ServiceState]) -> frozenset[int]:
    """The services among ``states`` with an outage judged over (its RESOLVED entry) within
    OUTAGE_REOPEN_MINUTES of their status, as the tick decides a reopening
    (detection.services.outages._reopen_recent)."""
    at = {s.service.pk: s.updated_at for s in states if s.updated_at is not None}
    if not at:
        return frozenset()
    window = timedelta(minutes=settings.OUTAGE_REOPEN_MINUTES)
    rows = OutageEvent.objects.filter(
        outage__service_id__in=list(at),
        outage__status=Outage.Status.RESOLVED,
        kind=OutageEvent.Kind.RESOLVED,
        at__gte=min(at.values()) - window,
    ).values_list("outage__service_id", "at")
    return frozenset(sid for sid, resolved in rows if resolved >= at[sid] - window)


def _with_reason(state: ServiceState, reasons: _Reasons) -> ServiceState:
    if state.level != 1:
        return state
    judged = reasons.series.get(state.service.pk, [])
    if any(p.level >= 2 for p in judged):
        return replace(state, possible_reason="after_outage")
    if any(p.held for p in judged):
        ended = state.service.pk in reasons.ended
        return replace(state, possible_reason="outage_bar" if ended else "own_bursts")
    rules = [p.rule for p in judged if p.rule] or [state.rule]
    if all(rule.endswith("_1m") for rule in rules if rule) and any(rules):
        return replace(state, possible_reason="one_minute")
    return state
