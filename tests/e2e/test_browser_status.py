"""Status pages in a real browser against a real gunicorn: report a problem, read the status,
see the chart, watch the status change without a reload."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from detection.cache import data_version_bump
from reports.models import Report
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    fitted_baseline,
    minute_now,
    outage_make,
    status_make,
)
from tests.e2e.browser import SCREENSHOTS, come_back, page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def acme_down(make_service):
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    quiet = {now - timedelta(minutes=m): 3 for m in range(45, 24 * 60, 7)}
    loud = {now - timedelta(minutes=m): 25 + m % 5 for m in range(1, 45)}
    buckets_make(service, quiet | loud, problems={"login": 0.8, "app": 0.2})
    buckets_make(service, {now - timedelta(minutes=m): 12 for m in range(1, 30)}, country="DE")
    baseline_store(service, fitted_baseline(rate=0.5))
    outage = outage_make(service, started_at=now - timedelta(minutes=45), countries=("DE",))
    status_make(service, 2, outage=outage, countries=("DE",), since=outage.started_at)
    return outage


def test_service_page_status_chart_and_report_button(web_server, page, acme_down):  # noqa: F811
    page.goto(f"{web_server.url}/services/acme/")

    summary = page.locator("[data-status-summary]")
    expect(summary).to_contain_text("User reports indicate problems at Acme Cloud since")
    expect(summary).to_contain_text(f"{acme_down.started_at:%H:%M} UTC")
    expect(page.locator("[data-status-badge]")).to_have_text("Problems detected")

    chart = page.locator('svg[data-chart="series"]')
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 600
    expect(chart.locator(".chart-band")).to_have_count(1)
    expect(chart.locator(".chart-expected")).to_have_count(1)
    observed = chart.locator(".chart-observed")
    expect(observed).to_have_count(1)
    # 24 hours of 15-minute buckets back to the window's start, and the filling one if any.
    assert len(observed.get_attribute("points").split()) in (96, 97)
    expect(page.locator("#countries")).to_contain_text("Germany")
    page.screenshot(path=str(SCREENSHOTS / "service-page.png"), full_page=True)

    page.select_option("#id_country", "DE")
    page.get_by_role("button", name="Login", exact=True).click()

    expect(page.locator(".message-success")).to_contain_text("was counted")
    assert page.url.endswith("/services/acme/#report")
    report = Report.objects.get()
    assert (report.source, report.country, report.problem.slug) == ("web", "DE", "login")
    page.screenshot(path=str(SCREENSHOTS / "service-page-reported.png"))


def test_status_updates_without_reload(web_server, page, make_service):  # noqa: F811
    service = make_service("acme", "Acme Cloud")
    page.goto(f"{web_server.url}/services/acme/")
    summary = page.locator("[data-status-summary]")
    expect(summary).to_have_text("No current problems at Acme Cloud.")
    page.evaluate("window.__notReloaded = true")

    outage = outage_make(service, countries=("FR",))
    status_make(service, 2, outage=outage, countries=("FR",), since=outage.started_at)
    data_version_bump()  # what a detection tick does after committing
    # Coming back to the tab polls at once instead of waiting for the next interval.
    come_back(page)

    expect(summary).to_contain_text("User reports indicate problems at Acme Cloud since")
    expect(page.locator("[data-status-badge]")).to_have_class("badge badge-problems")
    assert page.evaluate("window.__notReloaded") is True


def test_home_shows_problems_first_with_sparklines(web_server, page, acme_down):  # noqa: F811
    page.goto(f"{web_server.url}/")
    board = page.locator("#problems-now")
    expect(board.locator(".service-card").first).to_contain_text("Acme Cloud")
    expect(board.locator(".badge-problems").first).to_be_visible()
    expect(board.locator("svg.sparkline")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "home.png"))

    board.get_by_text("Acme Cloud").click()
    expect(page.locator("h1")).to_have_text("Acme Cloud")
    page.get_by_role("link", name="Details").first.click()
    expect(page.locator("#timeline")).to_contain_text("Problems detected")
    page.screenshot(path=str(SCREENSHOTS / "outage-page.png"), full_page=True)
