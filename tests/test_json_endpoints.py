"""The JSON endpoints outside /api/ (the pages' live.json, the report form's regions) answer
their errors as JSON too: a script or client polling them expects JSON, not an HTML page."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.detection.status_data import outage_make

pytestmark = pytest.mark.django_db

UNKNOWN = [
    "/services/nosuch/live.json",
    "/outages/999999/live.json",
    "/regions/XX.json",
    "/services/acme/nosuch.json",  # no such address at all
]


def _json_404(response) -> None:
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found" and body["detail"]


@pytest.mark.parametrize("url", UNKNOWN)
def test_an_unknown_json_address_is_a_json_404(client, service, url):
    _json_404(client.get(url))


@pytest.mark.parametrize("url", UNKNOWN)
def test_an_unknown_json_address_is_a_json_404_in_development_mode_too(settings, service, url):
    settings.DEBUG = True  # Django then answers its HTML debug page instead of handler404
    _json_404(Client().get(url))  # a new handler: its middleware is loaded with DEBUG on


def _known(service) -> list[str]:
    outage = outage_make(service)
    return [
        "/live.json",
        "/services/acme/live.json",
        f"/outages/{outage.pk}/live.json",
        "/regions/DE.json",
    ]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_write_to_a_json_address_is_a_json_405_with_allow(service, method):
    client = Client(enforce_csrf_checks=True)  # a script's POST carries no CSRF token
    for url in _known(service):
        response = getattr(client, method)(url)
        assert response.status_code == 405, (url, response.content)
        assert response["Content-Type"] == "application/json"
        assert response["Allow"] == "GET, HEAD"
        assert response.json()["code"] == "method_not_allowed"


def test_the_json_addresses_still_answer_reads(client, service):
    for url in _known(service):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/json"
