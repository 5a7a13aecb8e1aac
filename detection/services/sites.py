"""The sites behind a (service, country) and behind a (service, problem): what makes the
pair a series of its own, and what puts the problem in the service's 24-hour breakdown.

A pair becomes a series (series_active) once counted reports naming it came from
SERIES_MIN_SITES distinct sites (reports.networks: an IPv4 /24, an IPv6 /48) within
SERIES_IDLE_DAYS. A count of counted reports was not enough: a network's dedup window is per
service, not per country, so one address at its rate limit sent three counted reports for a
made-up country on each of 100 services in half an hour, and the detector tracked, fitted
and refitted 200 new series an hour (abuse tester, forty-eighth session). Sites are what
one machine cannot multiply: the outage gate counts them too. Likewise a problem is in the
service page's "problems in the last 24 hours" only from listing_sites() sites within that
day (problems_listed): one host's four sites naming "Website" every 15 minutes made a quiet
service's page say "Website 100 %".

Each relation (SERIES: SeriesSite, PROBLEMS: ProblemSite) is kept the same way. The
aggregation records the sites as it counts each span of reports (in its own statement on
PostgreSQL, sites_record_ctes; else sites_record, in its transaction), one row per (key,
site) with the minute of the site's latest counted report. "K distinct sites within the
window" is exactly "the K latest sites are all within it", so each key needs only its K
latest: a span adds at most K a key, and the daily purge keeps K (sites_purge). A key whose
K latest all reported within the last `fresh` is not regrouped by site again until they age
past it: a flood's keys are not sorted by site every minute. Its newer sites go unrecorded
meanwhile, so the window that admits is longer by that much: a pair stays a series for at
least SERIES_IDLE_DAYS after its last sites, a problem stays listed for at least a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Model

from detection.models import OVERALL, ProblemSite, SeriesSite
from detection.services.bulk import db_params, fetch_all
from detection.services.config import listing_sites
from reports.models import Report
from reports.selectors import report_site_sql


@dataclass(frozen=True)
class _Sites:
    """One relation of sites: its table, the report columns that key it, which counted
    reports name a key (SQL on the reports `s`), how many sites admit a key, within what."""

    name: str  # of its statements' CTEs and parameters
    model: type[Model]
    keys: tuple[str, ...]
    where: str | None
    k: Callable[[], int]
    window: Callable[[], dt.timedelta]
    # How long a key's K latest sites stand without being recorded again.
    fresh: Callable[[], dt.timedelta]


def _series_window() -> dt.timedelta:
    return dt.timedelta(days=settings.SERIES_IDLE_DAYS)


SERIES = _Sites(
    name="series_site",
    model=SeriesSite,
    keys=("service_id", "country"),
    where="s.country <> %(overall)s",
    k=lambda: settings.SERIES_MIN_SITES,
    window=_series_window,
    # An eighth of the idle window (21 hours at 7 days): a busy pair adds K rows about once
    # a day.
    fresh=lambda: _series_window() / 8,
)
# The breakdown's day (selectors.problem_breakdown).
PROBLEM_WINDOW = dt.timedelta(hours=24)
PROBLEMS = _Sites(
    name="problem_site",
    model=ProblemSite,
    keys=("service_id", "problem_id"),
    where=None,  # a counted report always names a problem
    k=listing_sites,
    window=lambda: PROBLEM_WINDOW,
    # An hour, not an eighth of the day: the breakdown's edge is off by at most this much
    # (its last sites may be recorded that much too early), and the breakdown reads whole
    # hours anyway. A busy problem adds at most K rows an hour; the daily purge keeps K.
    fresh=lambda: dt.timedelta(hours=1),
)
_RELATIONS = (SERIES, PROBLEMS)


def _since(relation: _Sites, now: dt.datetime) -> dt.datetime:
    return now - relation.window() - relation.fresh()


def sites_window(now: dt.datetime) -> dt.datetime:
    """The oldest `last_seen` that still admits a pair at `now`."""
    return _since(SERIES, now)


def sites_record(start: dt.datetime, end: dt.datetime) -> None:
    """Record the latest sites of each key's counted reports in [start, end), for both
    relations; re-running a span changes nothing (a site keeps its latest minute). On
    PostgreSQL the buckets' statement does this itself, from the reports it reads anyway
    (sites_record_ctes)."""
    q = connection.ops.quote_name
    span = (
        f"(SELECT r.service_id, r.country, r.problem_id, r.counted,"
        f" {report_site_sql('r')} AS site, r.created_at FROM {q(Report._meta.db_table)} r"
        " WHERE r.created_at >= %(start)s AND r.created_at < %(end)s)"
    )
    params = {**sites_record_params(end), "start": start, "end": end}
    with connection.cursor() as cursor:
        for relation in _RELATIONS:
            sql = f"WITH {_reads(relation, span)} {_upsert(relation)}"
            if connection.vendor != "postgresql":
                values = db_params(list(params.values()))
                cursor.execute(sql, dict(zip(params, values, strict=True)))
                continue
            # As the buckets' statement does (buckets.py), for this statement (LOCAL: the
            # caller's transaction): see sites_record_ctes.
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL enable_nestloop = DEFAULT")


def sites_record_ctes(reports: str, *, site: str = "site") -> str:
    """Common table expressions of a PostgreSQL statement (comma-separated, to follow others)
    that record the latest sites of the counted reports of `reports`, for both relations: a
    relation of a span's reports with service_id, country, problem_id, counted, created_at
    and their site in column `site`. Its parameters are sites_record_params'. Read from the
    buckets' own rows, a flood's reports are read once: a second read for their sites cost
    500k reports about 0.6 s (bench/scale/README.md). `site` names the column so that the
    buckets' rows are read as they are: renamed in a CTE of their own, which both relations
    read, they were copied once more.

    Without nested loops: the statistics of the newest sites lag behind them, and estimated
    at a row the fresh pairs were joined in a nested loop, read again for every report (a
    minute's bucketing at 10k series grew from 0.15 s to 0.5 s in six minutes)."""
    ctes = [
        f"{_reads(r, reports, site)}, {r.name}_written AS ({_upsert(r)} RETURNING 1)"
        for r in _RELATIONS
    ]
    return ", ".join(ctes)


def sites_record_params(end: dt.datetime) -> dict[str, Any]:
    """The parameters of the sites' statements, for a span ending at `end`."""
    params: dict[str, Any] = {"overall": OVERALL}
    for relation in _RELATIONS:
        params[f"{relation.name}_fresh"] = end - relation.fresh()
        params[f"{relation.name}_k"] = relation.k()
    return params


def _reads(relation: _Sites, reports: str, site: str = "site") -> str:
    """The sites to record: of each key not fresh (its K latest sites all within `fresh`),
    its K latest in the span."""
    table = connection.ops.quote_name(relation.model._meta.db_table)
    name, keys = relation.name, ", ".join(relation.keys)
    s_keys = ", ".join(f"s.{key}" for key in relation.keys)
    joined = " AND ".join(f"f.{key} = s.{key}" for key in relation.keys)
    named = " AND ".join(c for c in ("s.counted", relation.where, "f.service_id IS NULL") if c)
    return f"""
        {name}_fresh AS (
            SELECT {keys} FROM {table} WHERE last_seen >= %({name}_fresh)s
            GROUP BY {keys} HAVING COUNT(*) >= %({name}_k)s
        ), {name}_seen AS (
            SELECT {s_keys}, s.{site} AS site, MAX(s.created_at) AS last_seen
            FROM {reports} s
            LEFT JOIN {name}_fresh f ON {joined}
            WHERE {named}
            GROUP BY {s_keys}, s.{site}
        ), {name}_latest AS (
            SELECT {keys}, site, last_seen, ROW_NUMBER() OVER (
                PARTITION BY {keys} ORDER BY last_seen DESC, site
            ) AS n
            FROM {name}_seen
        )"""


def _upsert(relation: _Sites) -> str:
    table = connection.ops.quote_name(relation.model._meta.db_table)
    keys = ", ".join(relation.keys)
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return f"""
        INSERT INTO {table} ({keys}, site_key, last_seen)
        SELECT {keys}, site, last_seen FROM {relation.name}_latest
        WHERE n <= %({relation.name}_k)s
        ON CONFLICT ({keys}, site_key)
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
    return fetch_all(sql, [sites_window(now), SERIES.k()])


def problems_listed(*, service_id: int, end: dt.datetime) -> set[str]:
    """The slugs of the service's problems with listing_sites() sites within the day before
    `end` (and at most `fresh` more: see the module's docstring)."""
    return set(
        ProblemSite.objects.filter(service_id=service_id, last_seen__gte=_since(PROBLEMS, end))
        .values("problem__slug")
        .annotate(sites=Count("id"))
        .filter(sites__gte=PROBLEMS.k())
        .values_list("problem__slug", flat=True)
    )


def sites_purge(*, now: dt.datetime) -> dict[str, int]:
    """Drop the sites outside each relation's window and each key's beyond its K latest; how
    many, by relation ("series_site", "problem_site")."""
    return {relation.name: _purge(relation, now) for relation in _RELATIONS}


def _purge(relation: _Sites, now: dt.datetime) -> int:
    old, _ = relation.model._default_manager.filter(last_seen__lt=_since(relation, now)).delete()
    table = connection.ops.quote_name(relation.model._meta.db_table)
    keys = ", ".join(relation.keys)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM ("
            f" SELECT id, ROW_NUMBER() OVER (PARTITION BY {keys}"
            f" ORDER BY last_seen DESC, site_key) AS n FROM {table}) AS ranked WHERE n > %s)",
            [relation.k()],
        )
        return old + cursor.rowcount
