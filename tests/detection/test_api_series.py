"""GET /api/v1/services/{slug}/series/: observed counts against the expected band."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    flat_baseline,
    hourly_make,
    minute_now,
)

pytestmark = pytest.mark.django_db


def _series(api_client, **params):
    return api_client.get("/api/v1/services/acme/series/", params)


def _assert_spans(points: list[dict], *, hours: int) -> None:
    """The points reach back to the start of the window they name, and no further than a
    bucket before it (a partial newest bucket used to cost the window its oldest one)."""
    parse = datetime.fromisoformat
    end = parse(points[-1]["at"]) + timedelta(minutes=points[-1]["minutes"])
    start = parse(points[0]["at"])
    assert end - timedelta(hours=hours) - timedelta(minutes=points[0]["minutes"]) < start
    assert start <= end - timedelta(hours=hours)


def test_coarse_buckets_cover_the_window_they_name(api_client, service):
    for window, resolution in (("1h", "1h"), ("6h", "1h"), ("24h", "15m"), ("7d", "1h")):
        body = _series(api_client, window=window, resolution=resolution).json()
        _assert_spans(body["points"], hours={"1h": 1, "6h": 6, "24h": 24, "7d": 168}[window])


def test_a_closed_minute_not_yet_counted_is_left_out_not_drawn_as_zero(api_client, service):
    from detection.models import JobCursor

    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=3): 5})
    JobCursor.objects.create(name="buckets", position=now - timedelta(minutes=2))

    points = _series(api_client, window="1h", resolution="1m").json()["points"]

    assert points[-1]["at"] == (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert points[-1]["observed"] == 5


def test_one_minute_series_fills_missing_buckets_with_zero(midday, api_client, service):
    # A minute that turned between the data and the read moved the series on (clock tester).
    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=1): 4, now - timedelta(minutes=5): 2})

    body = _series(api_client, window="1h", resolution="1m").json()

    points = body["points"]
    assert len(points) == 60
    assert (body["window"], body["resolution"], body["country"]) == ("1h", "1m", "")
    assert points[-1]["observed"] == 4 and points[-5]["observed"] == 2
    assert sum(p["observed"] for p in points) == 6
    assert all(p["complete"] and p["minutes"] == 1 for p in points)
    # No baseline: nothing is expected yet.
    assert body["baseline"] is None
    assert {p["expected"] for p in points} == {None}


def test_fifteen_minute_series_sums_buckets(api_client, service):
    now = minute_now()
    start = now - timedelta(minutes=now.minute % 15) - timedelta(minutes=30)  # a full bucket
    buckets_make(service, {start: 1, start + timedelta(minutes=7): 2})
    buckets_make(service, {start + timedelta(minutes=14): 3})

    body = _series(api_client, window="6h", resolution="15m").json()

    assert len(body["points"]) == 24 + (not body["points"][-1]["complete"])
    _assert_spans(body["points"], hours=6)
    by_start = {p["at"]: p["observed"] for p in body["points"]}
    assert by_start[start.strftime("%Y-%m-%dT%H:%M:%SZ")] == 6


def test_expected_band_comes_from_the_stored_baseline(api_client, service):
    baseline_store(service, flat_baseline(2.0, dispersion=0.1))

    body = _series(api_client, window="24h", resolution="1h").json()

    assert body["baseline"] == "mean"
    full = [p for p in body["points"] if p["complete"]]
    assert len(full) == 24 and len(body["points"]) - len(full) <= 1
    _assert_spans(body["points"], hours=24)
    for p in full:
        assert p["expected"] == pytest.approx(120.0)
        assert p["lower"] < p["expected"] < p["upper"]
        assert p["lower"] >= 0
    # The newest hour is still filling: its expectation covers only the minutes passed.
    newest = body["points"][-1]
    assert newest["expected"] == pytest.approx(2.0 * newest["minutes"])


def test_band_lower_edge_is_clipped_at_zero(api_client, service):
    baseline_store(service, flat_baseline(0.05))
    points = _series(api_client, window="1h", resolution="1m").json()["points"]
    assert {p["lower"] for p in points} == {0.0}
    assert all(p["upper"] > p["expected"] > 0 for p in points)


def test_hourly_series_uses_rollups_where_minutes_are_gone(api_client, service):
    now = minute_now()
    old_hour = now.replace(minute=0) - timedelta(days=3)
    hourly_make(service, old_hour, 42)
    buckets_make(service, {now - timedelta(minutes=1): 5})

    points = _series(api_client, window="7d", resolution="1h").json()["points"]

    assert len(points) == 168 + (not points[-1]["complete"])
    observed = {p["at"]: p["observed"] for p in points}
    assert observed[old_hour.strftime("%Y-%m-%dT%H:%M:%SZ")] == 42
    assert sum(observed.values()) == 47


def test_country_series_reads_only_that_country(api_client, service):
    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=2): 9}, country="DE")
    buckets_make(service, {now - timedelta(minutes=2): 20})
    baseline_store(service, flat_baseline(0.5), country="DE")

    body = _series(api_client, window="1h", resolution="1m", country="de").json()

    assert body["country"] == "DE"
    assert sum(p["observed"] for p in body["points"]) == 9
    assert body["points"][0]["expected"] == pytest.approx(0.5)


def test_default_resolution_depends_on_the_window(api_client, service):
    assert _series(api_client).json()["resolution"] == "15m"
    assert _series(api_client, window="1h").json()["resolution"] == "1m"
    month = _series(api_client, window="30d").json()["points"]
    assert len(month) == 720 + (not month[-1]["complete"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"window": "2h"}, "window"),
        ({"resolution": "5m"}, "resolution"),
        ({"window": "7d", "resolution": "1m"}, "resolution"),
        ({"window": "30d", "resolution": "15m"}, "resolution"),
        ({"country": "XX"}, "country"),
        ({"country": "GERMANY"}, "country"),
    ],
)
def test_bad_parameters_are_400_in_error_format(api_client, service, params, field):
    response = _series(api_client, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["fields"]


def test_series_of_unknown_service_is_404(api_client):
    response = api_client.get("/api/v1/services/nope/series/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
