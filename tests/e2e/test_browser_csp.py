"""The Content-Security-Policy breaks nothing: no violations in a real browser, and Swagger
UI (drf-spectacular-sidecar) still renders under its own policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.detection.status_data import buckets_make, minute_now, problem_sites_admit
from tests.e2e.browser import page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _violations(page) -> list[str]:  # noqa: F811
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return seen


def test_pages_run_without_csp_violations(web_server, page, make_service):  # noqa: F811
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    buckets_make(
        service,
        {now - timedelta(minutes=m): 4 for m in range(1, 60)},
        problems={"login": 0.7, "app": 0.3},
    )
    for slug in ("login", "app"):  # the breakdown lists problems from enough sites only
        problem_sites_admit(service, slug, now - timedelta(minutes=1))
    violations = _violations(page)
    for path in ("/", "/services/acme/", "/outages/", "/admin/login/"):
        response = page.goto(web_server.url + path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
    page.goto(web_server.url + "/services/acme/")
    bars = page.locator("svg.bar rect")
    expect(bars.first).to_be_attached()
    assert float(bars.first.get_attribute("width")) > 0
    page.goto(web_server.url + "/?q=acme")
    page.wait_for_load_state("networkidle")
    assert violations == []


def test_swagger_ui_renders_under_its_policy(web_server, page):  # noqa: F811
    violations = _violations(page)
    page.goto(web_server.url + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("OutageWatch API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []
