"""Aggregating reports into 1-minute buckets per series, and minute buckets into hours.

All counting happens in the database (GROUP BY) and lands with bulk upserts, so re-running
any minute yields the same rows. A watermark (JobCursor "buckets") remembers how far we got;
every run also re-counts the last few minutes before it, which picks up reports that were
committed after their minute had been aggregated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from detection.models import OVERALL, Bucket, HourlyBucket, JobCursor
from detection.services.bulk import server_cursor
from detection.services.sites import sites_record, sites_record_ctes, sites_record_params
from detection.services.timeutil import CLOCK_SLACK, hour_floor, minute_floor
from detection.transactions import open_transactions
from reports.models import Report
from reports.selectors import report_site, report_site_sql

logger = logging.getLogger(__name__)

CURSOR = JobCursor.BUCKETS
# Moved whenever minutes before the late window are rewritten (a backfill, a reset): what
# readers that keep buckets between minutes watch (buckets_settled).
REWRITE_CURSOR = "buckets-rewrite"
# The newest report id the last run read, and when (on the database's clock): what the next
# run takes as seen once no writer of that time is still open (_ids_final).
IDS_CURSOR = "buckets-ids"
# One query window: bounds memory and transaction length during a long catch-up.
CHUNK = dt.timedelta(hours=6)
_COUNTS = {
    "reports": Count("id"),
    "counted": Count("id", filter=Q(counted=True)),
    # Distinct sites (reports.networks): one /48 is one reporter however many /56s it sends
    # from. A report stored before its site was kept stands for its network.
    "reporters": Count(report_site(), distinct=True),
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
    cursor = JobCursor.objects.filter(name=CURSOR).first()
    start = settled = _start(end, cursor, backfill=since is not None)
    newest, read_at = _newest_id()
    late = _late_reports(settled, end, since, None if cursor is None else cursor.last_id, newest)
    if late is not None:
        since = late if since is None else min(since, late)
    if since is not None:
        start = min(start, minute_floor(since))
    written = hours = 0
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + CHUNK, end)
        with transaction.atomic():
            watermark = _lock(chunk_start)
            if chunk_start < settled:
                buckets_rewritten(chunk_start)
            elif since is None and watermark is not None:
                chunk_start = _recount_from(chunk_start, min(watermark, chunk_end))
            if connection.vendor == "postgresql":  # its statement records the sites too
                counted, deltas = _aggregate_minutes_sql(chunk_start, chunk_end)
                written += counted
                hours += _rollups_move(deltas)
            else:
                written += _aggregate_minutes_orm(chunk_start, chunk_end)
                hours += _rollup_hours_orm(*_hours(chunk_start, chunk_end))
                sites_record(chunk_start, chunk_end)
            _advance(chunk_end)
        chunk_start = chunk_end
    with transaction.atomic():  # one commit for both cursors' rows (a disk flush each)
        seen = _ids_final(newest, read_at, cursor is None or cursor.last_id is None)
        if seen is not None:  # never backwards: a backfill may run beside the beat
            JobCursor.objects.filter(name=CURSOR).filter(
                Q(last_id__isnull=True) | Q(last_id__lt=seen)
            ).update(last_id=seen)
    return BucketsAggregated(start=start, end=end, buckets=written, hours=hours)


def _ids_final(newest: int | None, read_at: dt.datetime | None, first: bool) -> int | None:
    """The newest report id below which no report can still commit: what the next run may
    take as seen (_late_reports looks for late commits only above it); None: keep it.

    Ids are handed out when a report is written, not when it commits, so a transaction still
    open can commit an id below the newest one seen (a web process stalled between its write
    and its commit, for longer than the late window). On SQLite writers take turns and commit
    in id order: the newest is final. On PostgreSQL every id up to `newest` was handed out by
    a transaction that began before `read_at` (the database's time of that read), so it is
    final once no writer that began by then is open. A writer open since before holds seen
    back (to the last run's newest, if that one is final), and its reports are found when it
    commits. first: no run has set seen yet; then 0 rather than nothing, or the next run
    would not look for late commits at all.
    """
    if connection.vendor != "postgresql" or newest is None or read_at is None:
        return newest
    oldest = open_transactions(Report._meta.db_table, writers_only=True)
    pending = JobCursor.objects.filter(name=IDS_CURSOR).first()
    JobCursor.objects.update_or_create(
        name=IDS_CURSOR, defaults={"position": read_at, "last_id": newest}
    )

    def final_at(when: dt.datetime) -> bool:
        return not oldest.unseen and (oldest.oldest_start is None or oldest.oldest_start > when)

    if final_at(read_at):
        return newest
    if pending is not None and pending.last_id is not None and final_at(pending.position):
        return pending.last_id
    return 0 if first else None


def _newest_id() -> tuple[int | None, dt.datetime | None]:
    """The newest report id, and on PostgreSQL the database's time when it was read (at the
    statement's end, so after its snapshot: _ids_final)."""
    if connection.vendor != "postgresql":
        return Report.objects.aggregate(newest=Max("id"))["newest"], None
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Report._meta.db_table)
        cursor.execute(f"SELECT max(id), clock_timestamp() FROM {table}")
        return cursor.fetchone()


def _late_reports(
    settled: dt.datetime,
    end: dt.datetime,
    since: dt.datetime | None,
    seen: int | None,
    newest: int | None,
) -> dt.datetime | None:
    """The minute of the oldest report committed since the last run for a minute before
    `settled` and `since` (a backfill's own reports are not late), or None. `seen`: the newest
    id below which no report was left to commit at the last run (_ids_final; None before the
    first); `newest`: the newest id now (_newest_id).

    Each run counts again only the late window before its watermark. A report stamped
    earlier than that by the time it commits (a web host whose clock is behind, an insert
    that waited on a lock) would otherwise never reach a bucket: stored, answered 201, and
    in no chart, count or baseline. Report ids only grow, so the reports committed since the
    last run are those above the id it saw (a range of the primary key: a minute's worth).
    """
    if newest is None or seen is None or newest <= seen:
        return None
    oldest = end - dt.timedelta(days=settings.BUCKET_RETENTION_DAYS)
    before = settled if since is None else min(settled, minute_floor(since))
    found = Report.objects.filter(
        id__gt=seen, id__lte=newest, created_at__lt=before, created_at__gte=oldest
    ).aggregate(first=Min("created_at"), n=Count("id"))
    if not found["n"]:
        return None
    logger.warning(
        "%d reports were committed after their minutes were counted (the oldest for %s: a "
        "web host's clock behind, or a slow commit); counting again from there",
        found["n"],
        found["first"],
    )
    return minute_floor(found["first"])


def buckets_rewritten(first: dt.datetime) -> None:
    """Record that buckets from `first` on were rewritten outside the late window; call it in
    the transaction that rewrites them, or after it committed."""
    JobCursor.objects.update_or_create(name=REWRITE_CURSOR, defaults={"position": first})


def buckets_settled() -> tuple[dt.datetime | None, tuple | None]:
    """(S, mark): the aggregation changes no bucket before minute S (it recounts from its
    watermark less the late window, and only moves forward); anything else that does
    changes `mark`. S is None before the first aggregation (anything may change)."""
    rows = {
        name: (position, updated_at)
        for name, position, updated_at in JobCursor.objects.filter(
            name__in=[CURSOR, REWRITE_CURSOR]
        ).values_list("name", "position", "updated_at")
    }
    watermark = rows.get(CURSOR)
    late = dt.timedelta(minutes=settings.BUCKET_LATE_MINUTES)
    return (None if watermark is None else watermark[0] - late), rows.get(REWRITE_CURSOR)


def _lock(start: dt.datetime) -> dt.datetime | None:
    """One aggregation at a time (a beat's run and a backfill): each rolls up what it changed
    from minute buckets that no other run is changing. Locks the watermark's row and returns
    its position (None if this run creates it)."""
    _, created = JobCursor.objects.get_or_create(name=CURSOR, defaults={"position": start})
    cursor = JobCursor.objects.select_for_update().get(name=CURSOR)
    return None if created else cursor.position


def _recount_from(start: dt.datetime, counted_until: dt.datetime) -> dt.datetime:
    """The first minute of [start, counted_until) (the late window: minutes already counted)
    with more reports than its buckets counted; counted_until if none has.

    Every run recounts the late window for reports committed after their minute was counted,
    but nearly every minute there has none: counting them again took most of a run at 100k
    series (bench/scale/README.md). Reports are only ever added there (a backfill that removes
    some passes `since` and recounts everything), so a minute whose reports number what its
    overall buckets (one per service, every report) say has nothing new.
    """
    if start >= counted_until:
        return start
    minute = TruncMinute("created_at", tzinfo=dt.UTC)
    reports = dict(
        Report.objects.filter(created_at__gte=start, created_at__lt=counted_until)
        .annotate(m=minute)
        .values("m")
        .annotate(n=Count("id"))
        .values_list("m", "n")
    )
    counted = dict(
        Bucket.objects.filter(country=OVERALL, minute__gte=start, minute__lt=counted_until)
        .values("minute")
        .annotate(n=Sum("reports"))
        .values_list("minute", "n")
    )
    changed = [m for m, n in reports.items() if counted.get(m, 0) != n]
    return min(changed, default=counted_until)


def _advance(position: dt.datetime) -> None:
    # Never backwards: a backfill walks up from the past while the beat may be further on.
    JobCursor.objects.get_or_create(name=CURSOR, defaults={"position": position})
    JobCursor.objects.filter(name=CURSOR, position__lt=position).update(position=position)


def _start(end: dt.datetime, cursor: JobCursor | None, *, backfill: bool) -> dt.datetime:
    """Where this run counts from, given the watermark's row (None before the first run).
    ``backfill``: a run that counts a past span on purpose (``since``), whose end is behind
    the watermark because the live counting is further on, not because a clock jumped."""
    late = dt.timedelta(minutes=settings.BUCKET_LATE_MINUTES)
    if cursor is not None and cursor.position > end + CLOCK_SLACK and not backfill:
        # A run whose clock was ahead (a VM resumed with a wrong clock, an NTP step) left the
        # watermark in the future: left there, nothing would be counted until the clock
        # caught up, and the reports of those minutes would never reach a bucket.
        logger.error(
            "The buckets watermark is at %s, ahead of the clock (%s): a clock that jumped? "
            "Counting again from %s.",
            cursor.position,
            end,
            end - late,
        )
        # Only while it is still ahead: a run that put it back and counted on meanwhile (a
        # later minute) is not undone, nor are the minutes it settled counted again.
        ahead = JobCursor.objects.filter(name=CURSOR, position__gt=end + CLOCK_SLACK)
        if ahead.update(position=end):
            return end - late
        cursor.refresh_from_db(fields=["position"])
    if cursor is not None:
        return min(cursor.position - late, end)
    first = Report.objects.aggregate(first=Min("created_at"))["first"]
    return minute_floor(first) if first is not None else end - late


def _aggregate_minutes_sql(start: dt.datetime, end: dt.datetime) -> tuple[int, list[tuple]]:
    """PostgreSQL: count and upsert the buckets in one statement; no bucket comes to Python.

    The same rows as the ORM path (tests compare them): one pass over the reports with
    GROUPING SETS for the country and the overall series, the counted reports per problem as
    a JSON object per bucket. A bucket whose counts did not change (most of the late minutes,
    counted again every run) is not rewritten. Returns the buckets counted and, per (series,
    hour) with a changed bucket, by how much its rollup moves: (service id, country, hour,
    reports, counted, reporters, problems).
    """
    with server_cursor() as cursor:
        # Sorts of a flood's reports (1M: about 100 MB) in memory rather than on disk: 5.6 s
        # down to 3.6 s. The newest minutes' statistics always lag behind them: without
        # nested loops the joins of these row sets cannot turn quadratic on a low estimate
        # (one such plan took three minutes). Disabling them makes every plan look costly
        # enough to JIT-compile, which took 1.4 s for two buckets: no JIT. For this statement.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_aggregate_sql(), {**sites_record_params(end), "start": start, "end": end})
        rows = cursor.fetchall()
        cursor.execute("SET LOCAL enable_nestloop = DEFAULT")
        cursor.execute("SET LOCAL jit = DEFAULT")
    counted = rows[0][0] if rows else 0
    return counted, [row[1:] for row in rows if row[1] is not None]


@cache
def _aggregate_sql() -> str:
    q = connection.ops.quote_name
    bucket, report = q(Bucket._meta.db_table), q(Report._meta.db_table)
    problem = q(Report._meta.get_field("problem").related_model._meta.db_table)
    # GROUPING(country) = 1 on the overall rows; a report without a country (none should
    # exist) counts in the overall series only, as in the ORM path.
    series = "CASE WHEN GROUPING(country) = 1 THEN '' ELSE country END"
    keep = "HAVING GROUPING(country) = 1 OR country <> ''"
    key = "service_id, country, hour"
    return f"""
        WITH r AS (
            -- Reporters told apart byte by byte (COLLATE "C"): the same distinct keys as the
            -- database's collation gives, which breaks its ties that way, without its
            -- locale-aware comparisons in the sorts (1M reports: 10.1-10.4 -> 8.5-9.6 s).
            SELECT r.service_id, r.country, date_trunc('minute', r.created_at, 'UTC') AS minute,
                   r.counted,
                   {report_site_sql("r")} COLLATE "C" AS reporter_key,
                   p.slug, r.problem_id, r.created_at
            FROM {report} r JOIN {problem} p ON p.id = r.problem_id
            WHERE r.created_at >= %(start)s AND r.created_at < %(end)s
        ), {sites_record_ctes("r", site="reporter_key")}, counts AS (
            SELECT service_id, {series} AS country, minute, count(*) AS reports,
                   count(*) FILTER (WHERE counted) AS counted,
                   count(DISTINCT reporter_key) AS reporters
            FROM r GROUP BY GROUPING SETS ((service_id, country, minute), (service_id, minute))
            {keep}
        ), problems AS (
            SELECT service_id, country, minute, jsonb_object_agg(slug, n) AS problems
            FROM (
                SELECT service_id, {series} AS country, minute, slug, count(*) AS n
                FROM r WHERE counted
                GROUP BY GROUPING SETS ((service_id, country, minute, slug),
                                        (service_id, minute, slug))
                {keep}
            ) x GROUP BY service_id, country, minute
        ), new AS (
            SELECT c.service_id, c.country, c.minute, c.reports, c.counted, c.reporters,
                   COALESCE(p.problems, '{{}}'::jsonb) AS problems
            FROM counts c LEFT JOIN problems p USING (service_id, country, minute)
        ), old AS (
            -- As before this statement: its own writes are not visible to it.
            SELECT service_id, country, minute, reports, counted, reporters, problems
            FROM {bucket} WHERE minute >= %(start)s AND minute < %(end)s
        ), written AS (
            INSERT INTO {bucket} AS b
                (service_id, country, minute, reports, counted, reporters, problems)
            SELECT * FROM new
            ON CONFLICT (service_id, country, minute) DO UPDATE SET reports = EXCLUDED.reports,
                counted = EXCLUDED.counted, reporters = EXCLUDED.reporters,
                problems = EXCLUDED.problems
            WHERE (b.reports, b.counted, b.reporters, b.problems) IS DISTINCT FROM
                  (EXCLUDED.reports, EXCLUDED.counted, EXCLUDED.reporters, EXCLUDED.problems)
            RETURNING service_id, country, minute, reports, counted, reporters, problems
        ), change AS (
            SELECT w.service_id, w.country, date_trunc('hour', w.minute, 'UTC') AS hour,
                   w.reports - COALESCE(o.reports, 0) AS reports,
                   w.counted - COALESCE(o.counted, 0) AS counted,
                   w.reporters - COALESCE(o.reporters, 0) AS reporters,
                   w.problems AS plus, o.problems AS minus
            FROM written w LEFT JOIN old o USING (service_id, country, minute)
        ), delta AS (
            SELECT {key}, sum(reports) AS reports, sum(counted) AS counted,
                   sum(reporters) AS reporters
            FROM change GROUP BY {key}
        ), problem_delta AS (
            SELECT {key}, jsonb_object_agg(slug, n) AS problems
            FROM (
                SELECT {key}, slug, sum(n) AS n FROM (
                    SELECT {key}, e.key AS slug, e.value::bigint AS n
                    FROM change, jsonb_each_text(plus) e
                    UNION ALL
                    SELECT {key}, e.key, -e.value::bigint
                    FROM change, jsonb_each_text(minus) e
                ) d GROUP BY {key}, slug HAVING sum(n) <> 0
            ) x GROUP BY {key}
        )
        SELECT (SELECT count(*) FROM new), d.service_id, d.country, d.hour, d.reports,
               d.counted, d.reporters, COALESCE(p.problems, '{{}}'::jsonb)
        FROM (SELECT 1) one
        LEFT JOIN (delta d LEFT JOIN problem_delta p USING ({key})) ON true
    """


def _aggregate_minutes_orm(start: dt.datetime, end: dt.datetime) -> int:
    reports = Report.objects.filter(created_at__gte=start, created_at__lt=end).annotate(
        bucket=TruncMinute("created_at")
    )
    rows: dict[tuple[int, str, dt.datetime], Bucket] = {}
    for by_country in reports.values("service_id", "country", "bucket").annotate(**_COUNTS):
        key = (by_country["service_id"], by_country["country"], by_country["bucket"])
        rows[key] = _bucket(key, by_country)
    for overall in reports.values("service_id", "bucket").annotate(**_COUNTS):
        key = (overall["service_id"], OVERALL, overall["bucket"])
        rows[key] = _bucket(key, overall)
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


def _bucket(key: tuple[int, str, dt.datetime], counts: Mapping[str, Any]) -> Bucket:
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


def _hours(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The hours that [start, end) touches, as [first, last)."""
    first_hour = hour_floor(start)
    last_hour = hour_floor(end - dt.timedelta(microseconds=1)) + dt.timedelta(hours=1)
    return first_hour, last_hour


def _rollups_move(deltas: list[tuple]) -> int:
    """PostgreSQL: move each (series, hour)'s rollup by the difference its changed buckets
    made; recount, from its minutes, an hour that has no rollup yet (a series' first bucket
    of the hour) or whose rollup would go below zero. Returns the rollups written.

    A minute's work so follows the buckets that changed, not every bucket of their hours
    (recounting the hour of each changed series took 2.5 s a minute at 100k series). It
    relies on what the aggregation keeps true: a rollup is the sum of its hour's minute
    buckets, each bucket change rolled up in its transaction, one aggregation at a time.
    Rollups are found through their (service, country, hour) index.
    """
    if not deltas:
        return 0
    columns = map(list, zip(*deltas, strict=True))
    sids, countries, hours, reports, counted, reporters, problems = columns
    q = connection.ops.quote_name
    hourly = q(HourlyBucket._meta.db_table)
    merged = """COALESCE((
        SELECT jsonb_object_agg(slug, n) FROM (
            SELECT slug, sum(n) AS n FROM (
                SELECT e.key AS slug, e.value::bigint AS n FROM jsonb_each_text(h.problems) e
                UNION ALL
                SELECT e.key, e.value::bigint FROM jsonb_each_text(d.problems) e
            ) a GROUP BY slug HAVING sum(n) <> 0
        ) b
    ), '{}'::jsonb)"""
    # %b: the arrays travel in binary, so the problems' JSON is not escaped into array text
    # (0.47 s -> 0.17 s of the client's time a minute at 100k series, bench/scale/README.md).
    with server_cursor() as cursor:
        cursor.execute(
            f"UPDATE {hourly} h SET reports = h.reports + d.reports,"
            f" counted = h.counted + d.counted, reporters = h.reporters + d.reporters,"
            f" problems = {merged}"
            f" FROM unnest(%b::bigint[], %b::varchar[], %b::timestamptz[], %b::bigint[],"
            f" %b::bigint[], %b::bigint[], %b::text[]::jsonb[])"
            f" AS d(service_id, country, hour, reports, counted, reporters, problems)"
            f" WHERE h.service_id = d.service_id AND h.country = d.country AND h.hour = d.hour"
            # A rollup that would go below zero was not the sum of its minutes (buckets
            # changed behind the aggregation's back): it is recounted below instead.
            f" AND h.reports + d.reports >= 0 AND h.counted + d.counted >= 0"
            f" AND h.reporters + d.reporters >= 0"
            f" RETURNING h.service_id, h.country, h.hour",
            [sids, countries, hours, reports, counted, reporters, [_json(p) for p in problems]],
        )
        moved = set(cursor.fetchall())
    missing = [(s, c, h) for s, c, h in zip(sids, countries, hours, strict=True)
               if (s, c, h) not in moved]  # fmt: skip
    return len(moved) + _rollup_hours_sql(missing)


def _json(value) -> str:
    # Django's connection loads jsonb as text (JSONField parses it itself).
    return value if isinstance(value, str) else json.dumps(value)


def _rollup_hours_sql(missing: list[tuple[int, str, dt.datetime]]) -> int:
    """PostgreSQL: the rollup of each of these (series, hour)s, summed from its minutes
    (read through the (service, country, minute) index)."""
    if not missing:
        return 0
    sids, countries, hours = map(list, zip(*missing, strict=True))
    with server_cursor() as cursor:
        cursor.execute(_rollup_sql(), {"sids": sids, "countries": countries, "hours": hours})
        return cursor.rowcount


@cache
def _rollup_sql() -> str:
    q = connection.ops.quote_name
    bucket, hourly = q(Bucket._meta.db_table), q(HourlyBucket._meta.db_table)
    return f"""
        WITH b AS (
            SELECT t.service_id, t.country, t.hour,
                   m.reports, m.counted, m.reporters, m.problems
            FROM unnest(%(sids)b::bigint[], %(countries)b::varchar[], %(hours)b::timestamptz[])
                AS t(service_id, country, hour)
            CROSS JOIN LATERAL (
                SELECT reports, counted, reporters, problems FROM {bucket}
                WHERE service_id = t.service_id AND country = t.country
                  AND minute >= t.hour AND minute < t.hour + interval '1 hour'
            ) m
        ), sums AS (
            SELECT service_id, country, hour, sum(reports) AS reports,
                   sum(counted) AS counted, sum(reporters) AS reporters
            FROM b GROUP BY service_id, country, hour
        ), problems AS (
            SELECT service_id, country, hour, jsonb_object_agg(key, n) AS problems
            FROM (
                SELECT service_id, country, hour, e.key, sum(e.value::bigint) AS n
                FROM b, jsonb_each_text(b.problems) e
                GROUP BY service_id, country, hour, e.key
            ) x GROUP BY service_id, country, hour
        )
        INSERT INTO {hourly} AS h
            (service_id, country, hour, reports, counted, reporters, problems)
        SELECT s.service_id, s.country, s.hour, s.reports, s.counted, s.reporters,
               COALESCE(p.problems, '{{}}'::jsonb)
        FROM sums s LEFT JOIN problems p USING (service_id, country, hour)
        ON CONFLICT (service_id, country, hour) DO UPDATE SET reports = EXCLUDED.reports,
            counted = EXCLUDED.counted, reporters = EXCLUDED.reporters,
            problems = EXCLUDED.problems
    """


def _rollup_hours_orm(first_hour: dt.datetime, last_hour: dt.datetime) -> int:
    """Recompute the hourly rollups of every series in [first_hour, last_hour)."""
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
    for minute_row in minutes.values("service_id", "country", "hour", "problems"):
        if not minute_row["problems"]:
            continue
        merged = problems[(minute_row["service_id"], minute_row["country"], minute_row["hour"])]
        for slug, n in minute_row["problems"].items():
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
