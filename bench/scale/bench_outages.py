"""The outages' counts each minute: kept and extended (the tick's way) against recounted from
each onset (the reference), on one database, in one run, alternating minute by minute; and the
giant service's regions panel (the day's counted reports that name a region) with its partial
index against the same read without it.

    .venv/bin/python bench/scale/bench_outages.py            # 1M-report outage + 1,000 more
    .venv/bin/python bench/scale/bench_outages.py --giant-reports 3000000 --minutes 8
    .venv/bin/python bench/scale/bench_outages.py --db sqlite --giant-reports 5000 --outages 5

What it does (bench/scale/README.md has the figures):

1. creates a throwaway database (as bench_tick_db.py does: PostgreSQL on BENCH_PG_URL, or a
   SQLite file), migrates it and fills it: one giant service whose outage started
   --giant-hours ago with --giant-reports reports from --giant-networks networks (nine in ten
   counted), and --outages other services with an outage each, started an hour ago, a few
   reports a minute from three countries; the buckets aggregated, as the beat would have;
   then VACUUM ANALYZE, as autovacuum keeps a table (the regions panel's index is read
   without the table where its pages are all visible);
2. then, for --minutes minutes: inserts the minute's reports (--per-minute for the giant, a
   fifth of them from networks it has seen), aggregates the buckets, and times, in one
   transaction each, rolled back: (a) `outage_tallies` for every outage, their figures
   (`tally_apply`: total, countries, top problems) and their save (what `outages_apply` does
   each minute), (b) the reference: for each outage its buckets and the distinct sites of its
   counted reports since its onset, overall and by problem, its figures and its save (what
   `outages_apply` did before the counts were kept). (a)'s kept counts are then committed, as
   a tick commits them; the order of (a) and (b) alternates. Then, alternating too, the
   service page's regions panel of the giant (`detection.live.subdivision_counts`; a share
   --region-share of its reports name a region), (c) as it reads with the partial index
   `report_region_recent`, and (d) the reference: the same read after `DROP INDEX` in a
   transaction rolled back (the read before that index, whatever plan the database picks);
3. prints each minute and two tables: best and median of (a) after its first minute (which
   counts from each onset, as a detector does the first time it meets an outage), (b), the
   ratio; and of (c) and (d). It stops unless both ways give the same answer every minute.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_tick_db as tick_db  # its database, Redis and bulk COPY helpers

ROOT = tick_db.ROOT
ANCHOR = tick_db.ANCHOR
MINUTE = tick_db.MINUTE
COUNTRIES = ("US", "GB", "DE")
REGIONS = {
    "US": ("US-CA", "US-NY", "US-TX", "US-FL", "US-WA"),
    "GB": ("GB-ENG", "GB-SCT", "GB-WLS"),
    "DE": ("DE-BY", "DE-BE", "DE-HH", "DE-NW"),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--giant-reports", type=int, default=1_000_000)
parser.add_argument("--giant-networks", type=int, default=400_000)
parser.add_argument("--giant-hours", type=float, default=3.0)
parser.add_argument("--per-minute", type=int, default=6_000, help="the giant's new reports")
parser.add_argument("--outages", type=int, default=1_000, help="other active outages")
parser.add_argument("--minutes", type=int, default=6)
parser.add_argument(
    "--region-share", type=float, default=0.1, help="the giant's reports that name a region"
)
parser.add_argument("--db", choices=("pg", "sqlite"), default=tick_db._default_db())
parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", tick_db.DEFAULT_PG))
parser.add_argument("--keep", action="store_true", help="keep the database")
parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)


def main() -> None:
    args = parser.parse_args()
    if args.child:
        return _child(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tick_db._redis() as redis_url, tick_db._database(args, "outages") as url:
        argv = [sys.executable, __file__, "--child", *_passed(args)]
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "DEBUG": "0"}
        env |= {
            "SECRET_KEY": "bench-outages-not-secret",
            "DJANGO_SETTINGS_MODULE": "outagewatch.settings",
        }
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        sys.stdout.write("".join(done.stdout.splitlines(keepends=True)[:-1]))
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit("the run failed")
        _summary(args, json.loads(done.stdout.strip().splitlines()[-1]))


def _passed(args: argparse.Namespace) -> list[str]:
    names = ("giant_reports", "giant_networks", "giant_hours", "per_minute", "outages", "minutes")
    names += ("region_share",)
    return [f"--{name.replace('_', '-')}={getattr(args, name)}" for name in names]


def _summary(args: argparse.Namespace, out: dict) -> None:
    kept, recount = out["kept"], out["recount"]
    steady = kept[1:] or kept
    best, median = min(steady), statistics.median(steady)
    ref_median = statistics.median(recount)
    size = f"{out['giant_reports']:,}-report outage + {args.outages:,} more ({args.db})"
    print("\n| outages' counts, one minute | best | median | runs (s) | ratio (median) |")
    print("|---|---|---|---|---|")
    runs = ", ".join(f"{t:.3f}" for t in kept)
    print(
        f"| kept and extended, {size} | {best:.3f} s | {median:.3f} s | {runs}"
        f" (first: from each onset) | {median / ref_median:.3f}x |"
    )
    print(f"| recounted from each onset (reference) | {_runs(recount)} | 1x |")
    regions, plain = out["regions"], out["regions_plain"]
    print("\n| the giant's regions panel | best | median | runs (s) | ratio (median) |")
    print("|---|---|---|---|---|")
    ratio = statistics.median(regions) / statistics.median(plain)
    print(
        f"| with report_region_recent, {args.region_share:.0%} of"
        f" {out['giant_reports']:,} reports name a region | {_runs(regions)} | {ratio:.3f}x |"
    )
    print(f"| without it (reference) | {_runs(plain)} | 1x |")


def _runs(times: list[float]) -> str:
    runs = ", ".join(f"{t:.3f}" for t in times)
    return f"{min(times):.3f} s | {statistics.median(times):.3f} s | {runs}"


# --- the child: Django on the throwaway database ----------------------------------------------


def _child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    world = World(args)
    world.fill()
    print(f"filled in {time.perf_counter() - t0:.0f} s: {world.describe()}", flush=True)
    kept, recount, regions, plain = [], [], [], []
    for k in range(args.minutes):
        minute = ANCHOR + k * MINUTE
        world.minute_reports(minute)
        world.aggregate(minute + MINUTE)
        t_kept, counts, t_recount = _side_by_side(
            k, partial(world.time, minute=minute), ("kept", "recount"), "kept counts differ"
        )
        kept.append(t_kept)
        recount.append(t_recount)
        total, networks, top = counts[world.giant]
        print(
            f"minute {k + 1}: kept {t_kept:.3f} s, recounted {t_recount:.3f} s, the same counts"
            f" (the giant: {total:,} counted reports from {networks:,} networks,"
            f" {len(top)} top problems)",
            flush=True,
        )
        t_indexed, rows, t_plain = _side_by_side(
            k, partial(world.regions, minute=minute), ("indexed", "plain"), "regions differ"
        )
        regions.append(t_indexed)
        plain.append(t_plain)
        print(
            f"minute {k + 1}: regions {t_indexed:.3f} s, without the index {t_plain:.3f} s,"
            f" the same {len(rows)} regions",
            flush=True,
        )
    out = {"kept": kept, "recount": recount, "regions": regions, "regions_plain": plain}
    print(json.dumps({**out, "giant_reports": world.giant_total}))


def _side_by_side(k: int, measure: Callable, ways: tuple[str, str], differs: str) -> tuple:
    """(seconds, answer) of the first way and the seconds of the second (the reference),
    measured in turn, the order alternating by minute; stops if the answers differ."""
    ours, reference = ways
    runs = {what: measure(what) for what in (ways if k % 2 == 0 else ways[::-1])}
    (seconds, answer), (ref_seconds, expected) = runs[ours], runs[reference]
    if answer != expected:
        raise SystemExit(f"minute {k + 1}: {differs} from the reference")
    return seconds, answer, ref_seconds


class World:
    """The giant service, the other services, their reports and outages."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = np.random.default_rng(13)
        self.giant_total = 0

    def fill(self) -> None:
        from detection.models import JobCursor, Outage
        from reports.models import Category, ProblemType, Service

        category = Category.objects.create(slug="bench", name="Bench")
        self.problems = [
            ProblemType.objects.get_or_create(slug=p, defaults={"name": p})[0].id
            for p in tick_db.PROBLEMS
        ]
        services = Service.objects.bulk_create(
            Service(slug=f"s{k}", name=f"S{k}", category=category, website="https://s.example")
            for k in range(self.args.outages + 1)
        )
        self.giant, self.others = services[0].id, [s.id for s in services[1:]]
        onset = ANCHOR - dt.timedelta(hours=self.args.giant_hours)
        hour_ago = ANCHOR - dt.timedelta(hours=1)
        self.outages = Outage.objects.bulk_create(
            [Outage(service_id=self.giant, started_at=onset, detected_at=onset)]
            + [Outage(service_id=s, started_at=hour_ago, detected_at=hour_ago) for s in self.others]
        )
        # The giant's history, in slices (bounded memory), then the others' last hour.
        n, start = self.args.giant_reports, onset
        seconds = self.args.giant_hours * 3600
        slices = max(1, -(-n // 200_000))
        for k in range(slices):
            m = n // slices + (k < n % slices)
            at = start + dt.timedelta(seconds=seconds * k / slices)
            self._giant_rows(
                at, seconds / slices, m, self.rng.integers(0, self.args.giant_networks, m)
            )
        for k in range(60):
            self._others_rows(hour_ago + k * MINUTE)
        JobCursor.objects.update_or_create(name="buckets", defaults={"position": onset})
        self.aggregate(ANCHOR)
        self._analyze()

    def describe(self) -> str:
        return (
            f"a giant outage of {self.giant_total:,} reports over {self.args.giant_hours:g} h"
            f" and {len(self.others):,} more outages"
        )

    def minute_reports(self, minute: dt.datetime) -> None:
        n = self.args.per_minute
        # Most from networks new to the outage, a fifth from ones it has seen.
        seen = self.rng.integers(0, self.args.giant_networks, n // 5)
        fresh = self.args.giant_networks + self.rng.integers(0, 10 * n, n - len(seen))
        self._giant_rows(minute, 60, n, np.concatenate([seen, fresh]))
        self._others_rows(minute)

    def _giant_rows(self, at: dt.datetime, seconds: float, n: int, networks: np.ndarray) -> None:
        offsets = np.sort(self.rng.uniform(0, seconds, n))
        named = self.rng.random(n) < self.args.region_share
        picks = self.rng.integers(0, 60, n)
        rows = [
            (self.giant, self.problems[k % 3], COUNTRIES[k % 3], "api",
             at + dt.timedelta(seconds=float(offsets[k])), f"g{networks[k]:x}", k % 10 != 0,
             _region(COUNTRIES[k % 3], picks[k]) if named[k] else "")
            for k in range(n)
        ]  # fmt: skip
        self._insert(rows)
        self.giant_total += n

    def _others_rows(self, minute: dt.datetime) -> None:
        rows = [
            (sid, self.problems[j % 3], COUNTRIES[j], "api",
             minute + dt.timedelta(seconds=10 + 15 * j), f"o{sid}-{self.rng.integers(0, 50)}", True,
             "")
            for sid in self.others
            for j in range(3)
        ]  # fmt: skip
        self._insert(rows)

    def _insert(self, rows: list[tuple]) -> None:
        from reports.models import Report

        columns = ["service_id", "problem_id", "country", "source", "created_at", "reporter_key",
                   "counted", "subdivision"]  # fmt: skip
        tick_db.bulk_insert(
            Report, [*columns, "comment", "block_key"], [(*row, "", "") for row in rows]
        )

    def aggregate(self, end: dt.datetime) -> None:
        from detection.services import buckets_aggregate

        buckets_aggregate(now=end + dt.timedelta(seconds=2))

    def _analyze(self) -> None:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    def time(self, what: str, minute: dt.datetime) -> tuple[float, dict]:
        """Seconds of one minute's counts and the counts (service -> (counted reports,
        networks, top problems)); only the kept way commits (as the tick does)."""
        from django.db import transaction

        from detection.models import Outage

        with transaction.atomic():
            outages = list(Outage.objects.filter(status="active").order_by("service_id"))
            t0 = time.perf_counter()
            (_kept if what == "kept" else _recounted)(outages, minute)
            seconds = time.perf_counter() - t0
            if what == "recount":
                transaction.set_rollback(True)
        return seconds, {
            o.service_id: (o.total_reports, o.networks, o.top_problems) for o in outages
        }

    def regions(self, what: str, minute: dt.datetime) -> tuple[float, list[dict]]:
        """Seconds of the giant's regions panel at the minute's end, and the panel; "plain"
        reads it without its index (dropped in a transaction rolled back)."""
        from django.db import connection, transaction

        from detection.live import subdivision_counts
        from reports.models import Service

        giant = Service.objects.get(pk=self.giant)
        with transaction.atomic():
            if what == "plain":
                with connection.cursor() as c:
                    c.execute("DROP INDEX report_region_recent")
            t0 = time.perf_counter()
            rows = subdivision_counts(service=giant, now=minute + MINUTE)
            seconds = time.perf_counter() - t0
            transaction.set_rollback(True)
        return seconds, rows


def _region(country: str, pick: int) -> str:
    """A region of the country, the first ones more often (as people are spread)."""
    names = REGIONS[country]
    return names[min(int(np.log2(1 + pick)), len(names) - 1)]


def _kept(outages, minute: dt.datetime) -> None:
    from detection.services.outage_tally import outage_tallies
    from detection.services.outages import outages_refreshed_save, tally_apply

    tallies = outage_tallies(outages, minute)
    for o in outages:
        tally_apply(o, tallies[o.id])
    outages_refreshed_save(outages)


def _recounted(outages, minute: dt.datetime) -> None:
    """What each minute cost before the counts were kept (the refresh's reads as they were):
    per outage, every bucket and every counted report's network since its onset, and a save."""
    from detection.services.outage_tally import outage_recount
    from detection.services.outages import tally_apply

    for o in outages:
        counts = outage_recount(o, minute)
        tally_apply(o, counts)
        o.networks = counts.networks
        o.save()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
