"""GET /api/v1/services/{slug}/ (status, counts, active outage) and GET /api/v1/status/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from detection.models import JobCursor
from tests.detection.status_data import (
    buckets_make,
    minute_now,
    outage_make,
    status_make,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]


def test_service_without_status_row_is_ok_with_zero_counts(api_client, service):
    body = api_client.get("/api/v1/services/acme/").json()
    assert body["name"] == "Acme Cloud"
    assert {"slug", "category", "website", "status_page", "problems", "url"} <= set(body)
    assert body["status"]["level"] == "ok"
    assert body["status"]["level_value"] == 0
    assert body["status"]["summary"] == "No current problems at Acme Cloud."
    assert body["status"]["since"] is None
    assert body["active_outage"] is None
    assert body["reports"] == {"last_15m": 0, "last_1h": 0, "last_24h": 0}
    assert body["expected_now"] is None
    assert body["links"]["series"].endswith("/api/v1/services/acme/series/")


def test_service_counts_sum_overall_buckets_per_window(api_client, service):
    now = minute_now()
    buckets_make(
        service,
        {
            now - timedelta(minutes=1): 5,
            now - timedelta(minutes=10): 3,
            now - timedelta(minutes=30): 7,
            now - timedelta(hours=5): 11,
            now - timedelta(hours=30): 100,  # older than a day: not counted
        },
    )
    buckets_make(service, {now - timedelta(minutes=1): 4}, country="DE")  # not overall
    body = api_client.get("/api/v1/services/acme/").json()
    assert body["reports"] == {"last_15m": 8, "last_1h": 15, "last_24h": 26}


def test_service_counts_hold_every_closed_minute_of_each_span(api_client, service):
    """Maintainer review (forty-third session): the spans summed 14, 59 and 1439 minutes (the
    oldest minute left out, the current one not counted into buckets yet)."""
    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=k): 1 for k in range(1, 1442)})
    body = api_client.get("/api/v1/services/acme/").json()
    assert body["reports"] == {"last_15m": 15, "last_1h": 60, "last_24h": 1440}


def test_service_with_problems_has_sentence_outage_and_expected(api_client, service):
    started = minute_now() - timedelta(minutes=25)
    outage = outage_make(service, started_at=started)
    status_make(service, 2, outage=outage, countries=("DE", "FR"), expected=2.5)

    body = api_client.get("/api/v1/services/acme/").json()

    status = body["status"]
    assert (status["level"], status["level_value"], status["label"]) == (
        "problems",
        2,
        "Problems detected",
    )
    assert status["summary"].startswith(
        f"User reports indicate problems at Acme Cloud since {started:%H:%M} UTC."
    )
    assert "Germany" in status["summary"]
    assert status["countries"] == ["DE", "FR"]
    assert body["expected_now"] == 2.5
    active = body["active_outage"]
    assert active["id"] == outage.pk and active["status"] == "active"
    assert active["top_problems"][0] == {"problem": "login", "name": "Login", "count": 120}
    assert active["url"].endswith(f"/outages/{outage.pk}/")


def test_possible_problems_are_worded_as_possible(api_client, service):
    status_make(service, 1)
    status = api_client.get("/api/v1/services/acme/").json()["status"]
    assert status["level"] == "possible"
    assert status["summary"].startswith("User reports indicate possible problems at Acme Cloud")


def test_status_lists_only_services_with_problems_worst_first(api_client, make_service):
    calm, shaky, down = make_service("calm"), make_service("shaky"), make_service("down")
    status_make(calm, 0)
    status_make(shaky, 1, score=0.8)
    outage = outage_make(down)
    status_make(down, 2, outage=outage, countries=("DE",))

    body = api_client.get("/api/v1/status/").json()

    assert body["count"] == 2
    assert [r["service"] for r in body["results"]] == ["down", "shaky"]
    first = body["results"][0]
    assert first["level"] == "problems" and first["active_outage"]["id"] == outage.pk
    assert first["url"].endswith("/services/down/")
    assert body["results"][1]["active_outage"] is None


def test_status_is_empty_when_all_is_well(api_client):
    # All is well only while the minutes are judged: the last one judged is the one just closed.
    judged = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    JobCursor.objects.create(name=JobCursor.TICK, position=judged)
    body = api_client.get("/api/v1/status/").json()
    assert (body["count"], body["results"], body["detection"]["current"]) == (0, [], True)


def test_status_hides_inactive_services(api_client, make_service):
    retired = make_service("retired", is_active=False)
    status_make(retired, 2)
    assert api_client.get("/api/v1/status/").json()["count"] == 0


def test_unknown_service_is_404_in_error_format(api_client):
    response = api_client.get("/api/v1/services/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
