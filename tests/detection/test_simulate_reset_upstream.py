"""`simulate reset` takes the upstream outages of simulated outages with them."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.models import Outage, UpstreamOutage
from detection.services.simulate import SIMULATED_MARK, history_reset
from detection.services.upstream import upstream_refresh
from reports.models import Service
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def outage(slug: str, minute: int, *, simulated: bool) -> Outage:
    start = T0 + minute * M
    return Outage.objects.create(
        service=Service.objects.get(slug=slug),
        started_at=start,
        detected_at=start + 2 * M,
        status="active",
        explanation=f"Reports far above normal. {SIMULATED_MARK}" if simulated else "Real.",
    )


def test_reset_removes_upstream_outages_left_without_outages():
    for k, slug in enumerate(["reddit", "spotify", "pinterest", "vimeo"]):
        outage(slug, k, simulated=True)
    [fastly] = upstream_refresh(now=T0 + 10 * M)
    real = [
        outage(s, 30 + k, simulated=k > 0) for k, s in enumerate(["discord", "shopify", "canva"])
    ]
    [cloudflare] = upstream_refresh(now=T0 + 40 * M)
    assert history_reset(now=T0 + 60 * M).outages == 4 + 2
    assert not UpstreamOutage.objects.filter(pk=fastly.pk).exists()
    # A group with a real outage left stays, with that outage.
    assert list(UpstreamOutage.objects.get(pk=cloudflare.pk).outages.all()) == [real[0]]
