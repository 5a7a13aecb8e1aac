"""A slug in another case is the same service at a second address: it answers 301 to the
lower-case one, as a former slug does (reports.renamed), so one resource keeps one URL."""

from __future__ import annotations

import pytest

from reports.cache import catalog_forget
from reports.models import Report

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_service):
    return make_service("acme", "Acme Cloud")


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("/services/ACME/", "/services/acme/"),
        ("/services/Acme/?utm_source=mail", "/services/acme/?utm_source=mail"),
        ("/services/ACME/live.json", "/services/acme/live.json"),
        ("/services/ACME/outages/feed/", "/services/acme/outages/feed/"),
        ("/api/v1/services/ACME/", "/api/v1/services/acme/"),
        ("/api/v1/services/AcMe/series/?window=1h", "/api/v1/services/acme/series/?window=1h"),
        ("/api/v1/services/ACME/comments/", "/api/v1/services/acme/comments/"),
    ],
)
@pytest.mark.parametrize("method", ["get", "head"])
def test_another_case_redirects_permanently_to_the_lower_case_address(
    client, acme, address, canonical, method
):
    response = getattr(client, method)(address)
    assert (response.status_code, response["Location"]) == (301, canonical)
    assert getattr(client, method)(canonical).status_code == 200


def test_the_api_redirect_says_why_in_the_error_format(api_client, acme):
    response = api_client.get("/api/v1/services/ACME/")
    assert response.status_code == 301
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "slug_case"
    assert "/api/v1/services/acme/" in body["detail"]


def test_an_unknown_slug_in_upper_case_is_still_a_404(api_client, client, acme):
    assert api_client.get("/api/v1/services/NOSUCH/").status_code == 404
    assert client.get("/services/NOSUCH/").status_code == 404


def test_a_former_slug_in_upper_case_leads_to_the_current_address(client, make_service):
    service = make_service("chirp", "Chirp")
    service.former_slugs.create(slug="birdsite")
    catalog_forget()  # the process's catalog copy
    response = client.get("/api/v1/services/BIRDSITE/")
    assert (response.status_code, response["Location"]) == (301, "/api/v1/services/chirp/")


def test_a_report_form_sent_to_another_case_is_stored_for_the_service(client, acme):
    # As from a page under a former slug: a 301 would turn the POST into a GET and lose it.
    response = client.post("/services/ACME/", {"problem": "login", "country": "FR"})
    assert response.status_code == 302
    assert response["Location"] == "/services/acme/#report"
    assert Report.objects.filter(country="FR", service=acme).count() == 1
