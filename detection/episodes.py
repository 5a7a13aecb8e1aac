"""An outage's episodes, read from its timeline: its first run (episode 0) and each relapse
after a reopening within OUTAGE_REOPEN_MINUTES (episode n after the n-th REOPENED event).

A relapse's countries are the COUNTRY events that follow its REOPENED event (written by
detection.services.outages: the countries whose series fire in it, or that stand out in an
overall-only one). The outage's own ``countries`` add up every episode: a country of the first
run is not affected by a relapse that comes from elsewhere, and its followers must not hear
"problems again" about it (finding F25).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from detection.models import OVERALL, Bucket, Outage, OutageEvent


@dataclass(frozen=True)
class Episode:
    number: int  # 0: the first run; n: since the n-th reopening
    countries: list[str]  # most reported first; []: no country stands out (everywhere)
    # A relapse's onset (the first minute of the reports that reopened it) and when it was
    # detected; the outage's own started_at and detected_at for the first run.
    since: datetime | None = None
    detected_at: datetime | None = None


@dataclass(frozen=True)
class EpisodeTally:
    total: int  # counted reports from the episode's onset
    peak: int  # the most in one minute
    problems: list[dict]  # [{"problem": slug, "count": n}], most reported first (top five)


def outage_episode(*, outage: Outage, number: int | None = None) -> Episode:
    """Episode ``number`` of the outage (None: the current one, the latest)."""
    events = OutageEvent.objects.filter(
        outage=outage, kind__in=[OutageEvent.Kind.REOPENED, OutageEvent.Kind.COUNTRY]
    ).order_by("at", "id")
    current = 0
    by_episode: dict[int, list[str]] = {0: []}
    when: dict[int, tuple[datetime, datetime]] = {}
    for kind, country, at, since in events.values_list("kind", "country", "at", "since"):
        if kind == OutageEvent.Kind.REOPENED:
            current += 1
            by_episode[current] = []
            # Reopened before onsets were recorded: from the detection minute.
            when[current] = (since or at.replace(second=0, microsecond=0), at)
        elif country and country not in by_episode[current]:
            by_episode[current].append(country)
    number = current if number is None else number
    if number == 0:
        # The first run's countries are the outage's, as they were before relapses existed.
        return Episode(0, list(outage.countries or []), outage.started_at, outage.detected_at)
    # In the order recorded, most extra reports first (detection.services.outages), then those
    # that joined later: in the first run's order, a relapse from France 14 and the United
    # Kingdom 7 read "Most reports come from the United Kingdom and France".
    codes = by_episode.get(number, [])
    since, detected = when.get(number, (None, None))
    return Episode(number, codes, since, detected)


def episode_tally(*, outage: Outage, episode: Episode, until: datetime) -> EpisodeTally:
    """A relapse's own counts, from its onset up to ``until``: what its messages quote, not
    the whole outage's (whose first run may be another country's). Its problems are those
    the outage may list, from more sites than one host can hold (problems_backed)."""
    # Here, not at the top: detection.services imports this module (through the outages).
    from detection.services.outage_tally import problems_backed

    backed = problems_backed([outage.id])[outage.id]
    rows = Bucket.objects.filter(
        service_id=outage.service_id, country=OVERALL, minute__gte=episode.since, minute__lt=until
    ).values_list("counted", "problems")
    total, peak = 0, 0
    problems: Counter[str] = Counter()
    for counted, by_problem in rows:
        total += counted
        peak = max(peak, counted)
        problems.update({slug: int(n) for slug, n in (by_problem or {}).items() if slug in backed})
    top = sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return EpisodeTally(total, peak, [{"problem": slug, "count": n} for slug, n in top])
