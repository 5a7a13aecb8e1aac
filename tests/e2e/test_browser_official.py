"""The official status beside the crowd in a real browser against a real gunicorn: the fake
status server starts serving an open incident, the poller reads it, and the service page
left open shows it without a reload within one poll interval; the outage page says who knew
first (issue 16, "Done when")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from detection.official import services
from tests.detection.official.conftest import (  # noqa: F401  (fixtures)
    official_settings,
    official_source,
    status_server,
)
from tests.detection.official.recorded import statuspage_open_at, statuspage_quiet
from tests.detection.official.statusserver import Page
from tests.detection.status_data import outage_make, status_make
from tests.e2e.browser import SCREENSHOTS, page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
M = timedelta(minutes=1)
SUMMARY = "/api/v2/summary.json"


def test_an_official_incident_appears_on_the_open_service_page_and_its_lead_on_the_outage(
    web_server,
    page,  # noqa: F811
    make_service,
    status_server,  # noqa: F811
    official_source,  # noqa: F811
):
    service = make_service("acme", "Acme Cloud")
    now = timezone.now()
    outage = outage_make(service, started_at=now - 40 * M)  # detected 38 minutes ago
    status_make(service, 2, outage=outage, since=outage.started_at)
    source = official_source(service, status_server.serve(SUMMARY, Page(statuspage_quiet())))
    assert services.status_source_poll(source_id=source.pk).outcome == "updated"

    page.goto(f"{web_server.url}/services/acme/")
    official = page.locator("#official")
    expect(official).to_contain_text("The official status page says: No problems reported")
    expect(official.locator("[data-official-incident]")).to_have_count(0)
    page.evaluate("window.__notReloaded = true")

    # The provider posts an incident now (its impact began 30 minutes ago); the poller reads
    # it. (Published before the quiet read above, it would count as backdated.)
    published = timezone.now()
    body = statuspage_open_at(started=now - 30 * M, published=published)
    status_server.serve(SUMMARY, Page(body))
    polled = services.status_source_poll(source_id=source.pk)
    assert (polled.outcome, polled.opened) == ("updated", 1)

    # The page asks again every 30 seconds: well within one poll interval.
    incident = official.locator("[data-official-incident]")
    expect(incident).to_contain_text(
        "Disruption with some GitHub services",
        timeout=settings.OFFICIAL_POLL_SECONDS * 1000,
    )
    expect(incident).to_contain_text("Investigating")
    expect(incident.get_by_role("link")).to_have_attribute("href", "https://stspg.io/yq4kbvh2wm1t")
    expect(official).to_contain_text("A major outage reported")
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(SCREENSHOTS / "service-page-official.png"), full_page=True)

    page.locator("[data-status-outage]").get_by_role("link", name="Outage details").click()
    lead = round((published - outage.detected_at) / M)
    assert lead >= 38
    expect(page.locator("[data-official-lead]")).to_have_text(
        f"OutageWatch detected this {lead} minutes before the official status page acknowledged it."
    )
    expect(page.locator("#official [data-official-incident]")).to_contain_text(
        "Disruption with some GitHub services"
    )
    page.screenshot(path=str(SCREENSHOTS / "outage-page-official.png"), full_page=True)
