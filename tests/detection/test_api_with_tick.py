"""The read API on rows written by the real pipeline (reports -> buckets -> detect_tick)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from detection.models import Outage
from detection.services import buckets_aggregate, detect_tick
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def _run(send_reports, service, start: int, stop: int, extra: int, capture) -> None:
    for k in range(start, stop):
        minute = T0 + k * M
        send_reports(service, minute, 2, country="DE")
        if extra:
            send_reports(service, minute, extra, country="DE", problem="app")
        now = minute + M + dt.timedelta(seconds=2)
        # The tick bumps the data version after commit, as in production.
        with capture(execute=True):
            buckets_aggregate(now=now)
            detect_tick(now=now)


def test_api_reports_an_outage_the_tick_opened(
    api_client, history, send_reports, django_capture_on_commit_callbacks, monkeypatch
):
    _run(send_reports, history, 0, 8, 0, django_capture_on_commit_callbacks)
    monkeypatch.setattr(timezone, "now", lambda: T0 + 8 * M + dt.timedelta(seconds=5))
    calm = api_client.get("/api/v1/services/acme/")
    assert calm.json()["status"]["level"] == "ok"

    _run(send_reports, history, 8, 16, 25, django_capture_on_commit_callbacks)
    monkeypatch.setattr(timezone, "now", lambda: T0 + 16 * M + dt.timedelta(seconds=5))

    stale = api_client.get("/api/v1/services/acme/", HTTP_IF_NONE_MATCH=calm["ETag"])
    assert stale.status_code == 200  # the ticks changed the data version
    body = stale.json()
    outage = Outage.objects.get()
    assert body["status"]["level"] == "problems"
    assert body["status"]["summary"].startswith(
        f"User reports indicate problems at Acme Cloud since {outage.started_at:%H:%M} UTC."
    )
    assert "Germany" in body["status"]["summary"]
    assert body["active_outage"]["id"] == outage.pk
    assert body["reports"]["last_15m"] > 8 * 25
    assert 0 < body["expected_now"] < 5

    series = api_client.get("/api/v1/services/acme/series/", {"window": "1h"}).json()
    points = series["points"]
    assert series["baseline"] in ("hgb", "mean")
    loud = points[-8:]
    assert all(p["observed"] > p["upper"] for p in loud)
    calm_points = points[-50:-8]
    assert sum(p["observed"] <= p["upper"] for p in calm_points) >= 0.9 * len(calm_points)

    detail = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    assert detail["timeline"][0]["kind"] == "opened"
    assert "DE" in detail["countries"] and detail["top_problems"][0]["problem"] == "app"
    board = api_client.get("/api/v1/status/").json()
    assert [r["service"] for r in board["results"]] == ["acme"]
