"""A real Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests.e2e.chromium import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def open_page(monkeypatch) -> Iterator:
    """open_page(timezone_id="UTC"): a fresh page (German locale, desktop size) of a browser
    living in that zone; every page is closed with the test.

    Without chromium the browser tests are skipped on a developer's machine, and fail in CI
    (REQUIRE_BROWSER=1, set by .ci/run), where a silent skip would hide the pages' tests.
    """
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} not found: browser tests need Debian's chromium "
            "(apt-get install chromium) or CHROMIUM_PATH pointing at one."
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread; the test still talks to
    # the database synchronously between browser steps, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        contexts = []

        def new_page(timezone_id: str = "UTC"):
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="de-DE", timezone_id=timezone_id
            )
            context.set_default_timeout(15_000)
            contexts.append(context)
            return context.new_page()

        try:
            yield new_page
        finally:
            for context in contexts:
                context.close()
            browser.close()
            # Queries a test makes while Playwright's sync API runs (its loop set in this
            # thread) land on a connection the test database's teardown does not see: that
            # session stayed open to the end and the database could not be dropped (a warning
            # in every run). Closed here, in the test's own context.
            connections.close_all()


@pytest.fixture
def page(open_page):
    """A fresh browser page (German locale, desktop size, UTC)."""
    return open_page()


def come_back(page) -> None:
    """What a reader's returning to the tab does: the page asks at once. The web server
    notices a new data version within detection.cache.VERSION_CHECK_SECONDS, so wait that out
    first."""
    from detection.cache import VERSION_CHECK_SECONDS

    time.sleep(VERSION_CHECK_SECONDS + 0.2)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
