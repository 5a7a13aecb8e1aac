"""The sites behind each (service, country): what makes the pair a series of its own.

A pair becomes a series (series_active) once counted reports naming it came from
SERIES_MIN_SITES distinct sites (reports.networks: an IPv4 /24, an IPv6 /48) within
SERIES_IDLE_DAYS. A count of counted reports was not enough: a network's dedup window is per
service, not per country, so one address at its rate limit sent three counted reports for a
made-up country on each of 100 services in half an hour, and the detector tracked, fitted
and refitted 200 new series an hour (abuse tester, forty-eighth session). Sites are what
one machine cannot multiply: the outage gate counts them too.

The aggregation records the sites as it counts each span of reports (in its own statement on
PostgreSQL, sites_record_ctes; else sites_record, in its transaction), one SeriesSite row
per (pair, site) with the minute of the site's latest counted report. "K distinct sites
within the window" is exactly "the K latest sites are all within it", so each pair needs
only its K latest: a span adds at most K a pair, and the daily purge keeps K (sites_purge).
A pair whose K latest all reported within the last `_fresh()` is not regrouped by site again
until they age past it: a flood's pairs are not sorted by site every minute. Its newer sites
go unrecorded meanwhile, so the window that admits is longer by that much: a pair stays a
series for at least SERIES_IDLE_DAYS after its last sites.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection

from detection.models import OVERALL, SeriesSite
from detection.services.bulk import db_params, fetch_all
from reports.models import Report
from reports.selectors import report_site_sql


def _fresh() -> dt.timedelta:
    """How long a pair's K latest sites stand without being recorded again: an eighth of the
    idle window (21 hours at 7 days), so a busy pair adds K rows about once a day."""
    return dt.timedelta(days=settings.SERIES_IDLE_DAYS) / 8


def sites_window(now: dt.datetime) -> dt.datetime:
    """The oldest `last_seen` that still admits a pair at `now`."""
    return now - dt.timedelta(days=settings.SERIES_IDLE_DAYS) - _fresh()


def sites_record(start: dt.datetime, end: dt.datetime) -> None:
    """Record the latest sites of each pair's counted reports in [start, end); re-running a
    span changes nothing (a site keeps its latest minute). On PostgreSQL the buckets'
    statement does this itself, from the reports it reads anyway (sites_record_ctes)."""
    q = connection.ops.quote_name
    span = (
        f"(SELECT r.service_id, r.country, r.counted, {report_site_sql('r')} AS site,"
        f" r.created_at FROM {q(Report._meta.db_table)} r"
        " WHERE r.created_at >= %(start)s AND r.created_at < %(end)s)"
    )
    sql = f"WITH {_reads(span)} {_upsert()}"
    params = {**sites_record_params(end), "start": start, "end": end}
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            values = db_params(list(params.values()))
            cursor.execute(sql, dict(zip(params, values, strict=True)))
            return
        # As the buckets' statement does (buckets.py), for this statement (LOCAL: the
        # caller's transaction): see sites_record_ctes.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL enable_nestloop = DEFAULT")


def sites_record_ctes(reports: str) -> str:
    """Common table expressions of a PostgreSQL statement (comma-separated, to follow others)
    that record the latest sites of the counted reports of `reports`: a relation of a span's
    reports with service_id, country, counted, site and created_at. Its parameters are
    sites_record_params'. Read from the buckets' own rows, a flood's reports are read once:
    a second read for their sites cost 500k reports about 0.6 s (bench/scale/README.md).

    Without nested loops: the statistics of the newest sites lag behind them, and estimated
    at a row the fresh pairs were joined in a nested loop, read again for every report (a
    minute's bucketing at 10k series grew from 0.15 s to 0.5 s in six minutes)."""
    return f"{_reads(reports)}, site_written AS ({_upsert()} RETURNING 1)"


def sites_record_params(end: dt.datetime) -> dict[str, object]:
    """The parameters of the sites' statements, for a span ending at `end`."""
    return {"sites_fresh": end - _fresh(), "sites_k": settings.SERIES_MIN_SITES, "overall": OVERALL}


def _reads(reports: str) -> str:
    """The sites to record: of each pair not fresh (its K latest sites all within _fresh()),
    its K latest in the span."""
    table = connection.ops.quote_name(SeriesSite._meta.db_table)
    return f"""
        site_fresh AS (
            SELECT service_id, country FROM {table} WHERE last_seen >= %(sites_fresh)s
            GROUP BY service_id, country HAVING COUNT(*) >= %(sites_k)s
        ), site_seen AS (
            SELECT s.service_id, s.country, s.site, MAX(s.created_at) AS last_seen
            FROM {reports} s
            LEFT JOIN site_fresh f ON f.service_id = s.service_id AND f.country = s.country
            WHERE s.counted AND s.country <> %(overall)s AND f.service_id IS NULL
            GROUP BY s.service_id, s.country, s.site
        ), site_latest AS (
            SELECT service_id, country, site, last_seen, ROW_NUMBER() OVER (
                PARTITION BY service_id, country ORDER BY last_seen DESC, site
            ) AS n
            FROM site_seen
        )"""


def _upsert() -> str:
    table = connection.ops.quote_name(SeriesSite._meta.db_table)
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return f"""
        INSERT INTO {table} (service_id, country, site_key, last_seen)
        SELECT service_id, country, site, last_seen FROM site_latest WHERE n <= %(sites_k)s
        ON CONFLICT (service_id, country, site_key)
        DO UPDATE SET last_seen = {later}({table}.last_seen, EXCLUDED.last_seen)"""


def sites_admitted(*, now: dt.datetime) -> list[tuple[int, str]]:
    """The pairs with SERIES_MIN_SITES sites within the window, sorted by (service id,
    country) as Python sorts them (code points: the "C" collation)."""
    q = connection.ops.quote_name
    binary = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    sql = (
        f"SELECT service_id, country FROM {q(SeriesSite._meta.db_table)}"
        f" WHERE last_seen >= %s GROUP BY service_id, country HAVING COUNT(*) >= %s"
        f" ORDER BY service_id, country{binary}"
    )
    return fetch_all(sql, [sites_window(now), settings.SERIES_MIN_SITES])


def sites_purge(*, now: dt.datetime) -> int:
    """Drop the sites outside the window and each pair's beyond its K latest; how many."""
    old, _ = SeriesSite.objects.filter(last_seen__lt=sites_window(now)).delete()
    table = connection.ops.quote_name(SeriesSite._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM ("
            f" SELECT id, ROW_NUMBER() OVER (PARTITION BY service_id, country"
            f" ORDER BY last_seen DESC, site_key) AS n FROM {table}) AS ranked WHERE n > %s)",
            [settings.SERIES_MIN_SITES],
        )
        return old + cursor.rowcount
