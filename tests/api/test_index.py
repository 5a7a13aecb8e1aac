"""/api/ and /api/v1/ say where the endpoints are (both were a plain 404)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db


def test_the_v1_index_links_every_endpoint(client, settings):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    links = response.json()["links"]
    expected = {
        "services": "/api/v1/services/",
        "outages": "/api/v1/outages/",
        "status": "/api/v1/status/",
        "reports": "/api/v1/reports/",
        "subscriptions": "/api/v1/subscriptions/",
        "schema": "/api/schema/",
        "docs": "/api/docs/",
    }
    for name, path in expected.items():
        assert links[name] == settings.SITE_URL + path


def test_every_v1_index_link_answers(client, service):
    links = client.get("/api/v1/").json()["links"]
    for name in ("services", "outages", "status", "track_record", "schema", "docs"):
        assert client.get(urlsplit(links[name]).path).status_code == 200, name


def test_the_api_root_points_to_v1(client, settings):
    response = client.get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["versions"]["v1"] == settings.SITE_URL + "/api/v1/"
    assert body["docs"] == settings.SITE_URL + "/api/docs/"


def test_only_the_v1_index_is_an_operation_in_the_schema(client):
    # README sends newcomers to /api/v1/: its links are documented (tests/api/test_schema.py);
    # /api/ is outside v1 and only says where v1 is.
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "/api/" not in paths and "/api/v1/" in paths


@pytest.mark.parametrize("path", ["/api/", "/api/v1/"])
def test_the_indexes_are_conditional_reads_like_every_other(client, path):
    # They had no ETag (API tester, forty-fourth session): a client polling the index to
    # find the endpoints revalidates it as it does the reads.
    first = client.get(path)
    assert first["ETag"].startswith('W/"') and first["Cache-Control"] == "public, max-age=15"
    again = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_the_schema_documents_the_v1_index_s_etag(client):
    operation = client.get("/api/schema/", {"format": "json"}).json()["paths"]["/api/v1/"]["get"]
    assert "304" in operation["responses"]
    assert "ETag" in operation["responses"]["200"]["headers"]
