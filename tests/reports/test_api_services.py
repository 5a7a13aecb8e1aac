from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_catalog_list_is_paginated(api_client):
    response = api_client.get("/api/v1/services/", {"page_size": 10})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 150
    assert len(body["results"]) == 10
    assert body["next"] and "page=2" in body["next"]
    first = body["results"][0]
    assert set(first) >= {"slug", "name", "category", "website", "status_page", "problems", "url"}


def test_catalog_page_links_are_under_site_url_whatever_the_host(api_client, settings):
    # As every other link in the body; they were built from the request's Host.
    settings.SITE_URL = "https://outages.example"
    settings.ALLOWED_HOSTS = ["testserver", "internal.example"]
    query = {"page_size": 10, "page": 2}
    body = api_client.get("/api/v1/services/", query, HTTP_HOST="internal.example").json()
    assert body["next"] == "https://outages.example/api/v1/services/?page=3&page_size=10"
    assert body["previous"] == "https://outages.example/api/v1/services/?page_size=10"


def test_catalog_search_by_name_is_case_insensitive(api_client):
    body = api_client.get("/api/v1/services/", {"search": "chatg"}).json()
    assert [s["slug"] for s in body["results"]] == ["chatgpt"]


@pytest.mark.parametrize("search", ["\U0001f600", "!!!", "  ", "-", "?!", "\u200b"])
def test_a_search_without_letters_or_digits_finds_no_service(api_client, search):
    # It normalised to "" and listed the whole catalog: that is the answer to no search.
    body = api_client.get("/api/v1/services/", {"search": search}).json()
    assert body["count"] == 0 and body["results"] == []


def test_no_search_or_an_empty_one_lists_every_service(api_client):
    everything = api_client.get("/api/v1/services/").json()["count"]
    assert everything >= 150
    assert api_client.get("/api/v1/services/", {"search": ""}).json()["count"] == everything


def test_the_search_parameter_says_what_it_matches(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/services/"]["get"]["parameters"]
    search = next(p for p in parameters if p["name"] == "search")
    assert "no letter or digit" in search["description"]


def test_catalog_filter_by_category(api_client):
    body = api_client.get("/api/v1/services/", {"category": "gaming", "page_size": 200}).json()
    assert body["count"] >= 8
    assert {s["category"] for s in body["results"]} == {"gaming"}
    unknown = api_client.get("/api/v1/services/", {"category": "gamingg"})
    assert unknown.status_code == 400 and "category" in unknown.json()["fields"]


def test_inactive_services_are_not_listed(api_client, make_service):
    make_service("retired", is_active=False)
    body = api_client.get("/api/v1/services/", {"search": "retired"}).json()
    assert body["count"] == 0


def test_service_detail_and_404(api_client):
    assert api_client.get("/api/v1/services/slack/").json()["name"] == "Slack"
    missing = api_client.get("/api/v1/services/does-not-exist/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found.", "code": "not_found"}


def test_bad_page_gets_404_in_the_error_format(api_client):
    response = api_client.get("/api/v1/services/", {"page": 9999})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_openapi_schema_and_docs_are_served_without_cdn(client):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/reports/" in paths and "/api/v1/services/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "//unpkg" not in html


def test_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in ("/api/v1/status/", "/api/v1/outages/{id}/", "/api/v1/subscriptions/"):
        assert path in schema


@pytest.mark.parametrize(
    "url", ["/api/v1/services/?page_size=5", "/api/v1/services/acme/comments/"]
)
def test_catalog_and_comment_reads_carry_etags(api_client, make_service, url):
    make_service("acme", "Acme Cloud")
    first = api_client.get(url)
    assert first.status_code == 200 and first["ETag"]
    again = api_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert api_client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_report_admin_lists_without_scanning_every_report(admin_client, make_service):
    # date_hierarchy's month links were a DISTINCT over the whole table (1 s at 3.3M
    # reports), and the full count a second COUNT(*); the date filter uses the index.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(
            "/admin/reports/report/", {"created_at__gte": "2026-12-01 00:00:00+00:00"}
        )
    assert page.status_code == 200
    sql = " ".join(q["sql"] for q in queries).upper()
    assert "DISTINCT" not in sql and "DATE_TRUNC" not in sql
    assert sum("COUNT(" in q["sql"].upper() for q in queries) == 1


def test_a_service_is_found_by_its_slug_in_any_case(api_client, client, make_service):
    # ?service=ChatGPT matched while /api/v1/services/ChatGPT/ was a 404; it is found now,
    # through a redirect to its one address (tests/reports/test_slug_case.py).
    make_service("acme", "Acme Cloud")
    assert api_client.get("/api/v1/services/ACME/", follow=True).json()["slug"] == "acme"
    assert api_client.get("/api/v1/services/Acme/series/", follow=True).status_code == 200
    assert client.get("/services/Acme/", follow=True).status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/services/", "/api/v1/services/acme/comments/"])
def test_catalog_and_comment_reads_are_conditional_like_every_read(api_client, make_service, url):
    # The same rule as the outage reads: a weak ETag matched with or without its W/ (a
    # client that dropped it got 200 here and 304 there), and a max-age for caches.
    make_service("acme", "Acme Cloud")
    first = api_client.get(url)
    assert first["ETag"].startswith('W/"')
    assert first["Cache-Control"] == "public, max-age=15"
    bare = first["ETag"].removeprefix("W/")
    again = api_client.get(url, HTTP_IF_NONE_MATCH=bare)
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"] and again["Cache-Control"] == first["Cache-Control"]


def test_a_missing_services_comments_are_a_404_whatever_if_none_match(api_client, db):
    response = api_client.get("/api/v1/services/nope/comments/", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404 and "ETag" not in response
