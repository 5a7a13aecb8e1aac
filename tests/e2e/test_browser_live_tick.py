"""An open service page follows an outage that the real detector finds and then closes: the
reports are created as the website creates them, every minute is bucketed and judged by the
same task the beat runs, and the page (never reloaded) must agree with the detector's rows.

The minutes are judged with an explicit `now` a little in the past, so the test needs no real
waiting, and the page (which reads with the real clock) shows them as the last minutes.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from detection.models import Outage, ServiceStatus
from detection.tasks import detect_minute
from reports.models import Report
from reports.services import report_create
from tests.conftest import crowd_address
from tests.detection.status_data import minute_now
from tests.e2e.browser import SCREENSHOTS, come_back, page  # noqa: F401  (fixture)
from tests.e2e.conftest import quiet_history

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
M = dt.timedelta(minutes=1)
OUTAGE = range(5, 12)  # minutes after the start with 30 more reports from Germany
MINUTES = 40  # long enough for the detector's quiet period after the outage


@pytest.fixture
def watched(make_service):
    service = make_service("acme", "Acme Cloud")
    start = minute_now() - dt.timedelta(minutes=MINUTES + 5)
    quiet_history(service, until=start)
    return service, start


def minute_run(service, minute: dt.datetime, k: int, sent: list[int]) -> None:
    """The minute's reports (2 as usual, 30 more during the outage), then the beat's task."""
    login = service.problem_types.get(slug="login")
    for _ in range(2 + (30 if k in OUTAGE else 0)):
        sent[0] += 1
        report_create(
            service=service, problem=login, country="DE", source=Report.Source.WEB,
            address=crowd_address(sent[0]), now=minute + dt.timedelta(seconds=sent[0] % 60),
        )  # fmt: skip
    detect_minute(now=(minute + M).isoformat())


def test_open_page_follows_the_real_detector(web_server, page, watched):  # noqa: F811
    service, start = watched
    page.goto(f"{web_server.url}/services/acme/")
    page.evaluate("window.__notReloaded = true")
    badge = page.locator("[data-status-badge]")
    germany = page.locator('#countries tr[data-country="DE"]')
    germany_on_map = page.locator('svg[data-map] use[data-country="DE"]')
    expect(badge).to_have_text("No problems")

    sent = [0]
    for k in range(OUTAGE.start + 2):
        minute_run(service, start + k * M, k, sent)
    outage = Outage.objects.get(service=service)
    assert outage.is_active and "DE" in outage.countries

    come_back(page)
    expect(badge).to_have_text("Problems detected")
    expect(germany).to_have_attribute("data-level", "problems")
    # About 32 reports a minute where 2 are normal: a deep shade.
    expect(germany_on_map).to_have_class(re.compile(r"\bmap-problems map-shade-[23]\b"))
    live = page.locator('svg[data-chart="live"]')
    expect(live.locator(".chart-outage")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "live-tick-outage.png"), full_page=True)

    for k in range(OUTAGE.start + 2, MINUTES):
        minute_run(service, start + k * M, k, sent)
    outage.refresh_from_db()
    assert outage.status == Outage.Status.RESOLVED
    assert ServiceStatus.objects.get(service=service).level == 0

    come_back(page)
    expect(badge).to_have_text("No problems")
    expect(germany).to_have_attribute("data-level", "ok")
    expect(page.locator("#countries table")).not_to_contain_text("Problems")
    expect(germany_on_map).to_have_class("map-country map-ok map-shade-0")
    expect(page.locator(f'#outages a[href="/outages/{outage.pk}/"]')).to_have_count(1)
    assert page.evaluate("window.__notReloaded") is True
