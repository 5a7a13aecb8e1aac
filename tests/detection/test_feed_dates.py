"""An outage's feed entry is dated by what it shows, not by every save of the outage
(regression tester, forty-eighth session): an open outage is saved every minute, and a feed
polled while one ran (often for hours) was never a 304 (RFC 4287 4.2.15)."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pytest

from detection.models import Outage
from detection.services.feed_entries import outages_entries_date
from tests.detection.conftest import T0
from tests.detection.status_data import outage_make
from tests.detection.test_tick import run_minutes

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("/outages/feed/", "/services/acme/outages/feed/")


def _ticks(send_reports, service, monkeypatch, start: int, stop: int, extra: int = 0) -> None:
    run_minutes(send_reports, service, start, stop, extra, pin=monkeypatch)


def _entry_updated(response) -> str:
    return ElementTree.fromstring(response.content).find(f"{ATOM}entry/{ATOM}updated").text


def test_a_feed_polled_across_ticks_that_change_nothing_it_shows_is_a_304(
    client, history, send_reports, monkeypatch
):
    _ticks(send_reports, history, monkeypatch, 0, 10)
    _ticks(send_reports, history, monkeypatch, 10, 20, extra=25)
    _ticks(send_reports, history, monkeypatch, 20, 25)  # quiet: its counts have stopped
    first = {path: client.get(path) for path in FEEDS}
    saved = Outage.objects.get().updated_at

    _ticks(send_reports, history, monkeypatch, 25, 28)
    outage = Outage.objects.get()
    assert outage.is_active and outage.updated_at > saved  # saved by each tick, as before
    for path, seen in first.items():
        assert client.get(path, HTTP_IF_NONE_MATCH=seen["ETag"]).status_code == 304
        assert client.get(path, HTTP_IF_MODIFIED_SINCE=seen["Last-Modified"]).status_code == 304

    _ticks(send_reports, history, monkeypatch, 28, 45)  # it resolves: the entry says "(over)"
    outage.refresh_from_db()
    assert outage.status == "resolved"
    resolved = outage.events.get(kind="resolved").at
    assert outage.entry_updated_at == resolved  # the tick that resolved it
    for path, seen in first.items():
        again = client.get(path, HTTP_IF_NONE_MATCH=seen["ETag"])
        assert again.status_code == 200 and again["ETag"] != seen["ETag"]
        assert again["Last-Modified"] != seen["Last-Modified"]
        assert _entry_updated(again) > _entry_updated(seen)


def test_an_entry_is_dated_when_its_peak_changes_and_only_then(service):
    outage = outage_make(service, countries=("DE",))
    t1, t2, t3 = (T0 + k * M for k in (1, 2, 3))
    assert outages_entries_date(outages=[outage], now=t1) == 1
    assert outages_entries_date(outages=[outage], now=t2) == 0  # saved again, nothing shown
    outage.score, outage.tally = 0.5, {"counted": 3}  # not shown in the entry
    outage.save()
    assert outages_entries_date(outages=[outage], now=t2) == 0
    outage.peak_observed = 61.0  # "At the peak: about 61 reports a minute"
    outage.save()
    assert outages_entries_date(outages=[outage], now=t3) == 1
    outage.refresh_from_db()
    assert outage.entry_updated_at == t3
