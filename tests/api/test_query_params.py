"""Every API query parameter is validated: empty or malformed values are a 400 naming it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.detection.status_data import minute_now, outage_make

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/outages/?until=", "until"),
        ("/api/v1/outages/?since=", "since"),
        ("/api/v1/outages/?status=", "status"),
        ("/api/v1/outages/?service=", "service"),
        ("/api/v1/outages/?country=", "country"),
        ("/api/v1/services/acme/series/?window=", "window"),
        ("/api/v1/services/acme/series/?resolution=", "resolution"),
        ("/api/v1/services/acme/series/?country=", "country"),
        ("/api/v1/services/?category=", "category"),
        ("/api/v1/services/?category=not%20a%20slug", "category"),
    ],
)
def test_empty_or_malformed_values_are_400(api_client, service, url, field):
    response = api_client.get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == [field]


@pytest.mark.parametrize("value", ["-1.9", "0", "-3", "1.5", "abc", "", "201", "١٢"])
@pytest.mark.parametrize("url", ["/api/v1/services/", "/api/v1/outages/"])
def test_page_size_must_be_a_whole_number_up_to_the_maximum(api_client, url, value):
    response = api_client.get(url, {"page_size": value})
    assert response.status_code == 400
    assert response.json()["fields"] == {"page_size": ["Must be a whole number from 1 to 200."]}


@pytest.mark.parametrize("url", ["/api/v1/services/", "/api/v1/outages/"])
def test_good_page_size_is_used(api_client, make_service, url):
    # Two of each, so that a page of one is a page size at work, not a short list.
    for slug in ("acme", "beta"):
        outage_make(make_service(slug), started_at=minute_now() - timedelta(hours=1))
    response = api_client.get(url, {"page_size": "1"})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 1 and body["next"]


def test_empty_search_lists_everything(api_client, service):
    response = api_client.get("/api/v1/services/", {"search": ""})
    assert response.status_code == 200 and response.json()["count"] >= 1


def test_page_size_is_documented_as_bounded(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parameters = schema["paths"]["/api/v1/services/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}


@pytest.mark.parametrize("value", ["", "0", "-1", "last", "1.5", "abc"])
def test_page_must_be_a_positive_whole_number(api_client, service, value):
    response = api_client.get("/api/v1/services/", {"page": value})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["page"]


def test_page_past_the_end_is_404_and_a_good_page_is_served(api_client, service):
    assert api_client.get("/api/v1/services/", {"page": "1"}).status_code == 200
    assert api_client.get("/api/v1/services/", {"page": "99999"}).status_code == 404


@pytest.mark.parametrize("url", ["/api/v1/services/", "/api/v1/outages/", "/api/v1/status/"])
def test_a_format_we_do_not_offer_is_a_406_naming_it(api_client, service, url):
    response = api_client.get(url, {"format": "xml"})
    assert response.status_code == 406
    assert response.json() == {
        "detail": "format='xml' is not offered; use json.",
        "code": "not_acceptable",
    }
    assert api_client.get(url, {"format": "json"}).status_code == 200


def test_the_schema_keeps_its_own_formats(client):
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200
    assert client.get("/api/schema/", {"format": "xml"}).status_code == 406


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/outages/?service=acme&service=other", "service"),
        ("/api/v1/outages/?status=active&status=resolved", "status"),
        ("/api/v1/outages/?since=2026-12-01T00:00:00Z&since=2026-12-02T00:00:00Z", "since"),
        ("/api/v1/services/acme/series/?window=24h&window=1h", "window"),
        ("/api/v1/services/acme/series/?country=DE&country=DE", "country"),
        ("/api/v1/services/?search=a&search=b", "search"),
        ("/api/v1/services/?page=1&page=2", "page"),
        ("/api/v1/services/?page_size=5&page_size=10", "page_size"),
        ("/api/v1/outages/?page_size=5&page_size=10", "page_size"),
        ("/api/v1/services/acme/comments/?cursor=a&cursor=b", "cursor"),
    ],
)
def test_a_parameter_given_twice_is_400_naming_it(api_client, service, url, field):
    # The last one silently won: ?service=a&service=b filtered on b alone.
    response = api_client.get(url)
    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {field: ["Give this parameter once."]}


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        (
            "/api/v1/outages/?servce=acme",
            "servce",
            "This endpoint has no parameter by that name. Did you mean 'service'? It reads: "
            "country, cursor, page_size, service, since, status, until, updated_since.",
        ),
        (
            "/api/v1/services/?serch=acme",
            "serch",
            "This endpoint has no parameter by that name. Did you mean 'search'? It reads: "
            "category, page, page_size, search.",
        ),
        (
            "/api/v1/services/acme/?page=2",
            "page",
            "This endpoint has no parameter by that name. It reads no query parameters.",
        ),
        ("/api/v1/status/?utm=a&utm=b", "utm", None),
        ("/api/v1/services/acme/series/?windw=1h", "windw", None),
        ("/api/v1/services/acme/comments/?page=2", "page", None),
        ("/api/v1/track-record/?service=acme", "service", None),
    ],
)
def test_a_parameter_the_endpoint_does_not_read_is_400_naming_it(
    api_client, service, url, field, message
):
    # Ignored, a misspelt filter answered with the unfiltered list, read as the filtered one.
    response = api_client.get(url)
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert list(fields) == [field]
    assert fields[field][0].startswith("This endpoint has no parameter by that name.")
    if message:
        assert fields[field] == [message]


def test_the_parameters_an_endpoint_reads_are_all_taken(api_client, service):
    assert api_client.get("/api/v1/services/acme/comments/", {"page_size": 5}).status_code == 200
    outages = {"service": "acme", "status": "active", "page_size": 5, "format": "json"}
    assert api_client.get("/api/v1/outages/", outages).status_code == 200


def test_since_and_until_are_documented_as_an_overlap_with_until_exclusive(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/outages/"]["get"]["parameters"]
    described = {p["name"]: p.get("description", "") for p in parameters}
    assert "overlap" in described["since"] and "overlap" in described["until"]
    assert "exclusive" in described["until"]


@pytest.mark.parametrize("offset", ["+01:00", "+0100", "+01"])
def test_an_unencoded_plus_in_a_time_gets_its_own_hint(api_client, offset):
    # "?since=2026-11-30T10:00:00+01:00" typed into a URL: the query reads the "+" as a space
    # (API tester, forty-fourth session: the generic format message).
    response = api_client.get(f"/api/v1/outages/?since=2026-11-30T10:00:00{offset}")
    assert response.status_code == 400
    assert response.json()["fields"]["since"] == [
        "A '+' in a URL reads as a space: write the offset's '+' as %2B, or give UTC with Z."
    ]
    encoded = api_client.get(
        "/api/v1/outages/?since=2026-11-30T10:00:00" + offset.replace("+", "%2B")
    )
    assert encoded.status_code == 200, encoded.content


def test_a_malformed_time_keeps_the_format_message(api_client):
    response = api_client.get("/api/v1/outages/?updated_since=yesterday")
    assert response.status_code == 400
    assert "Datetime has wrong format" in response.json()["fields"]["updated_since"][0]
