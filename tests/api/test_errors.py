"""Error answers under /api/: always the one JSON format, never HTML, never Python reprs."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client

from reports.models import Report

pytestmark = pytest.mark.django_db
POSTS = ["/api/v1/reports/", "/api/v1/subscriptions/"]


def post(client, url, body, **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data=payload, content_type="application/json", **extra)


def plain_strings(fields) -> bool:
    return isinstance(fields, dict) and all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in fields.values()
    )


def test_list_item_errors_are_readable_messages(api_client, service):
    body = {"email": "me@example.com", "service": "acme", "countries": ["DE", ["FR"], {"a": 1}]}
    response = post(api_client, "/api/v1/subscriptions/", body)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields == {"countries": ["Item 2: Must be a string.", "Item 3: Must be a string."]}


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("value", [["x"], {"a": [1, {"b": 2}]}, 3, None, True])
def test_fields_are_always_lists_of_plain_strings(api_client, service, url, value):
    body = {"email": value, "service": value, "countries": value, "problem": value}
    response = post(api_client, url, body)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert plain_strings(fields)
    assert not any("ErrorDetail" in m or "{" in m for ms in fields.values() for m in ms)


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize(("opener", "closer", "depth"), [("[", "]", 5000), ('{"":', "}", 3000)])
def test_json_nested_thousands_deep_is_400(api_client, service, url, opener, closer, depth):
    # Both fit under the body limit; Python's json gives up at about 1,000 levels.
    response = post(api_client, url, opener * depth + "1" + closer * depth)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_brackets_inside_strings_do_not_count_as_nesting(api_client, service):
    response = post(api_client, "/api/v1/reports/", {"service": "[" * 100, "problem": "{" * 100})
    assert response.status_code == 400
    assert "service" in response.json()["fields"]


@pytest.mark.parametrize("url", POSTS)
def test_body_over_djangos_upload_limit_is_a_json_413(api_client, service, url, settings):
    # Over DATA_UPLOAD_MAX_MEMORY_SIZE too, but the API's own, smaller limit answers first.
    response = post(api_client, url, '{"a": "' + "x" * 300_000 + '"}')
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"Request body is larger than {settings.API_MAX_BODY_BYTES} bytes.",
        "code": "payload_too_large",
    }


@pytest.mark.parametrize("url", POSTS)
def test_nul_in_a_json_string_is_a_field_error(api_client, service, url):
    body = {"service": "ac\x00me", "problem": "login", "country": "DE", "email": "a@b.example"}
    response = post(api_client, url, body)
    assert response.status_code == 400
    assert response.json()["fields"]["service"] == ["Must not contain NUL (0x00) characters."]


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("key", ["\\ud800", "\\udfff", "nested\\ud83d"])
def test_a_key_with_a_lone_surrogate_is_a_400_not_a_500(api_client, service, url, key):
    # The unknown field's name went into the error body, which could not be encoded.
    raw = '{"service": "acme", "problem": "login", "country": "DE", "email": "a@b.example", '
    response = post(api_client, url, raw + f'"{key}": 1}}')
    assert response.status_code == 400
    assert response.json()["detail"] == "JSON object keys must be valid Unicode (a lone surrogate)."
    nested = post(api_client, url, raw + f'"x": {{"{key}": 1}}}}')
    assert nested.status_code == 400


@pytest.mark.parametrize("url", POSTS)
def test_a_key_given_twice_is_a_400_naming_it(api_client, service, url):
    # Last one wins is what json.loads does; an ambiguous object is refused instead.
    raw = (
        '{"service": "acme", "problem": "login", "country": "DE", "email": "a@b.example", '
        '"country": "FR"}'
    )
    response = post(api_client, url, raw)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"country": ["Given more than once in the JSON object."]}


@pytest.mark.parametrize("url", POSTS)
def test_a_key_given_twice_in_a_nested_object_is_a_400_too(api_client, service, url):
    raw = '{"service": "acme", "problem": "login", "country": "DE", "x": {"a": 1, "a": 2}}'
    response = post(api_client, url, raw)
    assert response.status_code == 400
    assert response.json()["fields"] == {"a": ["Given more than once in the JSON object."]}


def test_unknown_api_url_is_a_json_404(client):
    response = client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unknown_api_url_is_a_json_404_in_development_mode_too(settings):
    from django.test import Client

    settings.DEBUG = True  # Django then answers its HTML debug page instead of handler404
    client = Client()  # a new handler: its middleware is loaded with DEBUG on
    response = client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    page = client.get("/no-such-page/")  # the website keeps the debug page
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True])
def test_an_api_path_without_its_final_slash_is_a_json_404_naming_it(settings, service, debug):
    # Not APPEND_SLASH's redirect: an HTML 301 that clients follow with a GET (a 405), and
    # with DEBUG a POST there raised RuntimeError (a 500).
    from django.test import Client

    settings.DEBUG = debug
    client = Client()  # a new handler: its middleware is loaded with the setting
    body = {"service": "acme", "problem": "login", "country": "DE"}
    response = client.post("/api/v1/reports", body, content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Not found. Did you mean /api/v1/reports/ (with the final slash)?",
        "code": "not_found",
    }
    assert client.get("/api/v1/services").json()["detail"].endswith("(with the final slash)?")
    assert client.get("/outages")["Location"] == "/outages/"  # the website still redirects


def test_unknown_page_is_still_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Not found" in response.content and response["Content-Type"].startswith("text/html")


@pytest.fixture
def crashing_view(monkeypatch):
    """The service list raises `exc` when set."""
    from reports import selectors

    state: dict = {}

    def service_list(**kwargs):
        raise state["exc"]

    monkeypatch.setattr(selectors, "service_list", service_list)
    return state


def test_crash_under_api_is_a_json_500(crashing_view):
    crashing_view["exc"] = ZeroDivisionError("boom")
    response = Client(raise_request_exception=False).get("/api/v1/services/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error.", "code": "server_error"}


def test_crash_on_a_page_is_the_html_500(crashing_view):
    crashing_view["exc"] = ZeroDivisionError("boom")
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


def test_database_down_under_api_is_a_json_503_with_retry_after(crashing_view):
    crashing_view["exc"] = OperationalError("connection refused")
    response = Client(raise_request_exception=False).get("/api/v1/services/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "unavailable"


def test_database_down_on_a_page_is_a_503_page(crashing_view):
    crashing_view["exc"] = OperationalError("connection refused")
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert b"Temporarily unavailable" in response.content


def test_database_down_outside_a_view_is_a_503_too(rf, settings):
    """handler500 tells a database error apart when it happens in middleware."""
    from outagewatch.http.errors import server_error

    request = rf.get("/api/v1/status/")
    try:
        raise OperationalError("gone")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"]


def test_djangos_own_body_limit_under_api_is_a_json_413(rf):
    from django.core.exceptions import RequestDataTooBig

    from outagewatch.http.errors import bad_request

    response = bad_request(rf.post("/api/v1/reports/"), RequestDataTooBig("big"))
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "payload_too_large"
    page = bad_request(rf.get("/"), RequestDataTooBig("big"))
    assert page.status_code == 413 and b"too large for us to read" in page.content


def test_a_website_form_over_djangos_body_limit_is_a_readable_413(client, service):
    response = client.post(
        "/services/acme/", {"problem": "login", "country": "DE", "comment": "x" * 300_000}
    )
    assert response.status_code == 413
    assert "too large for us to read" in response.content.decode()
    assert not Report.objects.exists()


LONG = "a" * 15_000


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/reports/", "service"),
        ("/api/v1/reports/", "problem"),
        ("/api/v1/reports/", "country"),
        ("/api/v1/reports/", "subdivision"),
        ("/api/v1/subscriptions/", "service"),
        ("/api/v1/subscriptions/", "channel"),
        ("/api/v1/subscriptions/", "timezone"),
    ],
)
def test_an_error_quotes_at_most_a_short_prefix_of_the_value(api_client, service, url, field):
    # A 15 KB country was a 15 KB answer: the error quotes the start, enough to recognise.
    body = {"email": "me@example.com", "service": "acme", "problem": "login", "country": "DE"}
    response = post(api_client, url, {**body, field: LONG})
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert len(response.content) < 1_000
    assert "a" * 40 + "…" in response.content.decode() or field == "timezone"


def test_a_long_unknown_field_name_is_not_echoed_in_full(api_client, service):
    body = {"service": "acme", "problem": "login", "country": "DE", LONG: 1}
    response = post(api_client, "/api/v1/reports/", body)
    assert response.status_code == 400
    assert len(response.content) < 1_000


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/v1/outages/", {"service": LONG}),
        ("/api/v1/outages/", {"status": LONG}),
        ("/api/v1/services/acme/series/", {"window": LONG}),
        ("/api/v1/services/", {"category": LONG}),
        ("/api/v1/status/", {"format": LONG}),
    ],
)
def test_a_query_error_quotes_at_most_a_short_prefix(api_client, service, url, query):
    response = api_client.get(url, query)
    assert response.status_code in (400, 404, 406)
    assert len(response.content) < 1_000


@pytest.mark.parametrize("url", POSTS)
@pytest.mark.parametrize("coding", ["gzip", "br", "deflate, gzip"])
def test_a_compressed_body_is_a_415_naming_the_content_coding(api_client, service, url, coding):
    import gzip

    body = gzip.compress(b'{"service": "acme", "problem": "login", "country": "DE"}')
    response = post(api_client, url, body, HTTP_CONTENT_ENCODING=coding)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_content_encoding"
    assert "Content-Encoding" in response.json()["detail"]


@pytest.mark.parametrize("coding", ["identity", ""])
def test_an_identity_content_coding_is_accepted(api_client, service, coding):
    body = {"service": "acme", "problem": "login", "country": "DE"}
    response = post(api_client, "/api/v1/reports/", body, HTTP_CONTENT_ENCODING=coding)
    assert response.status_code == 201


def test_options_on_the_api_docs_page_is_a_json_405_not_a_500(client):
    # Its one renderer is an HTML template, which DRF's OPTIONS answer has none of (API
    # tester F3, forty-fourth session): a 500 and a traceback for every link checker.
    response = client.options("/api/docs/")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert client.get("/api/docs/").status_code == 200


def test_the_api_docs_page_asked_for_json_is_a_json_406(client):
    # An HTML "406 Not Acceptable" under /api/ (API tester, forty-fourth session).
    response = client.get("/api/docs/", HTTP_ACCEPT="application/json")
    assert response.status_code == 406
    assert response.json() == {
        "detail": "This page is HTML: read the schema at /api/schema/.",
        "code": "not_acceptable",
    }
    page = client.get("/api/docs/", HTTP_ACCEPT="text/html,application/json;q=0.9")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")


def test_a_byte_order_mark_before_the_json_is_ignored(api_client, service):
    # RFC 8259 8.1 lets a parser ignore it; Windows tools write one (API tester, forty-fourth
    # session: a 400 "Expecting value").
    body = (
        b"\xef\xbb\xbf"
        + json.dumps({"service": "acme", "problem": "login", "country": "DE"}).encode()
    )
    response = post(api_client, "/api/v1/reports/", body)
    assert response.status_code == 201, response.content
    assert Report.objects.filter(service=service).count() == 1
    twice = post(api_client, "/api/v1/reports/", b"\xef\xbb\xbf" + body)
    assert twice.status_code == 400 and twice.json()["code"] == "parse_error"
