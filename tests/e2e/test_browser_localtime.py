"""Times in the reader's time zone (static/js/localtime.js) in a real browser whose zone is
set by Playwright: the outage page, content inserted later, and the subscribe form sending
the browser's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.detection.status_data import outage_make
from tests.e2e.browser import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# A past day, so the pages show the date; November: Berlin is UTC+1, New York UTC-5.
STARTED = datetime(2026, 11, 27, 13, 26, tzinfo=UTC)
ENDED = STARTED + timedelta(minutes=47)  # 14:13 UTC


@pytest.fixture
def resolved(make_service):
    service = make_service("acme", "Acme Cloud")
    return outage_make(service, started_at=STARTED, resolved_at=ENDED)


def _dated(clock: str, zone: str) -> str:
    """ "27 Nov 14:26 (UTC+1)", with the year when the reader's year is another: the server
    and the browser run on the real clock (from 2027 the page says "27 Nov 2026, 14:26";
    clock tester, forty-fourth session)."""
    if datetime.now(ZoneInfo(zone)).year == STARTED.year:
        return f"27 Nov {clock}"
    return f"27 Nov {STARTED.year}, {clock}"


@pytest.mark.parametrize(
    ("zone", "start_clock", "end_clock"),
    [
        ("Europe/Berlin", "14:26 (UTC+1)", "15:13 (UTC+1)"),
        ("America/New_York", "08:26 (UTC-5)", "09:13 (UTC-5)"),
        ("UTC", "13:26 UTC", "14:13 UTC"),
    ],
)
def test_outage_page_shows_times_in_the_readers_zone(
    web_server, open_page, resolved, zone, start_clock, end_clock
):
    start, end = _dated(start_clock, zone), _dated(end_clock, zone)
    page = open_page(zone)
    page.goto(f"{web_server.url}/outages/{resolved.pk}/")
    header = page.locator(".outage-when")
    expect(header).to_contain_text(f"Started {start}, ended {end}, after 47 min.")
    # The timeline ends at the same end time as the header.
    expect(page.locator("#timeline li").last).to_contain_text(f"{end} Back to normal")
    # The UTC instant stays machine-readable, and the UTC text is kept as a tooltip.
    first = header.locator("time").first
    assert first.get_attribute("datetime") == "2026-11-27T13:26:00Z"
    assert first.get_attribute("title") == _dated("13:26 UTC", "UTC")
    if zone == "Europe/Berlin":
        page.screenshot(path=str(SCREENSHOTS / "outage-page-berlin.png"), full_page=True)


@pytest.mark.parametrize(
    ("zone", "day"),
    [("Pacific/Kiritimati", "28 Nov 2026"), ("UTC", "27 Nov 2026")],
)
def test_outage_page_title_names_the_readers_day(web_server, open_page, resolved, zone, day):
    # 13:26 UTC is already the next day at UTC+14 (the tab's title said UTC's day).
    page = open_page(zone)
    page.goto(f"{web_server.url}/outages/{resolved.pk}/")
    expect(page).to_have_title(f"Acme Cloud outage on {day} · OutageWatch")


def test_times_inserted_later_are_localized_by_the_shared_function(web_server, open_page, resolved):
    page = open_page("America/New_York")
    page.goto(f"{web_server.url}/outages/{resolved.pk}/")
    text = page.evaluate(
        """() => {
            const box = document.createElement("div");
            box.innerHTML =
                '<time datetime="2026-07-01T12:00:00Z" data-local="no">12:00 UTC</time>';
            document.body.append(box);
            window.OutageWatch.localizeTimes(box);
            return box.textContent;
        }"""
    )
    assert text == "08:00 (UTC-4)"  # summer time in July


def test_subscribe_form_sends_the_browsers_zone(web_server, open_page, make_service):
    from alerts.models import Subscription

    make_service("acme", "Acme Cloud")
    page = open_page("Europe/Berlin")
    page.goto(f"{web_server.url}/services/acme/")
    zone_input = page.locator('#subscribe input[name="timezone"]')
    expect(zone_input).to_have_value("Europe/Berlin")
    page.fill("#subscribe-email", "ann@example.com")
    page.locator("#subscribe button[type=submit]").click()
    expect(page.locator("#subscribe [data-placed-message]")).to_be_visible()
    assert Subscription.objects.get().timezone == "Europe/Berlin"


def test_chart_ticks_and_their_note_follow_the_readers_zone(web_server, open_page, resolved):
    page = open_page("Europe/Berlin")
    page.goto(f"{web_server.url}/outages/{resolved.pk}/")
    # Ticks as detection.charts draws them (UTC), inserted later as the live refresh does.
    page.evaluate(
        """() => {
          const box = document.createElement("div");
          box.id = "ticks";
          box.innerHTML = '<p>Times in <span data-local-zone>UTC</span>.</p>'
            + '<svg><text data-tick="2026-11-27T13:00:00+00:00" data-tick-format="clock">'
            + '13:00</text><text data-tick="2026-11-27T23:30:00+00:00" data-tick-format="day">'
            + '27 Nov</text></svg>';
          document.body.appendChild(box);
          window.OutageWatch.localizeTimes(box);
        }"""
    )
    ticks = page.locator("#ticks text")
    expect(ticks.nth(0)).to_have_text("14:00")
    expect(ticks.nth(1)).to_have_text("28 Nov")
    expect(page.locator("#ticks [data-local-zone]")).to_have_text("your time zone (UTC+1)")


def test_a_date_of_another_year_shows_its_year_in_the_readers_zone(
    web_server, open_page, make_service
):
    # The browser's clock pinned in 2026; the outage is from October 2025.
    started = datetime(2025, 10, 29, 18, 47, tzinfo=UTC)
    old = outage_make(
        make_service("acme", "Acme Cloud"),
        started_at=started,
        resolved_at=started + timedelta(minutes=119),
    )
    page = open_page("Europe/Berlin")
    page.clock.set_fixed_time(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    page.goto(f"{web_server.url}/outages/")
    row = page.locator(f'a[href="/outages/{old.pk}/"]').locator("xpath=ancestor::tr")
    expect(row).to_contain_text("29 Oct 2025, 19:47 (UTC+1)")
