"""The live refresh keeps a reader's place (accessibility tester F1, forty-fifth session; WCAG
2.4.3 and 2.2.2), in a real browser against the production server: keyboard focus on a link of
a region that is swapped moves to the same link in the new markup (or to the region, never to
<body>), an opened <details> stays open, and a "Pause live updates" button stops the polling
and the swaps, for the rest of the tab's visit, until it is pressed again.

The pages are updated as in test_browser_live.py: the detector's rows are written, the data
version bumped, and the page asks at once (come_back). The pause tests also run the page's
30-second interval with Playwright's clock, so that path is checked without waiting for it.
"""

from __future__ import annotations

import re
import time

import pytest
from django.db.models import F
from playwright.sync_api import expect

from detection.cache import VERSION_CHECK_SECONDS, data_version_bump
from detection.models import Outage
from tests.detection.status_data import status_make
from tests.e2e.browser import come_back, page  # noqa: F401  (fixture)
from tests.e2e.test_browser_live import acme, outage_opens, outage_resolves  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

INTERVAL_MS = 30_000  # status.js polls this often
TOGGLE = re.compile(r"^(Pause|Resume) live updates$")


def outage_grows(service, outage: Outage, *, countries=("DE",)) -> None:
    """A minute later: the outage's peak and total rise (its summary in the status card, the
    history's "Peak" cell and the outage page's numbers change), and maybe its countries."""
    Outage.objects.filter(pk=outage.pk).update(
        peak_observed=F("peak_observed") + 7, total_reports=F("total_reports") + 40
    )
    outage.refresh_from_db()
    status_make(
        service, 2, outage=outage, countries=countries, since=outage.started_at, observed=55
    )
    data_version_bump()


def mark(page, selector: str) -> None:  # noqa: F811
    """Marks the element now shown there, so that its replacement can be waited for."""
    page.locator(selector).evaluate("el => { el.__beforeUpdate = true; }")


def replaced(page, selector: str) -> None:  # noqa: F811
    """Waits until the page swapped in new markup where `selector` is."""
    page.wait_for_function(
        "s => { const el = document.querySelector(s); return el && !el.__beforeUpdate; }",
        arg=selector,
    )


def scrolled(page) -> float:  # noqa: F811
    return page.evaluate("window.scrollY")


def live_requests(page) -> list[str]:  # noqa: F811
    """The page's requests for its live.json, as they are made."""
    seen: list[str] = []
    page.on("request", lambda request: "live.json" in request.url and seen.append(request.url))
    return seen


def test_focus_stays_on_the_link_across_an_update(web_server, page, acme):  # noqa: F811
    outage = outage_opens(acme)
    page.goto(f"{web_server.url}/services/acme/")
    details = page.locator("[data-status-outage] a")
    expect(details).to_have_text("Outage details")

    details.focus()
    mark(page, "[data-status-outage] a")
    y = scrolled(page)
    outage_grows(acme, outage)
    come_back(page)
    replaced(page, "[data-status-outage] a")
    expect(details).to_be_focused()  # the new link, not <body>
    assert scrolled(page) == y, "focus was put back without scrolling"

    # The outage history's "Details" link, in a region that changed too (its peak).
    history = f'#outages .outage-table a[href="/outages/{outage.pk}/"]'
    page.locator(history).focus()
    mark(page, history)
    expect(page.locator("#outages .outage-table")).to_contain_text("55 a minute")
    outage_grows(acme, outage)
    come_back(page)
    replaced(page, history)
    expect(page.locator("#outages .outage-table")).to_contain_text("62 a minute")
    expect(page.locator(history)).to_be_focused()

    # The link is gone when the outage ends: focus stays in the status card, not on <body>.
    details.focus()
    outage_resolves(acme, outage)
    come_back(page)
    expect(page.locator("[data-status-badge]")).to_have_text("No problems")
    expect(details).to_have_count(0)
    expect(page.locator("[data-live=status]")).to_be_focused()
    expect(page.locator("[data-live=status]")).to_have_attribute("tabindex", "-1")


def test_focus_stays_on_a_home_board_card_whose_words_changed(web_server, page, acme):  # noqa: F811
    outage = outage_opens(acme)
    page.goto(f"{web_server.url}/")
    card = '[data-live=board] a[data-board-service="acme"]'
    expect(page.locator(card)).to_contain_text("Germany")
    page.locator(card).focus()
    mark(page, card)
    outage_grows(acme, outage, countries=("DE", "FR"))
    come_back(page)
    replaced(page, card)
    expect(page.locator(card)).to_contain_text("Germany, France")
    expect(page.locator(card)).to_be_focused()


def test_an_opened_details_stays_open_across_an_update(web_server, page, acme):  # noqa: F811
    outage = outage_opens(acme)
    page.goto(f"{web_server.url}/outages/{outage.pk}/")
    how = "[data-live=outage-explanation] details"
    expect(page.locator(how)).not_to_have_attribute("open", "")
    page.get_by_text("How we decided", exact=True).click()
    expect(page.locator(how)).to_have_attribute("open", "")
    mark(page, how)
    numbers = page.locator("[data-live=outage-explanation] .status-numbers")
    expect(numbers).to_contain_text("150")

    outage_grows(acme, outage)
    come_back(page)
    replaced(page, how)
    expect(numbers).to_contain_text("190")
    expect(page.locator(how)).to_have_attribute("open", "")
    expect(page.locator(f"{how} > summary")).to_be_focused()  # where the click left it


def test_pause_stops_requests_and_swaps_until_resumed(web_server, page, acme):  # noqa: F811
    page.clock.install()
    requests = live_requests(page)
    page.goto(f"{web_server.url}/services/acme/")
    badge = page.locator("[data-status-badge]")
    toggle = page.get_by_role("button", name=TOGGLE)
    expect(toggle).to_have_text("Pause live updates")
    # Its words change with what it does: no aria-pressed beside them ("Resume ..., pressed").
    assert toggle.get_attribute("aria-pressed") is None
    # Beside the announcer, before the live parts: reached before what moves.
    assert toggle.evaluate(
        "b => b.parentElement.previousElementSibling.hasAttribute('data-live-announce')"
    )
    page.clock.run_for(INTERVAL_MS)
    wait_for_count(page, requests, 1)  # the interval asks

    toggle.click()
    expect(toggle).to_have_text("Resume live updates")
    expect(toggle).to_be_focused()
    outage_opens(acme)
    come_back(page)  # coming back to the tab
    page.clock.run_for(3 * INTERVAL_MS)  # and three intervals
    page.wait_for_timeout(1000)
    assert len(requests) == 1, requests
    expect(badge).to_have_text("No problems")

    toggle.click()  # resuming asks at once
    expect(toggle).to_have_text("Pause live updates")
    expect(badge).to_have_text("Problems detected")
    wait_for_count(page, requests, 2)
    page.clock.run_for(INTERVAL_MS)
    wait_for_count(page, requests, 3)  # and the interval asks again


def test_the_pause_holds_on_the_next_page(web_server, page, acme):  # noqa: F811
    outage = outage_opens(acme)
    page.clock.install()
    requests = live_requests(page)
    page.goto(f"{web_server.url}/services/acme/")
    page.get_by_role("button", name="Pause live updates").click()
    page.locator("[data-status-outage] a").click()  # the outage's page
    expect(page).to_have_url(f"{web_server.url}/outages/{outage.pk}/")
    toggle = page.get_by_role("button", name=TOGGLE)
    expect(toggle).to_have_text("Resume live updates")
    when = page.locator("[data-live=outage-when] .badge")
    expect(when).to_have_text("Ongoing")

    outage_resolves(acme, outage)
    come_back(page)
    page.clock.run_for(2 * INTERVAL_MS)
    page.wait_for_timeout(1000)
    assert requests == [], requests
    expect(when).to_have_text("Ongoing")

    toggle.click()
    expect(when).to_have_text("Resolved")
    wait_for_count(page, requests, 1)
    # The choice is the tab's: the next page follows again.
    page.goto(f"{web_server.url}/")
    expect(page.get_by_role("button", name=TOGGLE)).to_have_text("Pause live updates")


def wait_for_count(page, requests: list[str], n: int) -> None:  # noqa: F811
    """Waits (letting Playwright deliver the page's events) until n requests were seen."""
    deadline = time.monotonic() + VERSION_CHECK_SECONDS + 10
    while len(requests) < n and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(requests) == n, requests
