"""The running counts of the outages being refreshed: counted reports, countries, problems and
distinct networks since each outage's onset, and which problems have the sites to be listed.

Recounting them every minute reads every bucket and every counted report since the onset: on
the day a giant service breaks, one outage of a million reports spent 1.2-1.3 s a minute on its
distinct networks alone, growing with every report (bench/scale/README.md). Instead:

- each outage keeps (Outage.tally) the sums of its buckets before the aggregation's settled
  minute (buckets_settled: no bucket before it changes again), so a minute reads only the
  buckets from there on: the late window, whatever the outage's length;
- its networks (sites: reports.networks) are rows of OutageNetwork, added as their counted
  reports come in (one INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO NOTHING): the count
  grows by the rows that were new. The reports read are those from the first minute whose
  overall bucket counts other than when last read: the new minute, and a late minute only when
  late reports came (re-reading the whole late window cost a 6k-a-minute outage 0.3-0.6 s a minute).
- the sites behind each of its problems (OutageProblemSite: a problem is listed only from more
  sites than one host can hold) are added from the same reports, but only until a problem has
  enough: a minute whose every problem has them reads no report for them.

All are read for all the tick's outages at once. A rewrite of settled buckets (a backfill:
buckets_settled's mark moves), a tally of another onset or one ahead of the judged minute
counts that outage from its onset again, networks included.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q, Sum

from detection.models import OVERALL, Bucket, Outage, OutageNetwork, OutageProblemSite
from detection.services.buckets import buckets_settled
from detection.services.bulk import db_params, field_column
from detection.services.config import listing_sites
from reports.models import Report
from reports.selectors import report_site, report_site_sql

# 2: networks are sites (reports.networks), as the outage gate counts them; a tally of 1 held
# rows of /56 networks, and one /48 added one for each /56 it reported from (one a dedup
# window). Outages open across the upgrade count theirs from the onset again (_kept).
# 3: the sites of each problem are recorded too (OutageProblemSite), read only from where the
# networks are; a tally of 2 recorded none, so the sites of its earlier minutes are read from
# the onset again.
TALLY_VERSION = 3
_MINUTE = dt.timedelta(minutes=1)
# Outages per INSERT of networks: bounds the statement's parameters (SQLite allows 32,766).
_CHUNK = 500


@dataclass(frozen=True)
class Tally:
    """An outage's counts from its onset to the judged minute (inclusive)."""

    total: int  # counted reports, all countries
    countries: Counter[str]  # counted reports by country
    problems: Counter[str]  # counted reports by problem slug
    networks: int  # distinct networks behind its counted reports
    # Problems whose counted reports came from listing_sites() distinct sites or more: those
    # it may list (one host's sites put "Website" on a real outage: abuse tester).
    problems_backed: frozenset[str] = frozenset()


def outage_tallies(outages: Sequence[Outage], minute: dt.datetime) -> dict[int, Tally]:
    """Outage id -> its counts up to `minute`, for outages of distinct services.

    Sets each outage's `tally` and `networks` in memory (the caller saves them with the rest
    of its refresh) and adds its new network rows, in the caller's transaction.
    """
    if not outages:
        return {}
    settled, mark = buckets_settled()
    stamp = _stamp(mark)
    end = minute + _MINUTE
    kept = {o.id: _kept(o, stamp, end) for o in outages}
    since: dict[int, dt.datetime] = {}
    for o in outages:
        kept_sums = kept[o.id]
        since[o.id] = dt.datetime.fromisoformat(kept_sums["until"]) if kept_sums else o.started_at
    # Buckets before this minute go into the kept sums: they cannot change any more.
    until = {
        oid: start if settled is None else max(start, min(settled, end))
        for oid, start in since.items()
    }
    settled_sums = {oid: _sums(kept[oid]) for oid in since}
    live_sums = {oid: _sums(None) for oid in since}
    by_service = {o.service_id: o.id for o in outages}
    if len(by_service) != len(outages):
        raise ValueError("one outage per service")
    # Where each outage's networks are read from: its onset when counted afresh; else the
    # first minute whose overall bucket counts other than when last read (new reports, late
    # ones included); none if no minute changed.
    networks_from = {o.id: None if kept[o.id] else o.started_at for o in outages}
    seen: dict[int, dict[str, int]] = {o.id: {} for o in outages}
    for row in _buckets(outages, since, until, minute):
        sid, is_settled, bucket_minute, country, counted, problems = row
        oid = by_service[sid]
        _add(settled_sums[oid] if is_settled else live_sums[oid], country, counted, problems)
        if bucket_minute is None:
            continue
        stamp_minute = bucket_minute.isoformat()
        if not is_settled:
            seen[oid][stamp_minute] = counted
        kept_sums = kept[oid]
        if kept_sums and kept_sums.get("seen", {}).get(stamp_minute) != counted:
            first = networks_from[oid]
            networks_from[oid] = bucket_minute if first is None else min(first, bucket_minute)
    # Counted from the onset again: so are its networks (rows of later minutes, had a minute
    # been judged again, would count too many).
    OutageNetwork.objects.filter(outage_id__in=[o.id for o in outages if not kept[o.id]]).delete()
    reading_from = {o.id: at for o in outages if (at := networks_from[o.id]) is not None}
    reading = [o for o in outages if o.id in reading_from]
    added = _networks_add(reading, reading_from, end)
    problem_sites = _problem_sites(outages, kept, networks_from, end, settled_sums, live_sums)
    tallies: dict[int, Tally] = {}
    for o in outages:
        settled_part, live = settled_sums[o.id], live_sums[o.id]
        # The running count, not Outage.networks: that stops at the last elevated minute
        # while quiet minutes confirm an end (tallies_trimmed). Tallies kept before the
        # count was kept here had no trimmed Outage.networks to mistake for it.
        kept_sums = kept[o.id]
        earlier = kept_sums.get("networks", o.networks) if kept_sums else 0
        networks = int(earlier) + added[o.id]
        o.tally = {
            "v": TALLY_VERSION,
            "start": o.started_at.isoformat(),
            "until": until[o.id].isoformat(),
            "mark": stamp,
            "total": settled_part["total"],
            "countries": dict(settled_part["countries"]),
            "problems": dict(settled_part["problems"]),
            "seen": seen[o.id],  # counted reports of the minutes read again next time
            "networks": networks,
        }
        o.networks = networks
        countries, problems = Counter(settled_part["countries"]), Counter(settled_part["problems"])
        countries.update(live["countries"])
        problems.update(live["problems"])
        tallies[o.id] = Tally(
            total=settled_part["total"] + live["total"],
            countries=countries,
            problems=problems,
            networks=o.networks,
            problems_backed=problem_sites[o.id],
        )
    return tallies


def _stamp(mark: tuple | None) -> str | None:
    """The rewrite mark as stored in a tally: whatever rewrote settled buckets moves it."""
    return None if mark is None else "|".join(v.isoformat() for v in mark)


def _kept(outage: Outage, stamp: str | None, end: dt.datetime) -> dict | None:
    """The outage's kept sums if they still hold, else None (count from the onset)."""
    t = outage.tally or {}
    if (
        t.get("v") != TALLY_VERSION
        or t.get("start") != outage.started_at.isoformat()
        or t.get("mark") != stamp
    ):
        return None
    # Sums reaching past the judged minute (a minute judged again) would count too much.
    return t if dt.datetime.fromisoformat(t["until"]) <= end else None


def _sums(kept: dict | None) -> dict:
    kept = kept or {}
    return {
        "total": int(kept.get("total", 0)),
        "countries": Counter(kept.get("countries", {})),
        "problems": Counter(kept.get("problems", {})),
    }


def _add(sums: dict, country: str, counted: int, problems: dict | None) -> None:
    # The overall series holds the service's totals; the country series split them.
    if country == OVERALL:
        sums["total"] += counted
        sums["problems"].update(problems)
    else:
        sums["countries"][country] += counted


def _by_since(outages: Sequence[Outage], since: dict[int, dt.datetime]):
    """(since, its outages) for each distinct `since`: few (the kept tallies share the settled
    minute; a new outage starts from its onset). One constant range per query lets the
    planner read the range by index, where a range per row of a joined list read the whole
    table (and 1,000 ORed ranges took 0.2 s to plan)."""
    groups: dict[dt.datetime, list[Outage]] = {}
    for o in outages:
        groups.setdefault(since[o.id], []).append(o)
    return groups.items()


def _buckets(
    outages: Sequence[Outage],
    since: dict[int, dt.datetime],
    until: dict[int, dt.datetime],
    minute: dt.datetime,
):
    """(service, settled, minute, country, counted, problems) of every outage's buckets from
    its `since` to `minute`: those before its `until` (settled) apart from the rest. The
    overall series' one by one, with their minute and problems; the countries' summed in the
    database, without a minute (most of the rows: decoding them took most of the read)."""
    for start, group in _by_since(outages, since):
        settled = until[group[0].id]  # a function of since: the same for the group
        rows = Bucket.objects.filter(
            service_id__in=[o.service_id for o in group], minute__gte=start, minute__lte=minute
        )
        for sid, bucket_minute, counted, problems in rows.filter(country=OVERALL).values_list(
            "service_id", "minute", "counted", "problems"
        ):
            yield sid, bucket_minute < settled, bucket_minute, OVERALL, counted, problems
        sums = (
            rows.exclude(country=OVERALL)
            .values("service_id", "country")
            .annotate(
                before=Sum("counted", filter=Q(minute__lt=settled), default=0),
                after=Sum("counted", filter=Q(minute__gte=settled), default=0),
            )
            .values_list("service_id", "country", "before", "after")
        )
        for sid, country, before, after in sums:
            yield sid, True, None, country, before, None
            yield sid, False, None, country, after, None


def _networks_add(
    outages: Sequence[Outage], since: dict[int, dt.datetime], end: dt.datetime
) -> Counter[int]:
    """Add the networks of each outage's counted reports in [since, end) that it does not
    have yet; outage id -> rows added."""
    qn = connection.ops.quote_name
    column = _report_columns()
    site = report_site_sql("r")
    added: Counter[int] = Counter()
    for start, values, params in _outages_values(outages, since):
        sql = (
            f"WITH o (outage_id, service_id) AS (VALUES {values})"
            f" INSERT INTO {qn(OutageNetwork._meta.db_table)}"
            " (outage_id, reporter_key, first_seen)"
            f" SELECT o.outage_id, {site}, MIN(r.{column['created_at']})"
            f" FROM {qn(Report._meta.db_table)} r"
            f" JOIN o ON r.{column['service']} = o.service_id"
            f" WHERE r.{column['counted']} AND r.{column['created_at']} >= %s"
            f" AND r.{column['created_at']} < %s"
            f" GROUP BY o.outage_id, {site}"
            # A network already in keeps its first minute (a late report of an earlier
            # minute from it is rare, and moves the trim at resolution by minutes).
            " ON CONFLICT (outage_id, reporter_key) DO NOTHING RETURNING outage_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, db_params([*params, start, end]))
            added.update(oid for (oid,) in cursor.fetchall())
    return added


def _problem_sites(
    outages: Sequence[Outage],
    kept: dict[int, dict | None],
    since: dict[int, dt.datetime | None],
    end: dt.datetime,
    *sums: dict[int, dict],
) -> dict[int, frozenset[str]]:
    """Outage id -> its problems with the sites to be listed (problems_backed), after
    recording the sites of its counted reports in [since, end) (None: none to read) for the
    problems of its counts (`sums`: its settled and live sums) that lack them.

    Each problem's sites are recorded only until it has enough, so they are read from a small
    table; an outage whose every problem has them, a flood's after its first minute, reads no
    report for them."""
    OutageProblemSite.objects.filter(
        outage_id__in=[o.id for o in outages if not kept[o.id]]
    ).delete()
    backed = problems_backed([o.id for o in outages])
    lacking = [
        o
        for o in outages
        if since[o.id] is not None
        and any(slug not in backed[o.id] for part in sums for slug in part[o.id]["problems"])
    ]
    if lacking:
        lacking_since = {o.id: at for o in lacking if (at := since[o.id]) is not None}
        _problem_sites_add(lacking, lacking_since, end, listing_sites())
        backed |= problems_backed([o.id for o in lacking])
    return {o.id: frozenset(backed[o.id]) for o in outages}


def problems_backed(outage_ids: Sequence[int]) -> defaultdict[int, set[str]]:
    """Outage id -> its problems whose counted reports came from listing_sites() distinct
    sites or more: those it may list among its top problems (OutageProblemSite: one host's
    sites put "Website (4)" on a real outage, its page and its followers' emails)."""
    rows = (
        OutageProblemSite.objects.filter(outage_id__in=outage_ids)
        .values("outage_id", "problem__slug")
        .annotate(sites=Count("id"))
        .filter(sites__gte=listing_sites())
        .values_list("outage_id", "problem__slug")
    )
    backed: defaultdict[int, set[str]] = defaultdict(set)
    for outage_id, slug in rows:
        backed[outage_id].add(slug)
    return backed


def _problem_sites_add(
    outages: Sequence[Outage], since: dict[int, dt.datetime], end: dt.datetime, bar: int
) -> None:
    """Record the sites of each outage's counted reports in [since, end), by problem, up to
    `bar` a problem."""
    qn = connection.ops.quote_name
    column = _report_columns()
    site = report_site_sql("r")
    table = qn(OutageProblemSite._meta.db_table)
    for start, values, params in _outages_values(outages, since):
        sql = (
            f"WITH o (outage_id, service_id) AS (VALUES {values}),"
            " have AS ("
            f" SELECT p.outage_id, p.problem_id, COUNT(*) AS n FROM {table} p"
            " JOIN o ON p.outage_id = o.outage_id GROUP BY p.outage_id, p.problem_id),"
            " heard AS ("
            f" SELECT o.outage_id, r.{column['problem']} AS problem_id, {site} AS site_key"
            f" FROM {qn(Report._meta.db_table)} r"
            f" JOIN o ON r.{column['service']} = o.service_id"
            f" LEFT JOIN have h ON h.outage_id = o.outage_id"
            f" AND h.problem_id = r.{column['problem']}"
            f" WHERE r.{column['counted']} AND r.{column['created_at']} >= %s"
            f" AND r.{column['created_at']} < %s AND COALESCE(h.n, 0) < %s"
            f" GROUP BY o.outage_id, r.{column['problem']}, {site}),"
            # Numbered among the sites not recorded yet: each is a new one.
            " fresh AS ("
            " SELECT s.outage_id, s.problem_id, s.site_key, ROW_NUMBER() OVER ("
            " PARTITION BY s.outage_id, s.problem_id ORDER BY s.site_key) AS k"
            " FROM heard s WHERE NOT EXISTS ("
            f" SELECT 1 FROM {table} p WHERE p.outage_id = s.outage_id"
            " AND p.problem_id = s.problem_id AND p.site_key = s.site_key))"
            f" INSERT INTO {table} (outage_id, problem_id, site_key)"
            " SELECT f.outage_id, f.problem_id, f.site_key FROM fresh f"
            " LEFT JOIN have h ON h.outage_id = f.outage_id AND h.problem_id = f.problem_id"
            " WHERE f.k <= %s - COALESCE(h.n, 0)"
            " ON CONFLICT (outage_id, problem_id, site_key) DO NOTHING"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, db_params([*params, start, end, bar, bar]))


def _outages_values(outages: Sequence[Outage], since: dict[int, dt.datetime]):
    """(since, a VALUES list of (outage id, service id), its parameters) for each chunk of
    the outages that share a `since` (_by_since)."""
    for start, group in _by_since(outages, since):
        for first in range(0, len(group), _CHUNK):
            chunk = group[first : first + _CHUNK]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            yield start, values, [p for o in chunk for p in (o.id, o.service_id)]


def _report_columns() -> dict[str, str]:
    """The quoted columns of the reports table that the statements above read."""
    qn = connection.ops.quote_name
    return {f: qn(field_column(Report, f)) for f in ("service", "problem", "created_at", "counted")}


def tallies_trimmed(
    trims: Sequence[tuple[Outage, Tally, dt.datetime]], minute: dt.datetime
) -> dict[int, Tally]:
    """Outage id -> its counts without the minutes from its `end` to `minute`, for (outage,
    its tally to `minute`, end) of distinct services: where an outage ended, at its last
    elevated minute, the quiet ones since (15 of the service's ordinary reports at a
    resolution, more than a small outage's own on a busy service) are not its reports. Open
    outages in a quiet minute are counted so too, so that their "so far" does not fall at
    their resolution (it said 520 so far, then 501 in all): it pauses instead.

    The kept sums (Outage.tally) still hold those minutes: should the outage heat up again or
    reopen, they belong to it again (_reopen_recent counts its networks anew). One read of
    buckets and one of networks for all of them.
    """
    if not trims:
        return {}
    ends = {outage.id: end for outage, _, end in trims}
    of_service = {outage.service_id: outage.id for outage, _, _ in trims}
    first = min(ends.values())
    tails = {oid: _sums(None) for oid in ends}
    for service_id, at, country, counted, by_problem in Bucket.objects.filter(
        service_id__in=of_service, minute__gte=first, minute__lte=minute
    ).values_list("service_id", "minute", "country", "counted", "problems"):
        oid = of_service[service_id]
        if at >= ends[oid]:
            _add(tails[oid], country, counted, by_problem)
    heard_after = Counter(
        oid
        for oid, seen in OutageNetwork.objects.filter(
            outage_id__in=ends, first_seen__gte=first
        ).values_list("outage_id", "first_seen")
        if seen is not None and seen >= ends[oid]
    )
    return {
        outage.id: Tally(
            total=max(tally.total - tails[outage.id]["total"], 0),
            countries=tally.countries - tails[outage.id]["countries"],
            problems=tally.problems - tails[outage.id]["problems"],
            networks=max(tally.networks - heard_after[outage.id], 0),
            # Not trimmed: a problem once backed stays so, as a listed country stays.
            problems_backed=tally.problems_backed,
        )
        for outage, tally, _ in trims
    }


def outage_recount(outage: Outage, minute: dt.datetime) -> Tally:
    """The outage's counts up to `minute` recounted from its onset, from every bucket and
    every counted report since: what outage_tallies keeps (tests and bench/scale compare the
    two). Reads grow with the outage; not for the tick."""
    sums = _sums(None)
    for country, counted, by_problem in Bucket.objects.filter(
        service_id=outage.service_id, minute__gte=outage.started_at, minute__lte=minute
    ).values_list("country", "counted", "problems"):
        _add(sums, country, counted, by_problem)
    reports = Report.objects.filter(
        service_id=outage.service_id,
        counted=True,
        created_at__gte=outage.started_at,
        created_at__lt=minute + _MINUTE,
    )
    networks = reports.aggregate(n=Count(report_site(), distinct=True))["n"]
    backed = frozenset(
        reports.values("problem__slug")
        .annotate(sites=Count(report_site(), distinct=True))
        .filter(sites__gte=listing_sites())
        .values_list("problem__slug", flat=True)
    )
    total, countries, problems = sums["total"], sums["countries"], sums["problems"]
    return Tally(
        total=total,
        countries=countries,
        problems=problems,
        networks=networks,
        problems_backed=backed & problems.keys(),
    )


def outage_networks_purge(*, before: dt.datetime) -> int:
    """Drop the network rows (and problem sites) of outages resolved before `before` (past
    reopening); their tallies go too, so a later refresh, should one come, counts from the
    onset."""
    done = Outage.objects.filter(status=Outage.Status.RESOLVED, resolved_at__lt=before)
    deleted, _ = OutageNetwork.objects.filter(outage__in=done).delete()
    OutageProblemSite.objects.filter(outage__in=done).delete()
    if deleted:
        done.exclude(tally={}).update(tally={})
    return deleted
