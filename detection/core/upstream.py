"""Upstream outages: which provider most probably explains outages that start together.

When a cloud, CDN, DNS, payment or login provider breaks, every service built on it breaks
within minutes. Crowd reports name the services people use, not the provider under them, so
the grouping is inferred from the catalog (each service names the providers it depends on)
and from the outages' onsets. Pure Python: no Django, no clock; the caller passes the outages
of interest (open or recently opened) and the whole catalog's dependencies.

A provider is blamed for a set of outages only on evidence:
- its own outage (when it is in the catalog) with at least one dependent starting within
  `window` of the run: direct evidence; or
- at least MIN_DEPENDENTS of its dependents starting within `window` of each other, more than
  chance explains: of the K services whose outages started in that span, the provider's n
  dependents out of the catalog's N hold k, and the hypergeometric probability of k or more
  by chance must be at most MAX_CHANCE. A co-spike of unrelated services (an evening surge, a
  news event, an ISP's problem) touches dependents and non-dependents alike and is not blamed;
  services that share no provider are never grouped.

Each outage joins at most one group: when several providers would explain the same outages
(a service on both AWS and Cloudflare), the explanation least likely by chance wins, and the
others keep only the outages left to them and must qualify again on those. A provider's own
outage is weighed as the coincidence it would be if unrelated: an outage of the provider
starting within the window, at OWN_OUTAGES_PER_MONTH, multiplies its chance. It weighs a lot,
but not everything: people report "AWS" when Amazon's shop is down, and a CDN's dependents
breaking together can explain more than a crowd outage of another provider.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Dependents that must start together before a provider without an outage of its own is
# blamed: two services breaking at once happens by chance on a busy evening; three sharing one
# provider (and unlikely by chance, below) rarely does.
MIN_DEPENDENTS = 3
# The chance probability under which a co-start of dependents is blamed on their provider.
MAX_CHANCE = 0.01
# How close the onsets must be: reports lag a failure by a minute or two and the detector
# needs one or two more, more for small services; an hour apart is a different event.
DEFAULT_WINDOW = timedelta(minutes=15)
# How often a provider of the catalog breaks, to weigh its own outage as a coincidence: once a
# month is more often than any big provider does, so its own outage is rather under-weighed.
OWN_OUTAGES_PER_MONTH = 1.0
MONTH = timedelta(days=30)


@dataclass(frozen=True)
class OutageOnset:
    """One service's outage as the grouping sees it."""

    id: int
    service: str
    onset: datetime


@dataclass(frozen=True)
class UpstreamGroup:
    """Outages probably caused by one provider."""

    provider: str
    since: datetime  # the earliest onset in the group
    outage_ids: tuple[int, ...]  # the dependents' outages, earliest first
    services: tuple[str, ...]  # their services, in the same order
    provider_outage_id: int | None  # the provider's own outage, when it has one
    dependents: int  # how many catalog services depend on the provider
    chance: float  # probability of this many dependents starting together by chance


def upstream_groups(
    outages: Iterable[OutageOnset],
    dependencies: Mapping[str, Iterable[str]],
    *,
    window: timedelta = DEFAULT_WINDOW,
) -> list[UpstreamGroup]:
    """Group outages by the provider that most probably caused them, earliest group first.

    dependencies: every catalog service's providers (services with none map to an empty
    list); its size is the catalog's size N of the chance test. A provider need not be a
    catalog service itself.
    """
    deps = {service: frozenset(providers) for service, providers in dependencies.items()}
    events = sorted(outages, key=lambda o: (o.onset, o.id))
    dependents: dict[str, set[str]] = {}
    for service, providers in deps.items():
        for provider in providers:
            dependents.setdefault(provider, set()).add(service)
    candidates = [
        group
        for provider, users in dependents.items()
        for group in _provider_clusters(provider, users, events, len(deps), window)
    ]
    return _assign(candidates, events, len(deps), window, dependents)


@dataclass(frozen=True)
class _Candidate:
    provider: str
    own: OutageOnset | None
    members: tuple[OutageOnset, ...]
    chance: float


def _provider_clusters(
    provider: str,
    users: set[str],
    events: list[OutageOnset],
    catalog_size: int,
    window: timedelta,
) -> list[_Candidate]:
    """Runs of the provider's (and its dependents') outages whose onsets chain within window."""
    relevant = [e for e in events if e.service in users or e.service == provider]
    out: list[_Candidate] = []
    run: list[OutageOnset] = []
    for event in relevant:
        if run and event.onset - run[-1].onset > window:
            out.extend(_qualify(provider, run, users, events, catalog_size, window))
            run = []
        run.append(event)
    if run:
        out.extend(_qualify(provider, run, users, events, catalog_size, window))
    return out


def _qualify(
    provider: str,
    run: list[OutageOnset],
    users: set[str],
    events: list[OutageOnset],
    catalog_size: int,
    window: timedelta,
) -> list[_Candidate]:
    own = next((e for e in run if e.service == provider), None)
    members = _one_per_service(e for e in run if e.service != provider)
    if not members:
        return []
    chance = _chance(members, own, users, events, catalog_size, window)
    if _qualifies(members, own, chance):
        return [_Candidate(provider, own, members, chance)]
    return []


def _qualifies(members: tuple[OutageOnset, ...], own: OutageOnset | None, chance: float) -> bool:
    if own is not None:
        return len(members) >= 1
    return len(members) >= MIN_DEPENDENTS and chance <= MAX_CHANCE


def _one_per_service(events: Iterable[OutageOnset]) -> tuple[OutageOnset, ...]:
    seen: set[str] = set()
    kept = []
    for event in events:
        if event.service not in seen:
            seen.add(event.service)
            kept.append(event)
    return tuple(kept)


def _chance(
    members: tuple[OutageOnset, ...],
    own: OutageOnset | None,
    users: set[str],
    events: list[OutageOnset],
    catalog_size: int,
    window: timedelta,
) -> float:
    """How likely this much evidence is if the provider had nothing to do with it: at least
    k of the K services that broke in the span among its n dependents (hypergeometric), times
    the chance of its own outage falling in the window."""
    start, end = members[0].onset - window, members[-1].onset + window
    broke = {e.service for e in events if start <= e.onset <= end}
    total = max(catalog_size, len(broke | users))
    k = len({m.service for m in members})
    chance = _hypergeometric_tail(k, total, len(users), len(broke))
    if own is not None:
        chance *= min(1.0, OWN_OUTAGES_PER_MONTH * (2 * window) / MONTH)
    return chance


def _hypergeometric_tail(k: int, total: int, marked: int, drawn: int) -> float:
    """P(X >= k), X the marked items among `drawn` drawn without replacement from `total`."""
    denominator = math.comb(total, drawn)
    upper = min(marked, drawn)
    mass = sum(
        math.comb(marked, i) * math.comb(total - marked, drawn - i) for i in range(k, upper + 1)
    )
    return mass / denominator if denominator else 1.0


def _assign(
    candidates: list[_Candidate],
    events: list[OutageOnset],
    catalog_size: int,
    window: timedelta,
    dependents: dict[str, set[str]],
) -> list[UpstreamGroup]:
    order = sorted(candidates, key=lambda c: (c.chance, -len(c.members), c.provider))
    taken: set[int] = set()
    groups = []
    for candidate in order:
        left = tuple(m for m in candidate.members if m.id not in taken)
        own = candidate.own if candidate.own is None or candidate.own.id not in taken else None
        if not left:
            continue
        users = dependents[candidate.provider]
        chance = _chance(left, own, users, events, catalog_size, window)
        if not _qualifies(left, own, chance):
            continue
        taken.update(m.id for m in left)
        if own is not None:
            taken.add(own.id)
        since = min(m.onset for m in (*left, *([own] if own else [])))
        groups.append(
            UpstreamGroup(
                provider=candidate.provider,
                since=since,
                outage_ids=tuple(m.id for m in left),
                services=tuple(m.service for m in left),
                provider_outage_id=own.id if own else None,
                dependents=len(users),
                chance=chance,
            )
        )
    return sorted(groups, key=lambda g: (g.since, g.provider))
