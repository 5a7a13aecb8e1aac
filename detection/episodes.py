"""An outage's episodes, read from its timeline: its first run (episode 0) and each relapse
after a reopening within OUTAGE_REOPEN_MINUTES (episode n after the n-th REOPENED event).

A relapse's countries are the COUNTRY events that follow its REOPENED event (written by
detection.services.outages: the countries whose series fire in it, or that stand out in an
overall-only one). The outage's own ``countries`` add up every episode: a country of the first
run is not affected by a relapse that comes from elsewhere, and its followers must not hear
"problems again" about it (finding F25).
"""

from __future__ import annotations

from dataclasses import dataclass

from detection.models import Outage, OutageEvent


@dataclass(frozen=True)
class Episode:
    number: int  # 0: the first run; n: since the n-th reopening
    countries: list[str]  # most reported first; []: no country stands out (everywhere)


def outage_episode(*, outage: Outage, number: int | None = None) -> Episode:
    """Episode ``number`` of the outage (None: the current one, the latest)."""
    events = OutageEvent.objects.filter(
        outage=outage, kind__in=[OutageEvent.Kind.REOPENED, OutageEvent.Kind.COUNTRY]
    ).order_by("at", "id")
    current, by_episode = 0, {0: []}
    for kind, country in events.values_list("kind", "country"):
        if kind == OutageEvent.Kind.REOPENED:
            current += 1
            by_episode[current] = []
        elif country and country not in by_episode[current]:
            by_episode[current].append(country)
    number = current if number is None else number
    if number == 0:
        # The first run's countries are the outage's, as they were before relapses existed.
        return Episode(0, list(outage.countries or []))
    listed = list(outage.countries or [])
    rank = {c: k for k, c in enumerate(listed)}
    codes = sorted(by_episode.get(number, []), key=lambda c: (rank.get(c, len(listed)), c))
    return Episode(number, codes)
