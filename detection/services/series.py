"""Which series exist, and their bucket history as dense numpy arrays."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.conf import settings
from django.db.models import Sum

from detection.models import OVERALL, Bucket, SeriesState
from detection.services.timeutil import to_epoch_minute
from reports.models import Service

SeriesKey = tuple[int, str]  # (service_id, country); country "" = overall


def series_active(*, now: dt.datetime) -> list[SeriesKey]:
    """Every active service overall, plus each country with enough evidence to be a series.

    A (service, country) pair becomes a series of its own once it has SERIES_MIN_COUNTED
    counted reports within SERIES_IDLE_DAYS. Counted reports come one per network per service
    and dedup window, so that takes several networks or a long time; until then its reports
    count in the service's overall series only. Otherwise anyone could make thousands of
    series (and baselines to fit) with one report per made-up pair. A series drops out again
    when it goes idle, unless its detector is still in a non-calm state.
    """
    services = list(Service.objects.filter(is_active=True).values_list("id", flat=True))
    active = set(services)
    keys: set[SeriesKey] = {(sid, OVERALL) for sid in services}
    since = now - dt.timedelta(days=settings.SERIES_IDLE_DAYS)
    established = (
        Bucket.objects.filter(minute__gte=since, counted__gt=0)
        .exclude(country=OVERALL)
        .values("service_id", "country")
        .annotate(evidence=Sum("counted"))
        .filter(evidence__gte=settings.SERIES_MIN_COUNTED)
        .values_list("service_id", "country")
    )
    keys.update((sid, c) for sid, c in established if sid in active)
    busy = SeriesState.objects.exclude(state=0).values_list("service_id", "country")
    keys.update((sid, c) for sid, c in busy if sid in active)
    return sorted(keys)


def counts_matrix(keys: list[SeriesKey], *, first: dt.datetime, minutes: int) -> np.ndarray:
    """(len(keys), minutes) counted reports per minute from `first`, zeros where no bucket."""
    index = {key: i for i, key in enumerate(keys)}
    out = np.zeros((len(keys), minutes))
    start = to_epoch_minute(first)
    last = first + dt.timedelta(minutes=minutes)
    service_ids = {sid for sid, _ in keys}
    rows = Bucket.objects.filter(
        minute__gte=first, minute__lt=last, service_id__in=service_ids, counted__gt=0
    ).values_list("service_id", "country", "minute", "counted")
    for sid, country, minute, counted in rows:
        i = index.get((sid, country))
        if i is not None:
            out[i, to_epoch_minute(minute) - start] = counted
    return out


def series_history(
    key: SeriesKey, *, until: dt.datetime, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Epoch minutes and counts of one series from its first bucket (within `days`) to `until`.

    Starts at the series' first report, so a new service is not mistaken for weeks of calm.
    """
    since = until - dt.timedelta(days=days)
    rows = list(
        Bucket.objects.filter(
            service_id=key[0], country=key[1], minute__gte=since, minute__lt=until
        )
        .order_by("minute")
        .values_list("minute", "counted")
    )
    end = to_epoch_minute(until)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    start = to_epoch_minute(rows[0][0])
    minutes = np.arange(start, end, dtype=np.int64)
    values = np.zeros(len(minutes))
    for minute, counted in rows:
        values[to_epoch_minute(minute) - start] = counted
    return minutes, values
