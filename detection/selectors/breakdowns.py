"""The pages' breakdowns of counted reports: hourly sparklines, and the last day's by country and
by problem (read from the hourly rollups where whole hours allow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from detection.models import OVERALL, Bucket, HourlyBucket, SeriesState
from detection.presentation import country_name
from detection.reads import Reads
from detection.selectors.common import LEVEL_CODES, _problem_names, minutes_between
from reports.models import Service

SPARKLINE_HOURS = 24


def sparklines(
    *, hours: int = SPARKLINE_HOURS, now: datetime | None = None
) -> dict[int, list[int]]:
    """Counted reports per hour over the last `hours` for every service that has any.

    Two queries for the whole catalog (minute buckets grouped by hour, and the hourly
    rollup), never one per service.
    """
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    index = {first + timedelta(hours=i): i for i in range(hours)}
    lines: dict[int, list[int]] = {}

    def put(service_id: int, hour: datetime, value: int) -> None:
        i = index.get(hour.astimezone(UTC))
        if i is not None:
            line = lines.setdefault(service_id, [0] * hours)
            line[i] = max(line[i], value)

    minute_sums = (
        Bucket.objects.filter(country=OVERALL, minute__gte=first, minute__lte=now)
        .annotate(hour=TruncHour("minute"))
        .values("service_id", "hour")
        .annotate(n=Sum("counted"))
    )
    for row in minute_sums:
        put(row["service_id"], row["hour"], int(row["n"] or 0))
    rollups = HourlyBucket.objects.filter(country=OVERALL, hour__gte=first, hour__lte=now)
    for service_id, hour, counted in rollups.values_list("service_id", "hour", "counted"):
        put(service_id, hour, counted)
    return lines


def sparklines_to(
    *, service_ids: Sequence[int], end: datetime, hours: int = SPARKLINE_HOURS
) -> dict[int, list[int]]:
    """Counted reports per hour over the `hours` hours before `end` (a minute: the buckets'
    watermark), in hours that end there rather than on the clock's: the lines of services in
    problems now, whose rise the hour in progress holds. One query for all of them."""
    start = end - timedelta(hours=hours)
    lines = {pk: [0] * hours for pk in service_ids}
    rows = Bucket.objects.filter(
        service_id__in=service_ids, country=OVERALL, minute__gte=start, minute__lt=end
    ).values_list("service_id", "minute", "counted")
    for service_id, minute, counted in rows:
        lines[service_id][int((minute - start).total_seconds()) // 3600] += counted
    return lines


def _hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _buckets_between(
    service: Service,
    start: datetime,
    end: datetime,
    shape: Callable[[QuerySet], QuerySet],
    watermark: datetime | None,
) -> QuerySet:
    """The service's buckets of the minutes of [start, end) (minutes_between; `end` at most
    the bucketing `watermark`) as one query, `shape` making each table's rows the same
    columns: the whole hours before `end`'s from the hourly rollups, only the rest (the
    window's leading partial hour, and `end`'s hour) from minute buckets. A giant outage's
    day of countries is about 270k minute rows; this reads about two hours of them and a
    rollup per series and hour.

    The bucketing job writes a rollup in the transaction that changes its minutes, so it is
    their sum up to the watermark; a minute bucket past it was not written by that job (a
    fill, a test's rows), so before its first run (no watermark) every minute is read from
    minute buckets. One statement: both tables are read at one snapshot, never one before a
    bucketing commit and the other after it.
    """
    whole = _hour_floor(start) + timedelta(hours=1)
    trusted = whole if watermark is None else max(whole, _hour_floor(min(watermark, end)))
    minutes = Bucket.objects.filter(
        minutes_between(start, min(whole, end)) | minutes_between(trusted, end), service=service
    )
    hours = HourlyBucket.objects.filter(service=service, hour__gte=whole, hour__lt=trusted)
    return shape(minutes).union(shape(hours), all=True)


def country_breakdown(
    *, service: Service, hours: int = 24, now: datetime | None = None, reads: Reads | None = None
) -> list[dict[str, Any]]:
    """Countries with counted reports in the last `hours` of minutes already counted (as
    report_counts: with detection behind, "No reports in the last 24 hours" stood under "4848
    reports in the last 24 hours", words tester F9), most first, with their level."""
    reads = reads or Reads(now)
    end = reads.bucketed_until
    sums = _buckets_between(
        service,
        end - timedelta(hours=hours),
        end,
        lambda rows: (
            rows.exclude(country=OVERALL).values_list("country").annotate(n=Sum("counted"))
        ),
        reads.watermark,
    )
    totals: Counter[str] = Counter()
    for country, n in sums:
        totals[country] += n
    levels = dict(
        SeriesState.objects.filter(service=service)
        .exclude(country=OVERALL)
        .values_list("country", "level")
    )
    return [
        {
            "country": country,
            "name": country_name(country),
            "count": n,
            "level": LEVEL_CODES.get(levels.get(country, 0), "ok"),
        }
        for country, n in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        if n > 0
    ]


def problem_breakdown(
    *, service: Service, now: datetime | None = None, reads: Reads | None = None
) -> list[dict[str, Any]]:
    """Counted reports per problem in the last 24 hours of minutes already counted (as
    country_breakdown), most first, with percentages.

    Only the problems whose counted reports in that day came from listing_sites() distinct
    sites, more than one host can hold (detection.services.sites.problems_listed), as an
    outage's top problems: one host's sites naming "Website" every 15 minutes all day made a
    quiet service's page say "Website 100 %". The others are left out, and the percentages
    are shares of the listed problems' reports; the counts are counted reports, as before."""
    # Here, not at the top: detection.services imports this module (through the tick).
    from detection.services.sites import PROBLEM_WINDOW, problems_listed

    reads = reads or Reads(now)
    end = reads.bucketed_until
    listed = problems_listed(service_id=service.pk, end=end)
    totals: Counter[str] = Counter()
    rows = _buckets_between(
        service,
        end - PROBLEM_WINDOW,
        end,
        lambda rows: rows.filter(country=OVERALL).values_list("problems", flat=True),
        reads.watermark,
    )
    for problems in rows:
        for slug, n in (problems or {}).items():
            if slug in listed:
                totals[slug] += int(n)
    total = sum(totals.values())
    names = _problem_names(list(totals))
    return [
        {
            "problem": slug,
            "name": names.get(slug, slug),
            "count": n,
            "percent": round(100 * n / total) if total else 0,
        }
        # Ties by slug: the rows (so a Counter's first-seen order) come in no set order.
        for slug, n in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        if n > 0
    ]
