"""Both relations of detection.services.sites, a (service, country)'s sites and a (service,
problem)'s, are recorded by one rule on both aggregation paths: the buckets' own statement on
PostgreSQL, sites_record on SQLite."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from detection.services import buckets_aggregate, sites
from detection.services.sites import sites_record
from reports.models import Report
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)
COUNTRIES = ["DE", "FR", "IT"]
PROBLEMS = ["login", "app", "website"]


@pytest.mark.parametrize("relation", [sites.SERIES, sites.PROBLEMS], ids=lambda r: r.name)
def test_the_aggregation_records_each_keys_latest_sites_as_the_rule_says(
    relation, make_service, problem_types
):
    """Random counted and uncounted reports with and without a country, reports stored before
    sites (the network stands for its site), keys fresh and stale beforehand: the
    aggregation's rows (on PostgreSQL recorded by the buckets' own statement) are
    sites_record's over the same span, and both are the rule's, reckoned here in Python."""
    k = relation.k()
    column = relation.keys[1]  # the key's own column, beside service_id
    problems = [problem_types[slug] for slug in PROBLEMS]
    # The keys a report can name; "" (all countries) is no country's.
    values = COUNTRIES if column == "country" else [problem.pk for problem in problems]
    services = [make_service(f"site-{n}") for n in range(2)]
    rng = np.random.default_rng(11)
    end = T0 + 10 * M
    fresh, stale = values[0], values[1]
    before = [
        {"service_id": service.pk, column: value, "site_key": f"old-{n}",
         "last_seen": end - age - n * M}
        for service in services
        # The first key has its K within `fresh` beforehand (not regrouped by site), the
        # second not.
        for value, age in ((fresh, relation.fresh() / 2), (stale, relation.fresh() * 2))
        for n in range(k)
    ]  # fmt: skip
    reports = [
        Report(service=services[int(rng.integers(2))], problem=problems[int(rng.integers(3))],
               country=str(rng.choice(["", *COUNTRIES])), source=Report.Source.API,
               reporter_key=f"net-{rng.integers(20)}",
               site_key=str(rng.choice(["", "s1", "s2", "s3"])),
               counted=bool(rng.random() < 0.8),
               created_at=T0 + dt.timedelta(seconds=int(rng.integers(600))))
        for _ in range(400)
    ]  # fmt: skip
    Report.objects.bulk_create(reports)

    def recorded(record) -> set[tuple]:
        relation.model.objects.all().delete()
        relation.model.objects.bulk_create(relation.model(**row) for row in before)
        record()
        rows = relation.model.objects.values_list("service_id", column, "site_key", "last_seen")
        return set(rows)

    expected = {tuple(row.values()) for row in before}
    latest: dict[tuple, dict[str, dt.datetime]] = {}
    for r in reports:
        value = getattr(r, column)
        if r.counted and value in values and value != fresh:
            seen = latest.setdefault((r.service_id, value), {})
            site = r.site_key or r.reporter_key
            seen[site] = max(seen.get(site, r.created_at), r.created_at)
    for (sid, value), seen in latest.items():
        kept = sorted(seen.items(), key=lambda item: (-item[1].timestamp(), item[0]))[:k]
        expected |= {(sid, value, site, last) for site, last in kept}
    # Every key but the fresh ones has its K latest recorded.
    assert len(expected) == len(before) + len(services) * (len(values) - 1) * k
    assert recorded(lambda: sites_record(T0, end)) == expected
    assert recorded(lambda: buckets_aggregate(now=end, since=T0)) == expected
