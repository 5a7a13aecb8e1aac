"""The track-record page in a real browser: a simulated month's figures, reached from the
site navigation, and its tables stacked into labelled rows on a 390-px phone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

import tests.detection.official.test_track_record as month
from detection.official.models import ServiceStatusSource, StatusSource
from tests.e2e.browser import SCREENSHOTS, page  # noqa: F401  (fixture)
from tests.e2e.test_browser_phone import PHONE, no_sideways_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def official_source(service, url: str) -> StatusSource:
    source = StatusSource.objects.create(
        url=url, kind="statuspage", host=urlsplit(url).hostname, next_poll_at=timezone.now()
    )
    ServiceStatusSource.objects.create(service=service, source=source)
    return source


@pytest.fixture
def simulated_month(db, monkeypatch):
    # An earlier live-server test may have flushed the catalog the migrations load.
    call_command("catalog_load", verbosity=0)
    # The month ends now: the server reads the real clock.
    monkeypatch.setattr(month, "NOW", timezone.now().replace(second=0, microsecond=0))
    return month.simulated_month(official_source)


def test_the_track_record_page_from_the_navigation_and_on_a_phone(
    web_server,
    page,  # noqa: F811
    simulated_month,
):
    page.goto(f"{web_server.url}/")
    page.get_by_role("link", name="Track record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Track record")
    thirty = page.locator('[data-span="30"]')
    slack = thirty.locator('[data-track-service="slack"]')
    expect(slack.locator("td").nth(0)).to_have_text("10")
    expect(slack.locator("td").nth(1)).to_have_text("9 of 10")
    expect(slack.locator("td").nth(2)).to_contain_text("min earlier")
    expect(page.locator("[data-method]")).to_contain_text("give or take 30 minutes")

    page.set_viewport_size(PHONE)
    page.reload()
    no_sideways_scroll(page)
    # The longer site navigation still fits beside the brand.
    for link in page.locator(".header-nav a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
    # Stacked rows: each figure on its own line with its column's name before it.
    cell = page.locator('[data-span="30"] [data-track-service="slack"] td').nth(1)
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Official incidents matched"'
    assert cell.evaluate("td => getComputedStyle(td).display") == "flex"
    page.screenshot(path=str(SCREENSHOTS / "phone-track-record.png"), full_page=True)
