"""Upstream outages on the real database: the catalog's providers, the rows the tick keeps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from detection.models import Bucket, JobCursor, Outage, UpstreamOutage
from detection.services import baselines_refit, buckets_aggregate, detect_tick
from detection.services.upstream import upstream_refresh
from reports.models import Provider, Service
from reports.selectors import service_providers
from tests.detection.conftest import T0
from tests.detection.status_data import catalog_outage

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def outage(slug: str, minute: int, *, resolved: int | None = None) -> Outage:
    end = T0 + resolved * M if resolved is not None else None
    return catalog_outage(slug, T0 + minute * M, resolved=end)


def test_the_catalog_names_the_providers_of_its_services():
    cloudflare = Provider.objects.get(slug="cloudflare")
    assert cloudflare.service.slug == "cloudflare"
    assert cloudflare.dependents.filter(slug="discord").exists()
    meta = Provider.objects.get(slug="meta")
    assert meta.service is None and meta.kind == "owner"
    deps = service_providers()
    assert len(deps) == Service.objects.count()
    assert "cloudflare" in deps["discord"] and deps["cloudflare"] == []


def test_outages_of_one_providers_services_become_one_upstream_outage():
    members = [outage(s, k) for k, s in enumerate(["discord", "shopify", "canva", "coinbase"])]
    own = outage("cloudflare", 3)
    created = upstream_refresh(now=T0 + 10 * M)
    [row] = created
    assert row.provider.slug == "cloudflare" and row.provider_outage == own
    assert row.started_at == T0 and row.is_active
    assert set(row.outages.values_list("id", flat=True)) == {o.id for o in [*members, own]}
    # Regrouping is idempotent; a later dependent joins the same upstream outage.
    assert upstream_refresh(now=T0 + 11 * M) == []
    late = outage("notion", 12)
    assert upstream_refresh(now=T0 + 14 * M) == []
    late.refresh_from_db()
    assert late.upstream == row
    assert UpstreamOutage.objects.count() == 1


def test_an_upstream_outage_ends_with_its_last_outage_and_reopens_with_any():
    members = [outage(s, k) for k, s in enumerate(["reddit", "spotify", "pinterest", "vimeo"])]
    upstream_refresh(now=T0 + 10 * M)
    row = UpstreamOutage.objects.get()
    assert row.provider.slug == "fastly" and row.provider_outage is None
    for k, o in enumerate(members):
        Outage.objects.filter(id=o.id).update(status="resolved", resolved_at=T0 + (30 + k) * M)
    upstream_refresh(now=T0 + 40 * M)
    row.refresh_from_db()
    assert row.resolved_at == T0 + 33 * M
    Outage.objects.filter(id=members[0].id).update(status="active", resolved_at=None)
    upstream_refresh(now=T0 + 45 * M)
    row.refresh_from_db()
    assert row.is_active


def test_unrelated_services_breaking_together_are_not_grouped():
    for k, slug in enumerate(["netflix", "steam", "gmail", "x", "roblox", "chase"]):
        outage(slug, k)
    assert upstream_refresh(now=T0 + 10 * M) == []
    assert not Outage.objects.filter(upstream__isnull=False).exists()


def _history(services: list[Service]) -> None:
    rng = np.random.default_rng(11)
    rows = []
    for service in services:
        for k in range(3 * 1440):
            minute = T0 - dt.timedelta(days=3) + k * M
            n = int(rng.poisson(2.0))
            for country in ("", "DE"):
                rows.append(
                    Bucket(service=service, country=country, minute=minute, reports=n,
                           counted=n, reporters=n, problems={"login": n} if n else {})
                )  # fmt: skip
    Bucket.objects.bulk_create(rows, batch_size=5000)
    JobCursor.objects.create(name="buckets", position=T0)
    baselines_refit(now=T0)


def test_the_tick_groups_the_outages_it_opens(send_reports):
    services = list(Service.objects.filter(slug__in=["reddit", "spotify", "pinterest"]))
    _history(services)
    for k in range(16):
        minute = T0 + k * M
        for service in services:
            send_reports(service, minute, 2 + (25 if k >= 8 else 0), country="DE")
        now = minute + M + dt.timedelta(seconds=2)
        buckets_aggregate(now=now)
        detect_tick(now=now)
    outages = Outage.objects.filter(service__in=services)
    assert outages.count() == 3
    row = UpstreamOutage.objects.get()
    assert row.provider.slug == "fastly"
    assert {o.upstream_id for o in outages} == {row.id}
    assert row.started_at == T0 + 8 * M
