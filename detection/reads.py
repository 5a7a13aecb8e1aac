"""The rows several parts of one page or answer need, read once for it.

A cold service page asked for the bucketing cursor five times, for its baseline's method
four times and for its baseline three (the status, the counters, the charts, the breakdowns
and the history each read them again; query audit). A Reads is built where one read starts
(detection.live, the API's service answer) and handed to the selectors it calls; it dies
with that read. It is never kept across requests: a process-wide copy would outlive the
next tick's commit, which the versioned cache (detection.cache) is there to follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property

from django.utils import timezone

from detection.core import Baseline
from detection.models import OVERALL, JobCursor, SeriesBaseline
from detection.presentation import cold_start


def buckets_watermark() -> datetime | None:
    """The end (exclusive) of the minutes the bucketing job has counted; None before its
    first run."""
    return (
        JobCursor.objects.filter(name=JobCursor.BUCKETS).values_list("position", flat=True).first()
    )


def services_cold(*, service_ids: Iterable[int]) -> frozenset[int]:
    """Which of these services are on a cold start (no history yet: their "expected" is a
    guess for a new service), in one query: those whose overall series has the prior as its
    baseline, or no baseline row yet (the tick judges a new series against the prior in
    memory until the cold refit stores one: up to 15 minutes, its first outage's; regression
    tester, forty-fourth session)."""
    return Reads().cold(service_ids)


class Reads:
    """One read's memo: the buckets' watermark, series baselines and which services are on a
    cold start, each read the first time a part asks for it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or timezone.now()
        self._baselines: dict[tuple[int, str], Baseline | None] = {}
        # The overall series' baseline method by service id (None: no baseline row).
        self._methods: dict[int, str | None] = {}

    @cached_property
    def watermark(self) -> datetime | None:
        return buckets_watermark()

    @property
    def bucketed_until(self) -> datetime:
        """The end of the minutes already counted into buckets, at `now`: a minute the tick
        has not reached yet would draw as a drop to zero at a chart's right edge (and read as
        reports falling)."""
        floor = self.now.replace(second=0, microsecond=0)
        return floor if self.watermark is None else min(floor, self.watermark)

    def baselines(
        self, service_ids: Iterable[int], country: str = OVERALL
    ) -> dict[int, Baseline | None]:
        """The series' baselines (None: not fitted yet), those not read yet in one query."""
        ids = list(dict.fromkeys(service_ids))
        missing = [pk for pk in ids if (pk, country) not in self._baselines]
        if missing:
            rows = SeriesBaseline.objects.filter(service_id__in=missing, country=country)
            found = {row.service_id: row for row in rows}
            for pk in missing:
                row = found.get(pk)
                self._baselines[pk, country] = None if row is None else row.baseline()
                if country == OVERALL:
                    self._methods[pk] = None if row is None else row.method
        return {pk: self._baselines[pk, country] for pk in ids}

    def baseline(self, service_id: int, country: str = OVERALL) -> Baseline | None:
        return self.baselines([service_id], country)[service_id]

    def cold(self, service_ids: Iterable[int]) -> frozenset[int]:
        """services_cold, from the baseline rows read already and one query for the rest
        (their method column only)."""
        ids = set(service_ids)
        missing = ids - self._methods.keys()
        if missing:
            rows = SeriesBaseline.objects.filter(service_id__in=missing, country=OVERALL)
            methods = dict(rows.values_list("service_id", "method"))
            self._methods |= {pk: methods.get(pk) for pk in missing}
        return frozenset(pk for pk in ids if cold_start(self._methods[pk]))
