"""NUL bytes, oversized and chunked bodies are dealt with before any view sees them."""

from __future__ import annotations

import io
import json

import pytest

from reports.models import Report

pytestmark = pytest.mark.django_db
NUL = "Must not contain NUL (0x00) characters."


@pytest.mark.parametrize(
    "param", ["search", "category", "page", "page_size", "other", "status", "detail", "code"]
)
def test_nul_in_a_service_list_parameter_is_a_field_error(api_client, param):
    response = api_client.get(f"/api/v1/services/?{param}=a%00b")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "fields": {param: [NUL]},
    }


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/outages/?service=%00",
        "/api/v1/outages/?until=%00",
        "/api/v1/services/acme/series/?window=24h%00",
        "/api/v1/status/?x%00=1",
    ],
)
def test_nul_anywhere_in_an_api_query_is_400(api_client, service, url):
    response = api_client.get(url)
    assert response.status_code == 400
    assert list(response.json()["fields"].values()) == [[NUL]]


def test_nul_in_the_home_search_is_refused_readably(client):
    response = client.get("/?q=chat%00gpt")
    assert response.status_code == 400
    assert b"cannot be searched for" in response.content


def test_home_view_ignores_nul_in_q_on_its_own(rf, service):
    from reports.views import home

    response = home(rf.get("/", {"q": "ac\x00me"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="acme"' in html and "Acme Cloud" in html  # searched for "acme"


def test_declared_length_over_the_limit_is_refused_before_reading(client, settings):
    settings.API_MAX_BODY_BYTES = 100
    response = client.post(
        "/api/v1/reports/", data="{}" + " " * 200, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_chunked_body_is_read(api_client, service):
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"}).encode()
    request = api_client._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/api/v1/reports/",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )
    request.pop("CONTENT_LENGTH", None)
    response = api_client.request(**request)
    assert response.status_code == 201, response.content
    assert Report.objects.count() == 1


def test_chunked_body_over_the_limit_is_413(api_client, service, settings):
    settings.API_MAX_BODY_BYTES = 1000
    request = api_client._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/api/v1/reports/",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(b'{"comment": "' + b"x" * 5000 + b'"}')},
    )
    request.pop("CONTENT_LENGTH", None)
    response = api_client.request(**request)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_nul_in_a_website_form_is_refused_readably(client, service):
    response = client.post("/services/acme/", {"problem": "login", "country": "D\x00E"})
    assert response.status_code == 400
    assert b"cannot store" in response.content
    assert Report.objects.count() == 0
