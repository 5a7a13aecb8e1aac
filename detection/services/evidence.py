"""Each (service, country)'s counted reports over the idle window, kept hour by hour.

series_active asks every minute which pairs have SERIES_MIN_COUNTED counted reports within
SERIES_IDLE_DAYS. Summing seven days of minute buckets each minute grows with the traffic
(7 days of 10k series is about 9 million buckets: bench/scale/README.md). So the window is cut
in two: whole hours, summed from the hourly rollups into SeriesEvidence and moved on by one
hour's rollups in and one hour's out when the hour turns; and the newest minutes (from the
first hour the aggregation may still change), read from the minute buckets as before. The
window so starts at the oldest whole hour: up to an hour (plus the late window) shorter than
SERIES_IDLE_DAYS, which for an idle limit of days changes nothing that matters.

The sums are rows in the database, moved in the caller's transaction under the lock of their
cursor row: a crash cannot leave them half moved. A backfill that rewrites rollups already
summed drops the cursor (buckets_aggregate), and the next call sums the window afresh.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from detection.models import OVERALL, HourlyBucket, JobCursor, SeriesEvidence
from detection.services.timeutil import hour_floor

CURSOR = "evidence"
# Further behind than this (or ahead: a call about the past), sum the window afresh instead
# of moving it hour by hour.
SLIDE_AT_MOST = dt.timedelta(hours=48)


def evidence_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[first, until): the whole hours summed in SeriesEvidence for `now`; the minute
    buckets from `until` on are counted as they are (the aggregation may still change
    them until the late window has passed)."""
    until = hour_floor(now - dt.timedelta(minutes=settings.BUCKET_LATE_MINUTES + 1))
    first = until - dt.timedelta(days=settings.SERIES_IDLE_DAYS) + dt.timedelta(hours=1)
    return first, until


def evidence_advance(*, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Bring SeriesEvidence to the window of `now`; returns that window.

    The cursor row exists only while the sums are those of its position (it is written in
    the transaction that moves them), and is locked while they move.
    """
    first, until = evidence_window(now)
    cursor = JobCursor.objects.filter(name=CURSOR).first()
    if cursor is not None and cursor.position == until:
        return first, until
    try:
        with transaction.atomic():
            cursor = JobCursor.objects.select_for_update().filter(name=CURSOR).first()
            if cursor is not None and cursor.position == until:
                return first, until
            if cursor is None or abs(until - cursor.position) > SLIDE_AT_MOST:
                _recount(first, until)
            else:
                span = until - first
                _slide((cursor.position - span, cursor.position), (first, until))
            if cursor is None:
                JobCursor.objects.create(name=CURSOR, position=until)
            else:
                JobCursor.objects.filter(name=CURSOR).update(position=until)
    except IntegrityError:
        pass  # another process summed them first (its cursor row won): they are in place
    return first, until


def evidence_forget() -> None:
    """The rollups of summed hours changed (a backfill): sum afresh next time."""
    JobCursor.objects.filter(name=CURSOR).delete()


def evidence_position() -> dt.datetime | None:
    cursor = JobCursor.objects.filter(name=CURSOR).first()
    return None if cursor is None else cursor.position


def _recount(first: dt.datetime, until: dt.datetime) -> None:
    SeriesEvidence.objects.all().delete()
    _add(
        "SELECT service_id, country, SUM(counted) FROM {hourly}"
        " WHERE hour >= %s AND hour < %s AND counted > 0 AND country <> %s"
        " GROUP BY service_id, country",
        [first, until, OVERALL],
        replace=True,
    )


def _slide(old: tuple[dt.datetime, dt.datetime], new: tuple[dt.datetime, dt.datetime]) -> None:
    """From the sums of the hours [old) to those of [new): add the hours only in the new
    window, take away those only in the old one (either way: a call about a minute ago, as
    the cold refit's can be, moves it back)."""
    inside = "(hour >= %s AND hour < %s)"
    _add(
        f"SELECT service_id, country, SUM(CASE WHEN {inside} THEN counted ELSE -counted END)"
        " FROM {hourly}"
        f" WHERE {inside} <> {inside} AND counted > 0 AND country <> %s"
        " GROUP BY service_id, country",
        [*new, *new, *old, OVERALL],
        replace=False,
    )
    SeriesEvidence.objects.filter(counted__lte=0).delete()


def _add(select: str, params: list, *, replace: bool) -> None:
    q = connection.ops.quote_name
    table = q(SeriesEvidence._meta.db_table)
    select = select.format(hourly=q(HourlyBucket._meta.db_table))
    value = "EXCLUDED.counted" if replace else f"{table}.counted + EXCLUDED.counted"
    params = [
        connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime) else p
        for p in params
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (service_id, country, counted) {select}"
            f" ON CONFLICT (service_id, country) DO UPDATE SET counted = {value}",
            params,
        )
