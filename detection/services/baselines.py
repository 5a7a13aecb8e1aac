"""Fitting each series' seasonal baseline from its bucket history (scheduled, not per tick)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils import timezone

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
    (one batch of the nightly refit, baselines_refit_queue).

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


@dataclass(frozen=True)
class RefitQueued:
    batches: int
    series: int


def baselines_refit_queue(*, now: dt.datetime | None = None) -> RefitQueued:
    """The nightly refit, as one task per BASELINE_REFIT_BATCH_SIZE series.

    In one task it grew with the catalog (about 0.6 s a seasonal series: an hour at 6,000)
    past the broker's visibility timeout, and Celery handed it to a second worker while the
    first still ran (soak tester, forty-sixth session). Batches of minutes each run once,
    spread over the workers; a batch redelivered after a worker died only fits its series
    again."""
    from detection.tasks import baselines_refit_batch  # tasks import the services

    until = minute_floor(now or timezone.now())
    keys = series_active(now=until)
    size = settings.BASELINE_REFIT_BATCH_SIZE
    batches = [keys[i : i + size] for i in range(0, len(keys), size)]
    for batch in batches:
        baselines_refit_batch.delay(keys=[list(key) for key in batch], until=until.isoformat())
    return RefitQueued(batches=len(batches), series=len(keys))


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
