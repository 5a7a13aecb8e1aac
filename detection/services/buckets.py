"""Aggregating reports into 1-minute buckets per series, and minute buckets into hours.

All counting happens in the database (GROUP BY) and lands with bulk upserts, so re-running
any minute yields the same rows. A watermark (JobCursor "buckets") remembers how far we got;
every run also re-counts the last few minutes before it, which picks up reports that were
committed after their minute had been aggregated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from detection.models import OVERALL, Bucket, HourlyBucket, JobCursor
from detection.services.timeutil import hour_floor, minute_floor
from reports.models import Report

CURSOR = "buckets"
# One query window: bounds memory and transaction length during a long catch-up.
CHUNK = dt.timedelta(hours=6)
_COUNTS = {
    "reports": Count("id"),
    "counted": Count("id", filter=Q(counted=True)),
    "reporters": Count("reporter_key", distinct=True),
}


@dataclass(frozen=True)
class BucketsAggregated:
    start: dt.datetime
    end: dt.datetime
    buckets: int
    hours: int


def buckets_aggregate(
    *, now: dt.datetime | None = None, since: dt.datetime | None = None
) -> BucketsAggregated:
    """Aggregate every closed minute since the watermark (minus the late window).

    since: also (re)aggregate from this minute, for reports written into the past (a backfill
    such as `simulate history` on a running stack, whose watermark is already at now).
    """
    end = minute_floor(now or timezone.now())  # the current minute is still filling
    start = _start(end)
    if since is not None:
        start = min(start, minute_floor(since))
    written = hours = 0
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + CHUNK, end)
        with transaction.atomic():
            written += _aggregate_minutes(chunk_start, chunk_end)
            hours += _rollup_hours(chunk_start, chunk_end)
            _advance(chunk_end)
        chunk_start = chunk_end
    return BucketsAggregated(start=start, end=end, buckets=written, hours=hours)


def _advance(position: dt.datetime) -> None:
    # Never backwards: a backfill walks up from the past while the beat may be further on.
    JobCursor.objects.get_or_create(name=CURSOR, defaults={"position": position})
    JobCursor.objects.filter(name=CURSOR, position__lt=position).update(position=position)


def _start(end: dt.datetime) -> dt.datetime:
    late = dt.timedelta(minutes=settings.BUCKET_LATE_MINUTES)
    cursor = JobCursor.objects.filter(name=CURSOR).first()
    if cursor is not None:
        return min(cursor.position - late, end)
    first = Report.objects.aggregate(first=Min("created_at"))["first"]
    return minute_floor(first) if first is not None else end - late


def _aggregate_minutes(start: dt.datetime, end: dt.datetime) -> int:
    reports = Report.objects.filter(created_at__gte=start, created_at__lt=end).annotate(
        bucket=TruncMinute("created_at")
    )
    rows: dict[tuple[int, str, dt.datetime], Bucket] = {}
    for row in reports.values("service_id", "country", "bucket").annotate(**_COUNTS):
        key = (row["service_id"], row["country"], row["bucket"])
        rows[key] = _bucket(key, row)
    for row in reports.values("service_id", "bucket").annotate(**_COUNTS):
        key = (row["service_id"], OVERALL, row["bucket"])
        rows[key] = _bucket(key, row)
    problems = (
        reports.filter(counted=True)
        .values("service_id", "country", "bucket", "problem__slug")
        .annotate(n=Count("id"))
    )
    for row in problems:
        for country in (row["country"], OVERALL):
            bucket = rows[(row["service_id"], country, row["bucket"])]
            slug = row["problem__slug"]
            bucket.problems[slug] = bucket.problems.get(slug, 0) + row["n"]
    return _upsert(Bucket, rows.values(), "minute")


def _bucket(key: tuple[int, str, dt.datetime], counts: dict) -> Bucket:
    service_id, country, minute = key
    return Bucket(
        service_id=service_id,
        country=country,
        minute=minute,
        reports=counts["reports"],
        counted=counts["counted"],
        reporters=counts["reporters"],
        problems={},
    )


def _rollup_hours(start: dt.datetime, end: dt.datetime) -> int:
    """Recompute the hourly rollups of every hour that [start, end) touches."""
    first_hour = hour_floor(start)
    last_hour = hour_floor(end - dt.timedelta(microseconds=1)) + dt.timedelta(hours=1)
    minutes = Bucket.objects.filter(minute__gte=first_hour, minute__lt=last_hour).annotate(
        hour=TruncHour("minute")
    )
    rows: dict[tuple[int, str, dt.datetime], HourlyBucket] = {}
    sums = minutes.values("service_id", "country", "hour").annotate(
        n_reports=Sum("reports"), n_counted=Sum("counted"), n_reporters=Sum("reporters")
    )
    for row in sums:
        key = (row["service_id"], row["country"], row["hour"])
        rows[key] = HourlyBucket(
            service_id=key[0],
            country=key[1],
            hour=key[2],
            reports=row["n_reports"],
            counted=row["n_counted"],
            # Sum of per-minute distinct reporters: an upper bound on the hour's distinct ones.
            reporters=row["n_reporters"],
            problems={},
        )
    problems: dict[tuple[int, str, dt.datetime], dict[str, int]] = defaultdict(dict)
    for row in minutes.values("service_id", "country", "hour", "problems"):
        if not row["problems"]:
            continue
        merged = problems[(row["service_id"], row["country"], row["hour"])]
        for slug, n in row["problems"].items():
            merged[slug] = merged.get(slug, 0) + n
    for key, merged in problems.items():
        rows[key].problems = merged
    return _upsert(HourlyBucket, rows.values(), "hour")


def _upsert(model: type[Bucket] | type[HourlyBucket], rows, time_field: str) -> int:
    """Insert or overwrite the counts: recomputed totals replace earlier ones, never add."""
    rows = list(rows)
    model.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["service", "country", time_field],
        update_fields=["reports", "counted", "reporters", "problems"],
        batch_size=1000,
    )
    return len(rows)
