"""Fitting each series' seasonal baseline from its bucket history (scheduled, not per tick)."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from detection.clocks import country_clock
from detection.core import fit_baseline
from detection.models import OVERALL, Outage, SeriesBaseline
from detection.services.config import detector_config
from detection.services.series import SeriesKey, series_active, series_history
from detection.services.timeutil import minute_floor, to_epoch_minute


@dataclass(frozen=True)
class BaselinesRefitted:
    fitted: int
    methods: dict[str, int]


def baselines_refit(
    *,
    now: dt.datetime | None = None,
    only_cold: bool = False,
    keys: list[SeriesKey] | None = None,
) -> BaselinesRefitted:
    """Refit every active series, only those on a cold-start baseline, or the `keys` given
    (one batch of the nightly refit, baselines_refit_batch).

    Cold-start baselines ("prior", "mean") are refitted often so a new service gets a real
    seasonal model as soon as it has the history for one.
    """
    until = minute_floor(now or timezone.now())
    if keys is None:
        keys = series_active(now=until)
    if only_cold:
        keys = _cold_first(keys)[: settings.BASELINE_COLD_REFITS_PER_RUN]
    methods: dict[str, int] = {}
    for key in keys:
        baseline = baseline_fit(key=key, until=until)
        methods[baseline.method] = methods.get(baseline.method, 0) + 1
    return BaselinesRefitted(fitted=len(keys), methods=methods)


def baselines_refit_start(*, now: dt.datetime | None = None) -> dt.datetime:
    """Start the nightly refit of every series: a chain of batches (baselines_refit_batch)
    fitted on the history up to the minute returned."""
    from detection.tasks import baselines_refit_batch  # the tasks import the services

    until = minute_floor(now or timezone.now())
    baselines_refit_batch.delay(until=until.isoformat(), after=None)
    return until


def baselines_refit_batch(*, until: dt.datetime, after: SeriesKey | None) -> BaselinesRefitted:
    """One batch of the nightly refit: the BASELINE_REFIT_BATCH_SIZE active series after
    `after` (None: from the first), fitted on their history up to `until`; then the next
    batch is queued, if any.

    The nightly refit ran as one task, about 0.6 s a seasonal series: past about 6,000 it
    outlived the broker's visibility timeout and Celery handed it to a second worker while
    the first still ran (soak tester, forty-sixth session). A chain of batches keeps each
    task to minutes and, as before, one worker process busy with it: the alerts' sweeps
    and sends never queue behind hundreds of batches. The series come sorted, so a key
    marks the place even when series come or go meanwhile.
    """
    from detection.tasks import baselines_refit_batch as next_batch

    keys = series_active(now=until)
    start = bisect.bisect_right(keys, after) if after is not None else 0
    batch = keys[start : start + settings.BASELINE_REFIT_BATCH_SIZE]
    result = baselines_refit(now=until, keys=batch)
    if batch and start + len(batch) < len(keys):
        last = batch[-1]
        if _first_to_queue(f"detection:refit:{until.isoformat()}:{last[0]}:{last[1]}"):
            next_batch.delay(until=until.isoformat(), after=list(last))
    return result


def _first_to_queue(key: str) -> bool:
    """Whether no run of this batch queued the next one already: a batch redelivered after
    its worker died (acks_late) must not start a second chain. Without Redis, queue it."""
    try:
        return bool(cache.add(key, 1, timeout=2 * 86400))
    except RedisError:
        return True


def _cold_first(keys: list[SeriesKey]) -> list[SeriesKey]:
    """Series without a seasonal baseline, the longest without any fit first.

    The cold refit runs every 15 minutes; a bounded number per run keeps a flood of new
    series from stretching it (and the database) without end, and the oldest-first order
    means every series gets its turn.
    """
    fitted = {
        (row.service_id, row.country): row
        for row in SeriesBaseline.objects.filter(service_id__in={sid for sid, _ in keys}).only(
            "service_id", "country", "method", "fitted_at"
        )
    }
    cold = [key for key in keys if key not in fitted or fitted[key].method != "hgb"]
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(cold, key=lambda key: (fitted[key].fitted_at if key in fitted else never, key))


def baseline_fit(*, key: SeriesKey, until: dt.datetime):
    config = detector_config()
    minutes, values = series_history(key, until=until, days=config.baseline.history_days)
    fitted_at = to_epoch_minute(until)
    first = int(minutes[0]) if len(minutes) else fitted_at
    baseline = fit_baseline(
        minutes,
        values,
        fitted_at=fitted_at,
        exclude=_outage_mask(key, minutes),
        config=config,
        clock=country_clock(key[1], first, fitted_at),
    )
    SeriesBaseline.objects.update_or_create(
        service_id=key[0],
        country=key[1],
        defaults={"params": baseline.to_dict(), "method": baseline.method, "fitted_at": until},
    )
    return baseline


def _outage_mask(key: SeriesKey, minutes: np.ndarray) -> np.ndarray | None:
    """Minutes inside this service's known outages: not what normal looks like."""
    if not len(minutes):
        return None
    outages = Outage.objects.filter(service_id=key[0]).only(
        "started_at", "resolved_at", "countries"
    )
    spans = [
        (to_epoch_minute(o.started_at), to_epoch_minute(o.resolved_at or timezone.now()))
        for o in outages
        if key[1] == OVERALL or key[1] in o.countries
    ]
    if not spans:
        return None
    mask = np.zeros(len(minutes), dtype=bool)
    for start, end in spans:
        mask |= (minutes >= start) & (minutes < end)
    return mask
