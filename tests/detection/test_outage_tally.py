"""An outage's running counts (detection.services.outage_tally), kept minute by minute, equal a
recount from its onset: late reports, several outages at once, a backfill into settled
minutes, a minute judged again, outages from before the tally existed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from detection.models import Bucket, Outage, OutageNetwork, OutageProblemSite
from detection.services import buckets_aggregate, retention_purge
from detection.services.outage_tally import (
    Tally,
    outage_networks_purge,
    outage_recount,
    outage_tallies,
    tallies_trimmed,
)
from reports.models import Report

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
COUNTRIES = ("DE", "FR", "US")


def add_reports(
    service, problem_types, at: dt.datetime, keys, *, counted=True, country="DE", site=""
):
    Report.objects.bulk_create(
        Report(
            service=service,
            problem=problem_types[["login", "app", "website"][i % 3]],
            country=COUNTRIES[i % 3] if country is None else country,
            source=Report.Source.API,
            reporter_key=key,
            site_key=site,
            counted=counted,
            created_at=at,
        )
        for i, key in enumerate(keys)
    )


def tally_minute(outage_ids: list[int], minute: dt.datetime) -> dict[int, Tally]:
    """One tick's share: aggregate, tally freshly read outages, save them as the tick does."""
    buckets_aggregate(now=minute + M + dt.timedelta(seconds=2))
    outages = list(Outage.objects.filter(id__in=outage_ids).order_by("id"))
    tallies = outage_tallies(outages, minute)
    Outage.objects.bulk_update(outages, ["tally", "networks"])
    return tallies


def assert_same(tally: Tally, expected: Tally) -> None:
    assert tally.total == expected.total
    assert +tally.countries == +expected.countries
    assert +tally.problems == +expected.problems
    assert tally.networks == expected.networks
    assert tally.problems_backed == expected.problems_backed


def open_outage(service, started_at: dt.datetime) -> Outage:
    return Outage.objects.create(service=service, started_at=started_at, detected_at=started_at)


@pytest.fixture
def two_services(make_service):
    return make_service("acme"), make_service("globex")


def test_kept_counts_equal_a_recount_minute_by_minute(two_services, problem_types):
    a, b = two_services
    rng = np.random.default_rng(3)
    first = open_outage(a, T0 + 2 * M)
    second = open_outage(b, T0 + 9 * M)
    for k in range(40):
        minute = T0 + k * M
        for service, pool in ((a, 40), (b, 400)):
            # Networks come back minute after minute (a pool smaller than the reports).
            keys = [f"{service.slug}-{n}" for n in rng.integers(0, pool, rng.integers(0, 25))]
            add_reports(service, problem_types, minute + dt.timedelta(seconds=5), keys,
                        country=None)  # fmt: skip
            # Uncounted reports (over a block's cap, stored while Redis was down) are not
            # evidence: from counted networks and from networks of their own, which a count
            # of every report's networks took in without a test noticing (mutation tester,
            # forty-sixth session).
            uncounted = keys[:3] + [f"{service.slug}-uncounted-{k}-{n}" for n in range(2)]
            add_reports(service, problem_types, minute + dt.timedelta(seconds=9), uncounted,
                        counted=False)  # fmt: skip
        if k % 7 == 3:
            # Committed after its minute was counted, inside the late window.
            add_reports(a, problem_types, minute - 3 * M, ["a-late", f"a-late-{k}"])
        ids = [o.id for o in (first, second) if o.started_at <= minute]
        tallies = tally_minute(ids, minute)
        for outage in Outage.objects.filter(id__in=ids):
            assert_same(tallies[outage.id], outage_recount(outage, minute))
            assert OutageNetwork.objects.filter(outage=outage).count() == outage.networks
            # A problem's sites are recorded up to the bar, not with every network.
            sites = OutageProblemSite.objects.filter(outage=outage).values("problem")
            assert max((r["n"] for r in sites.annotate(n=Count("id"))), default=0) <= 5
    assert tallies[first.id].problems_backed == {"login", "app", "website"}
    # The kept sums moved along with the aggregation's settled minute (5 late minutes).
    first.refresh_from_db()
    assert dt.datetime.fromisoformat(first.tally["until"]) == T0 + 35 * M
    assert first.tally["total"] > 0


def test_a_long_outage_reads_only_what_can_still_change(service, problem_types):
    outage = open_outage(service, T0)
    for k in range(30):
        add_reports(service, problem_types, T0 + k * M, [f"n{k}", f"n{k + 1}"])
        before = tally_minute([outage.id], T0 + k * M)[outage.id]
    outage.refresh_from_db()
    until = dt.datetime.fromisoformat(outage.tally["until"])
    # Reports and buckets before the settled minute gone (retention, say): the counts stand,
    # so they were not read again.
    Report.objects.filter(created_at__lt=until).delete()
    Bucket.objects.filter(minute__lt=until).delete()
    add_reports(service, problem_types, T0 + 30 * M, ["n0", "fresh"])
    after = tally_minute([outage.id], T0 + 30 * M)[outage.id]
    assert after.total == before.total + 2
    assert after.networks == before.networks + 1  # n0 was already counted


def test_a_backfill_into_settled_minutes_is_counted(service, problem_types):
    outage = open_outage(service, T0)
    for k in range(20):
        add_reports(service, problem_types, T0 + k * M, [f"n{k}"])
        tally_minute([outage.id], T0 + k * M)
    # Reports written into the past, then aggregated again from there (simulate history).
    add_reports(service, problem_types, T0 + 2 * M, ["old-1", "old-2", "n5"])
    buckets_aggregate(now=T0 + 20 * M + dt.timedelta(seconds=2), since=T0 + 2 * M)
    outage = Outage.objects.get()
    tally = outage_tallies([outage], T0 + 19 * M)[outage.id]
    assert_same(tally, outage_recount(outage, T0 + 19 * M))
    assert tally.total == 23 and tally.networks == 22


def test_a_minute_judged_again_and_a_moved_onset_count_from_the_onset(service, problem_types):
    outage = open_outage(service, T0)
    for k in range(15):
        add_reports(service, problem_types, T0 + k * M, [f"n{k}"])
        tally_minute([outage.id], T0 + k * M)
    outage = Outage.objects.get()
    earlier = outage_tallies([outage], T0 + 4 * M)[outage.id]
    assert_same(earlier, outage_recount(outage, T0 + 4 * M))
    assert earlier.networks == 5
    outage.save()
    outage.started_at = T0 + 10 * M
    moved = outage_tallies([outage], T0 + 14 * M)[outage.id]
    assert_same(moved, outage_recount(outage, T0 + 14 * M))
    assert moved.networks == 5


def test_a_resolving_outage_leaves_out_its_quiet_minutes(service, problem_types):
    outage = open_outage(service, T0)
    for k in range(30):
        # Elevated until minute 14; then the service's ordinary reports, some from networks
        # first heard then, some from networks of the outage.
        keys = [f"n{k}-{i}" for i in range(20)] if k < 15 else [f"q{k}", "n3-0"]
        add_reports(service, problem_types, T0 + k * M + dt.timedelta(seconds=7), keys,
                    country=None)  # fmt: skip
        tally = tally_minute([outage.id], T0 + k * M)[outage.id]
    outage.refresh_from_db()
    trimmed = tallies_trimmed([(outage, tally, T0 + 15 * M)], T0 + 29 * M)[outage.id]
    assert_same(trimmed, outage_recount(outage, T0 + 14 * M))
    assert (trimmed.total, trimmed.networks) == (300, 300) != (tally.total, tally.networks)


def test_outages_are_trimmed_at_their_own_ends_in_one_read(two_services, problem_types):
    a, b = two_services
    outages = [open_outage(a, T0), open_outage(b, T0)]
    for k in range(20):
        for service in two_services:
            keys = [f"{service.slug}-{k}-{i}" for i in range(3)]
            add_reports(service, problem_types, T0 + k * M + dt.timedelta(seconds=7), keys)
        tallies = tally_minute([o.id for o in outages], T0 + k * M)
    for o in outages:
        o.refresh_from_db()
    ends = {outages[0].id: T0 + 10 * M, outages[1].id: T0 + 16 * M}
    trims = [(o, tallies[o.id], ends[o.id]) for o in outages]
    trimmed = tallies_trimmed(trims, T0 + 19 * M)
    for o in outages:
        assert_same(trimmed[o.id], outage_recount(o, ends[o.id] - M))
    assert (trimmed[outages[0].id].total, trimmed[outages[1].id].total) == (30, 48)


def test_an_outage_from_before_tallies_is_counted_from_its_onset(service, problem_types):
    outage = open_outage(service, T0)
    for k in range(3):
        add_reports(service, problem_types, T0 + k * M, ["same", f"n{k}"])
    Outage.objects.filter(id=outage.id).update(networks=999, total_reports=999)
    tally = tally_minute([outage.id], T0 + 2 * M)[outage.id]
    assert (tally.total, tally.networks) == (6, 4)
    assert Outage.objects.get().networks == 4


def test_one_ipv6_48_is_one_network_whichever_56s_it_reports_from(service, problem_types):
    """An outage's networks are sites, as its gate counts them: a /48 (one machine at a
    tunnel broker) counted once a dedup window from a new /56 each time was a new network
    each time, "from 5 different networks" for one machine and one neighbour."""
    outage = open_outage(service, T0)
    for k in range(4):
        add_reports(service, problem_types, T0 + k * 15 * M, [f"56-{k}"], site="one-48")
    add_reports(service, problem_types, T0 + M, ["v4"])  # stored before sites: its network
    for k in range(4):
        tally = tally_minute([outage.id], T0 + k * 15 * M)[outage.id]
    assert tally.networks == 2 == outage_recount(outage, T0 + 45 * M).networks
    assert set(OutageNetwork.objects.values_list("reporter_key", flat=True)) == {"one-48", "v4"}


def test_an_outage_counted_by_56s_is_counted_by_sites_from_its_onset(service, problem_types):
    """A tally kept by the release that counted /56s (version 1) is not added to: its rows
    are networks of another kind, and a /48 would count once as each."""
    outage = open_outage(service, T0)
    for k in range(3):
        add_reports(service, problem_types, T0 + k * M, [f"56-{k}"], site="one-48")
    tally_minute([outage.id], T0 + M)
    outage.refresh_from_db()
    OutageNetwork.objects.all().delete()
    OutageNetwork.objects.bulk_create(
        OutageNetwork(outage=outage, reporter_key=f"56-{k}", first_seen=T0 + k * M)
        for k in range(2)
    )
    old = {**outage.tally, "v": 1, "networks": 2}
    Outage.objects.filter(id=outage.id).update(tally=old, networks=2)
    tally = tally_minute([outage.id], T0 + 2 * M)[outage.id]
    assert tally.networks == 1
    assert list(OutageNetwork.objects.values_list("reporter_key", flat=True)) == ["one-48"]


def test_networks_of_outages_past_reopening_are_purged(two_services, problem_types):
    a, b = two_services
    old, running = open_outage(a, T0), open_outage(b, T0)
    for service in two_services:
        add_reports(service, problem_types, T0, ["x", "y"])
    tally_minute([old.id, running.id], T0)
    Outage.objects.filter(id=old.id).update(status="resolved", resolved_at=T0 + 5 * M)
    assert outage_networks_purge(before=T0 + 5 * M) == 0  # resolved at, not before
    purged = retention_purge(now=T0 + dt.timedelta(days=2))
    assert purged.outage_networks == 2
    assert not OutageNetwork.objects.filter(outage=old).exists()
    assert OutageNetwork.objects.filter(outage=running).count() == 2
    old.refresh_from_db()
    assert old.tally == {} and old.networks == 2  # its figure stays; a recount starts over


def test_the_admin_shows_an_outage_without_its_tally(service, problem_types, admin_client):
    outage = open_outage(service, T0)
    add_reports(service, problem_types, T0, ["x"])
    tally_minute([outage.id], T0)
    page = admin_client.get(f"/admin/detection/outage/{outage.id}/change/")
    assert page.status_code == 200
    # Shown, not edited (the detector's fields are read-only there: tests/test_admin_detection.py).
    assert "field-networks" in page.text and "field-tally" not in page.text


def test_expired_reports_are_purged_in_batches_with_their_flags(
    service, problem_types, monkeypatch, settings
):
    from detection.services import retention
    from reports.models import CommentFlag

    settings.REPORT_RETENTION_DAYS = 90
    monkeypatch.setattr(retention, "PURGE_BATCH", 3)
    old = T0 - dt.timedelta(days=91)
    add_reports(service, problem_types, old, [f"n{i}" for i in range(7)])
    add_reports(service, problem_types, T0, ["fresh"])
    flagged = Report.objects.filter(created_at=old).first()
    CommentFlag.objects.create(report=flagged, reporter_key="k", block_key="b", created_at=T0)
    table = Report._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        purged = retention_purge(now=T0)

    deletes = [q for q in queries if q["sql"].startswith(f'DELETE FROM "{table}"')]
    assert purged.reports == 7 and len(deletes) == 3  # 3 + 3 + 1
    assert list(Report.objects.values_list("created_at", flat=True)) == [T0]
    assert not CommentFlag.objects.exists()


@pytest.mark.parametrize(("keep", "left"), [(0, 3), (60, 2)])
def test_hourly_rollups_are_kept_for_ever_unless_a_retention_is_set(service, settings, keep, left):
    # They grew for ever with no knob (soak tester, forty-sixth session).
    from detection.models import HourlyBucket

    settings.HOURLY_BUCKET_RETENTION_DAYS = keep
    for days in (400, 59, 1):
        HourlyBucket.objects.create(
            service=service, country="", hour=T0 - dt.timedelta(days=days), counted=5
        )
    purged = retention_purge(now=T0)
    assert HourlyBucket.objects.count() == left and purged.hourly_buckets == 3 - left


def test_a_problem_is_backed_only_by_more_sites_than_one_host_holds(service, problem_types):
    """One host holds four sites (its IPv4, its IPv6 /48, a tunnel's /48, a phone's network):
    its "website" reports on a real outage do not make "website" one of its top problems
    (abuse tester); a fifth site does. Kept minute by minute, as a recount finds."""
    outage = open_outage(service, T0)
    host = ["v4", "own-48", "tunnel-48", "phone"]
    for k in range(6):
        crowd = [f"crowd-{k}-{i}" for i in range(6)]
        Report.objects.bulk_create(
            Report(
                service=service,
                problem=problem_types[problem],
                country="DE",
                source=Report.Source.API,
                reporter_key=key,
                site_key=key,
                counted=True,
                created_at=T0 + k * M,
            )
            for problem, keys in (("login", crowd), ("website", host if k < 5 else ["home"]))
            for key in keys
        )
        tally = tally_minute([outage.id], T0 + k * M)[outage.id]
        assert_same(tally, outage_recount(outage, T0 + k * M))
        assert tally.problems["website"] == 4 * min(k + 1, 5) + (k == 5)
        assert ("website" in tally.problems_backed) is (k == 5)
    assert tally.problems_backed == {"login", "website"}


def test_an_outage_counted_before_problem_sites_reads_them_from_its_onset(service, problem_types):
    """A tally kept by the release before problem sites (version 2) recorded none: its
    earlier minutes' sites are read again, or a problem backed before the upgrade would need
    five new sites to be listed again."""
    outage = open_outage(service, T0)
    for k in range(5):
        add_reports(service, problem_types, T0 + k * M, [f"n{k}-{i}" for i in range(3)])
        tally_minute([outage.id], T0 + k * M)
    outage.refresh_from_db()
    OutageProblemSite.objects.all().delete()
    Outage.objects.filter(id=outage.id).update(tally={**outage.tally, "v": 2})
    tally = tally_minute([outage.id], T0 + 5 * M)[outage.id]
    assert_same(tally, outage_recount(outage, T0 + 5 * M))
    assert tally.problems_backed == {"login", "app", "website"}


def test_a_flood_whose_problems_are_backed_reads_no_report_for_them(service, problem_types):
    """Once each of its problems has its sites, an outage's minutes add no problem site: no
    statement over its reports for them, whatever the flood (the networks' one reads them)."""
    outage = open_outage(service, T0)
    add_reports(service, problem_types, T0, [f"first-{i}" for i in range(15)])
    tally_minute([outage.id], T0)
    add_reports(service, problem_types, T0 + M, [f"flood-{i}" for i in range(300)])
    with CaptureQueriesContext(connection) as queries:
        tally = tally_minute([outage.id], T0 + M)[outage.id]
    table = OutageProblemSite._meta.db_table
    assert not [q for q in queries if f'INSERT INTO "{table}"' in q["sql"]]
    assert OutageProblemSite.objects.count() == 3 * 5
    assert tally.problems_backed == {"login", "app", "website"}
