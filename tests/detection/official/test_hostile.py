"""Hostile or broken status servers: every payload that cannot be trusted is refused with a
logged reason, and the pages keep showing the last good state."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from detection.official import selectors, services
from detection.official.models import OfficialIncident, StatusSource
from tests.detection.official.conftest import NOW
from tests.detection.official.statusserver import Page, payload

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(minutes=2)
TEN_MB = 10 * 1024 * 1024


def _redirect(to: str) -> Page:
    return Page(b"", status=302, headers=(("Location", to),))


@pytest.fixture
def good_state(status_server, official_source, make_service):
    """A GitHub page read once: one open incident, indicator major. Returns (service, source)."""
    service = make_service("github")
    url = status_server.serve("/summary.json", Page(payload("statuspage_open.json"), etag='"1"'))
    source = official_source(service, url)
    assert services.status_source_poll(source_id=source.pk, now=NOW).outcome == "updated"
    return service, source


def assert_last_good_state_kept(service, source: StatusSource) -> None:
    source.refresh_from_db()
    assert source.indicator == "major" and source.etag == '"1"'
    assert source.failures == 1 and source.last_success_at == NOW
    assert source.next_poll_at == LATER + timedelta(seconds=240)  # backed off
    [incident] = OfficialIncident.objects.all()
    assert incident.is_open and incident.status == "investigating"
    official = selectors.official_status(service=service, now=LATER)
    assert official.indicator == "major" and len(official.open_incidents) == 1


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (Page(payload("statuspage_truncated.json")), "payload refused: invalid JSON"),
        (Page(payload("statuspage_wrong_types.json")), "incident_updates: expected a list"),
        (Page(b'{"status": "fine"}'), "status: expected an object"),
        (Page(b"{" + b" " * TEN_MB + b"}"), "larger than 2000000 bytes"),
        (Page(b"<html>Service Unavailable</html>", status=503), "HTTP 503"),
        (_redirect("http://10.0.0.1/summary.json"), "redirect to http://10.0.0.1/summary.json"),
        (_redirect("http://127.0.0.1:1/summary.json"), "redirect to http://127.0.0.1:1/"),
        (_redirect("http://169.254.169.254/latest/meta-data/"), "not followed"),
    ],
    ids=["truncated", "wrong-types", "string-for-object", "10MB", "503", "to-10.0.0.1",
         "to-loopback", "to-metadata"],
)  # fmt: skip
def test_a_hostile_answer_is_refused_and_the_last_good_state_kept(
    good_state, status_server, caplog, page, reason
):
    service, source = good_state
    status_server.serve("/summary.json", page)

    with caplog.at_level(logging.WARNING, logger="detection.official"):
        result = services.status_source_poll(source_id=source.pk, now=LATER)

    assert result.outcome in ("refused", "failed") and reason in result.reason
    assert reason in caplog.text and source.url in caplog.text
    assert_last_good_state_kept(service, source)
    assert len(status_server.requests) == 2  # no redirect was followed


def test_a_slow_trickle_is_cut_off_at_the_read_deadline(good_state, status_server, settings):
    service, source = good_state
    settings.OFFICIAL_HTTP_TIMEOUT_SECONDS = 0.5
    body = payload("statuspage_resolved.json")
    status_server.serve("/summary.json", Page(body, trickle=0.02))  # ~20 s in all
    started = time.monotonic()

    result = services.status_source_poll(source_id=source.pk, now=LATER)

    assert result.outcome == "failed" and "timed out after" in result.reason
    assert time.monotonic() - started < 3
    assert_last_good_state_kept(service, source)


def test_an_xml_bomb_is_refused_without_expanding_it(
    status_server, official_source, make_service, caplog
):
    service = make_service("aws")
    url = status_server.serve("/all.rss", Page(payload("feed.rss"), content_type="text/xml"))
    source = official_source(service, url, kind="feed")
    services.status_source_poll(source_id=source.pk, now=NOW)
    status_server.serve("/all.rss", Page(payload("bomb.xml"), content_type="text/xml"))
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="detection.official"):
        result = services.status_source_poll(source_id=source.pk, now=LATER)

    assert result.outcome == "refused" and "DTDForbidden" in result.reason
    assert "unsafe XML" in caplog.text
    assert time.monotonic() - started < 2
    assert OfficialIncident.objects.filter(resolved_at__isnull=True).count() == 1


def test_loopback_is_refused_unless_the_setting_allows_it(good_state, settings, caplog):
    service, source = good_state
    settings.OFFICIAL_HTTP_ALLOW_LOOPBACK = False

    with caplog.at_level(logging.WARNING, logger="detection.official"):
        result = services.status_source_poll(source_id=source.pk, now=LATER)

    assert result.outcome == "failed"
    assert "127.0.0.1 is a private or local address, where we do not send" in result.reason
    assert "127.0.0.1" in caplog.text
    assert_last_good_state_kept(service, source)


@pytest.mark.parametrize("url", ["http://10.0.0.1/api/v2/summary.json", "http://[::1]:80/x"])
def test_a_private_address_is_never_contacted(official_source, make_service, settings, url):
    settings.OFFICIAL_HTTP_ALLOW_LOOPBACK = False
    source = official_source(make_service("acme"), url)
    started = time.monotonic()

    result = services.status_source_poll(source_id=source.pk, now=NOW)

    assert result.outcome == "failed" and "where we do not send" in result.reason
    assert time.monotonic() - started < 1  # refused before any connection attempt


def test_a_304_to_a_plain_request_is_not_taken_as_a_good_read(
    status_server, official_source, make_service
):
    url = status_server.serve("/summary.json", Page(b"", status=304))
    source = official_source(make_service("acme"), url)

    result = services.status_source_poll(source_id=source.pk, now=NOW)

    assert result.outcome == "refused" and "not conditional" in result.reason
    source.refresh_from_db()
    assert source.last_success_at is None and source.failures == 1
