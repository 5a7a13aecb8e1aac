"""Comments in a real browser: shown newest first, links never clickable, report abuse."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reports import services
from reports.models import Report
from tests.conftest import crowd_address
from tests.e2e.browser import SCREENSHOTS, page  # noqa: F401  (fixture)
from tests.e2e.chromium import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def commented(make_service):
    service = make_service("acme", "Acme Cloud")
    for k, text in enumerate(["Login spins forever", "see https://evil.example/x for a fix"]):
        services.report_create(
            service=service,
            problem=service.problem_types.get(slug="login"),
            country="DE",
            comment=text,
            source=Report.Source.WEB,
            address=crowd_address(k),
        )
    return service


def test_comments_are_shown_as_text_and_can_be_reported(web_server, page, commented):  # noqa: F811
    page.goto(f"{web_server.url}/services/acme/")
    comments = page.locator("#comments .comment-text")
    expect(comments).to_have_count(2)
    expect(comments.first).to_have_text("see https://evil.example/x for a fix")  # newest first
    expect(page.locator('#comments a[href*="evil.example"]')).to_have_count(0)
    page.locator("#comments .comment-text", has_text="evil.example").click()
    assert page.url == f"{web_server.url}/services/acme/"  # the text is no link

    page.locator("#comments .comment").first.get_by_role("button", name="Report abuse").click()
    message = page.locator("#comments [data-placed-message]")
    expect(message).to_contain_text("we will look at this comment")
    expect(message).to_be_in_viewport()
    assert Report.objects.get(comment__contains="evil").comment_flags == 1
    page.screenshot(path=str(SCREENSHOTS / "comments.png"))


def test_a_long_link_in_a_comment_does_not_widen_a_phone_page(web_server, page, make_service):  # noqa: F811
    service = make_service("acme", "Acme Cloud")
    services.report_create(
        service=service,
        problem=service.problem_types.get(slug="login"),
        country="DE",
        comment="https://example.com/" + "a" * 250,
        source=Report.Source.WEB,
        address=crowd_address(1),
    )
    page.set_viewport_size(PHONE)
    page.goto(f"{web_server.url}/services/acme/")
    comment = page.locator("#comments .comment-text")
    expect(comment).to_contain_text("https://example.com/aaa")
    assert comment.bounding_box()["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
