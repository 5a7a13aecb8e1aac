"""Keyboard and phone findings of the pages tester, in a real browser: Tab reaches a skip link
first (F4), the report form's problem buttons keep their words whole on 320- and 375-px phones
(F5), a failed report puts focus on the field to correct (F6), and the small links and
controls are at least 24 px tap targets on a phone (F18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from reports import services
from reports.models import ProblemType, Report
from tests.conftest import crowd_address
from tests.detection.status_data import minute_now, outage_make
from tests.e2e.browser import page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The catalog's longest problem names, and the ones the tester saw split.
LONG_PROBLEMS = [
    ("notifications", "Notifications"),
    ("messaging", "Messaging"),
    ("receiving-email", "Receiving email"),
    ("git-operations", "Git operations"),
    ("card-payments", "Card payments"),
    ("login", "Login"),
]


@pytest.fixture
def wordy(make_service):
    """A service with long problem names, a past outage everywhere and a comment."""
    service = make_service("wordy", "Wordy Chat")
    service.problem_types.set(
        [
            ProblemType.objects.update_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in LONG_PROBLEMS
        ]
    )
    started = minute_now() - timedelta(days=1)
    outage_make(service, started_at=started, resolved_at=started + timedelta(hours=1), countries=())
    services.report_create(
        service=service,
        problem=service.problem_types.get(slug="login"),
        country="DE",
        comment="Cannot log in since this morning.",
        source=Report.Source.WEB,
        address=crowd_address(1),
    )
    return service


def test_tab_first_reaches_the_skip_link_which_moves_focus_to_main(web_server, page, wordy):  # noqa: F811
    page.goto(f"{web_server.url}/services/wordy/")
    skip = page.locator("a.skip-link")
    expect(skip).not_to_be_in_viewport()  # hidden until reached
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to main content")
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab goes into the page's content, past the header's links.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('header') === null")


# Each word of each problem button: the rectangles of its letters lie on one line.
WORDS_SPLIT = """() => [...document.querySelectorAll('.problem-buttons button')].flatMap(button => {
    const text = button.firstChild;
    const problems = [];
    if (button.scrollWidth > button.clientWidth) problems.push(button.textContent + ': overflows');
    let at = 0;
    for (const word of text.data.split(' ')) {
        const start = text.data.indexOf(word, at);
        at = start + word.length;
        const range = document.createRange();
        range.setStart(text, start);
        range.setEnd(text, at);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size !== 1) problems.push(button.textContent + ': "' + word + '" split');
    }
    return problems;
})"""


@pytest.mark.parametrize("size", [(320, 640), (375, 740)])
def test_problem_buttons_keep_their_words_whole_on_a_phone(web_server, page, wordy, size):  # noqa: F811
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{web_server.url}/services/wordy/#report")
    buttons = page.locator(".problem-buttons button")
    expect(buttons).to_have_count(len(LONG_PROBLEMS))
    assert page.evaluate(WORDS_SPLIT) == []
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


def test_a_failed_report_puts_focus_on_the_field_to_correct(web_server, page, wordy):  # noqa: F811
    page.goto(f"{web_server.url}/services/wordy/")
    page.locator(".problem-buttons button", has_text="Login").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("#report")
    country = page.locator("#id_country")
    expect(country).to_be_focused()
    expect(country).to_have_accessible_description("Choose your country.")


def _small(page, selector: str) -> list[str]:  # noqa: F811
    boxes = page.locator(selector)
    assert boxes.count(), selector
    small = []
    for i in range(boxes.count()):
        box = boxes.nth(i).bounding_box()
        if box is None or box["width"] < 24 or box["height"] < 24:
            small.append(f"{selector} #{i}: {box}")
    return small


def test_small_links_and_controls_are_24px_targets_on_a_phone(web_server, page, wordy):  # noqa: F811
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{web_server.url}/services/wordy/")
    page.locator(".subscribe-channel summary").click()
    small = []
    for selector in (
        ".breadcrumbs a",
        ".feed-link a",
        ".outage-table td a",
        ".comment-flag .link-button",
        ".subscribe-form input[type=checkbox]",
        ".subscribe-form input[type=radio]",
    ):
        small += _small(page, selector)
    page.goto(f"{web_server.url}/outages/")
    small += _small(page, ".outage-table td a")
    assert small == []
    expect(page.locator(".outage-table td[data-label=Countries]").first).to_have_text("Everywhere")
