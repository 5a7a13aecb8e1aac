"""A service's series of counted reports with its expected band, at a window and resolution: the
charts' and the series API's numbers, and an open outage's newest minutes for its status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from detection.core import Baseline
from detection.models import OVERALL, Bucket, HourlyBucket
from detection.reads import Reads
from detection.selectors.common import epoch_minute, minute_datetime
from reports.models import Service

# Series query parameters: minutes per window and per resolution.
WINDOWS = {"1h": 60, "6h": 360, "24h": 1440, "7d": 7 * 1440, "30d": 30 * 1440}
RESOLUTIONS = {"1m": 1, "15m": 15, "1h": 60}
# The longest window each resolution may cover, so a response stays at most ~1500 points.
MAX_WINDOW = {"1m": 1440, "15m": 7 * 1440, "1h": 30 * 1440}
DEFAULT_RESOLUTION = {"1h": "1m", "6h": "1m", "24h": "15m", "7d": "1h", "30d": "1h"}
# The band drawn around the expected count: mean +- this many standard deviations.
BAND_SIGMAS = 2.0


@dataclass(frozen=True)
class SeriesPoint:
    at: datetime
    minutes: int  # minutes covered so far; the newest bucket may still be filling
    complete: bool
    observed: int
    expected: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Series:
    service: Service
    country: str
    step_minutes: int
    start: datetime
    end: datetime
    baseline_method: str | None
    points: list[SeriesPoint]
    window: str = ""

    @property
    def resolution(self) -> str:
        return next(name for name, step in RESOLUTIONS.items() if step == self.step_minutes)

    @property
    def band_sigmas(self) -> float:
        return BAND_SIGMAS


def series_window(
    *,
    service: Service,
    window: str = "24h",
    resolution: str | None = None,
    country: str = OVERALL,
    reads: Reads | None = None,
) -> Series:
    """The last `window` of one series at `resolution` (validated by the caller), up to the
    minutes counted into buckets so far (exclusive: a closed minute not yet counted would
    read as 0; `reads`: the read this is part of, at its `now`). Whole buckets of `step` back
    to the window's start, so a window no longer than a bucket still spans it."""
    reads = reads or Reads()
    step = RESOLUTIONS[resolution or DEFAULT_RESOLUTION[window]]
    end = epoch_minute(reads.bucketed_until)
    first = (end - WINDOWS[window]) // step * step
    count = ((end - 1) // step * step - first) // step + 1
    series = series_build(
        service=service, country=country, end_minute=end, step=step, count=count, reads=reads
    )
    return replace(series, window=window)


def series_between(
    *,
    service: Service,
    start: datetime,
    end: datetime,
    country: str = OVERALL,
    points: int = 240,
    reads: Reads | None = None,
) -> Series:
    """A series covering [start, end) with a resolution that gives at most ~`points` buckets,
    hourly once its start is older than the minute buckets kept (BUCKET_RETENTION_DAYS): only
    the hourly rollups are left there, and a finer chart of an old outage drew zeros."""
    span = max(epoch_minute(end) - epoch_minute(start), 1)
    step = next((s for s in (1, 15, 60) if span / s <= points), 60)
    if start < timezone.now() - timedelta(days=settings.BUCKET_RETENTION_DAYS):
        step = 60
    # Buckets sit on the step's grid: count from the one holding `start` to the one holding
    # the last minute (from the span alone, an off-grid range lost up to a step of its start).
    first, last = epoch_minute(start) // step, (epoch_minute(end) - 1) // step
    return series_build(
        service=service,
        country=country,
        end_minute=epoch_minute(end),
        step=step,
        count=max(last - first + 1, 1),
        reads=reads,
    )


def series_build(
    *,
    service: Service,
    country: str,
    end_minute: int,
    step: int,
    count: int,
    reads: Reads | None = None,
) -> Series:
    """`count` buckets of `step` minutes ending at `end_minute` (exclusive); its baseline from
    `reads` (the read this is part of) if given.

    Buckets are aligned to multiples of `step`; the newest one may be partial, and its
    expected count then covers only the minutes that have passed, so a filling bucket does
    not look like a drop.
    """
    first = ((end_minute - 1) // step) * step - (count - 1) * step
    return _series_assemble(
        service=service,
        country=country,
        end_minute=end_minute,
        step=step,
        count=count,
        observed=_observed(service, country, first, end_minute, step),
        baseline=(reads or Reads()).baseline(service.pk, country),
    )


def _series_assemble(
    *,
    service: Service,
    country: str,
    end_minute: int,
    step: int,
    count: int,
    observed: dict[int, int],
    baseline: Baseline | None,
) -> Series:
    """series_build's answer from what it read: counted reports per bucket start and the
    series' baseline (None: nothing expected yet)."""
    last_start = ((end_minute - 1) // step) * step
    starts = np.arange(last_start - (count - 1) * step, last_start + 1, step, dtype=np.int64)
    lengths = np.minimum(end_minute - starts, step)
    expected, lower, upper, method = _expected_band(baseline, starts, lengths, step)
    points = [
        SeriesPoint(
            at=minute_datetime(int(s)),
            minutes=int(n),
            complete=bool(n == step),
            observed=observed.get(int(s), 0),
            expected=None if expected is None else round(float(expected[i]), 3),
            lower=None if lower is None else round(float(lower[i]), 3),
            upper=None if upper is None else round(float(upper[i]), 3),
        )
        for i, (s, n) in enumerate(zip(starts, lengths, strict=True))
    ]
    return Series(
        service=service,
        country=country,
        step_minutes=step,
        start=minute_datetime(int(starts[0])),
        end=minute_datetime(end_minute),
        baseline_method=method,
        points=points,
    )


def _observed(service: Service, country: str, start: int, end: int, step: int) -> dict[int, int]:
    """Counted reports per bucket start (epoch minutes); absent buckets are 0."""
    rows = Bucket.objects.filter(
        service=service,
        country=country,
        minute__gte=minute_datetime(start),
        minute__lt=minute_datetime(end),
    )
    if step < 60:
        return _bucket_sums(rows.values_list("service_id", "minute", "counted"), step).get(
            service.pk, {}
        )
    # Hourly: the rollup and the minute buckets summed by the database. Either may be
    # missing (old minutes pruned, the current hour not rolled up yet), so take the larger.
    by_hour = rows.annotate(hour=TruncHour("minute")).values("hour").annotate(n=Sum("counted"))
    sums = Counter({epoch_minute(r["hour"]): int(r["n"] or 0) for r in by_hour})
    hourly = HourlyBucket.objects.filter(
        service=service,
        country=country,
        hour__gte=minute_datetime(start),
        hour__lt=minute_datetime(end),
    ).values_list("hour", "counted")
    for hour, counted in hourly:
        m = epoch_minute(hour)
        sums[m] = max(sums[m], counted)
    return dict(sums)


def _bucket_sums(rows: Iterable[tuple[int, datetime, int]], step: int) -> dict[int, dict[int, int]]:
    """(service id, minute, counted) rows summed per service and `step`-minute bucket start
    (epoch minutes)."""
    sums: dict[int, Counter[int]] = {}
    for service_id, minute, counted in rows:
        m = epoch_minute(minute)
        sums.setdefault(service_id, Counter())[m - m % step] += counted
    return {service_id: dict(counter) for service_id, counter in sums.items()}


def _expected_band(
    baseline: Baseline | None, starts: np.ndarray, lengths: np.ndarray, step: int
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, str | None]:
    if baseline is None:
        return None, None, None, None
    mu = baseline.expected(starts, step)
    if lengths[-1] != step:
        mu[-1] = baseline.expected(starts[-1:], int(lengths[-1]))[0]
    # Summing k buckets averages out the independent part of the noise but not the part
    # that is correlated over time (the baseline's level error).
    k = np.maximum(lengths / max(baseline.step_minutes, 1), 1e-9)
    alpha = baseline.level_dispersion + (baseline.dispersion - baseline.level_dispersion) / k
    sd = np.sqrt(mu + alpha * mu**2)
    lower = np.maximum(mu - BAND_SIGMAS * sd, 0.0)
    upper = mu + BAND_SIGMAS * sd
    return mu, lower, upper, baseline.method
