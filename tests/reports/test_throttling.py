"""Rate limits with the real Redis cache shared by all web processes."""

from __future__ import annotations

import json

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from reports.models import Report

pytestmark = pytest.mark.django_db


def _post(client, address):
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"})
    return client.post(
        "/api/v1/reports/", data=body, content_type="application/json", REMOTE_ADDR=address
    )


@pytest.fixture
def low_rate(throttle_rate):
    throttle_rate("reports", "3/min")


def test_client_over_the_rate_gets_429_with_retry_after(api_client, service, low_rate):
    statuses = [_post(api_client, "203.0.113.9").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    response = _post(api_client, "203.0.113.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
    assert Report.objects.count() == 3


def test_throttle_state_lives_in_redis_and_is_shared(service, low_rate):
    # Two separate clients stand in for two web processes: the count is shared.
    for _ in range(3):
        assert _post(APIClient(), "203.0.113.10").status_code == 201
    assert _post(APIClient(), "203.0.113.10").status_code == 429
    redis_client = caches["default"]._cache.get_client(None, write=False)
    assert any(b"throttle_reports" in key for key in redis_client.keys("*"))


def test_other_clients_are_not_throttled(api_client, service, low_rate):
    for _ in range(4):
        _post(api_client, "203.0.113.11")
    assert _post(api_client, "198.51.100.20").status_code == 201


def test_forwarded_for_is_ignored_without_trusted_proxies(api_client, service, low_rate):
    for i in range(3):
        r = api_client.post(
            "/api/v1/reports/",
            data=json.dumps({"service": "acme", "problem": "login", "country": "DE"}),
            content_type="application/json",
            REMOTE_ADDR="203.0.113.12",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
        assert r.status_code == 201
    assert _post(api_client, "203.0.113.12").status_code == 429


def test_web_form_shares_the_limit_and_says_so(client, service, low_rate):
    for _ in range(3):
        client.post("/services/acme/", {"problem": "login", "country": "DE"})
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    assert response.status_code == 429
    assert "too fast" in response.content.decode()
    assert Report.objects.count() == 3
