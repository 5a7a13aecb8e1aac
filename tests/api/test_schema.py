"""The OpenAPI schema documents the error answers every endpoint can give."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", {"format": "json"}).json()


def _error_ref(operation, code: str) -> str:
    return operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]


@pytest.mark.parametrize("path", ["/api/v1/reports/", "/api/v1/subscriptions/"])
def test_posts_document_their_errors_with_the_error_schema(schema, path):
    post = schema["paths"][path]["post"]
    assert {"201", "400", "413", "415", "429", "503"} <= set(post["responses"])
    for code in ("400", "413", "415", "429", "503"):
        assert _error_ref(post, code) == "#/components/schemas/ApiError"
    error = schema["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"detail", "code"}


def test_service_list_documents_its_errors_and_filters(schema):
    get = schema["paths"]["/api/v1/services/"]["get"]
    assert {"200", "400", "404", "429"} <= set(get["responses"])
    assert _error_ref(get, "400") == "#/components/schemas/ApiError"
    names = {p["name"] for p in get["parameters"]}
    assert {"search", "category", "page", "page_size"} <= names


def test_status_documents_throttling_and_unavailability(schema):
    assert {"200", "304", "429", "503"} <= set(
        schema["paths"]["/api/v1/status/"]["get"]["responses"]
    )


def test_swagger_ui_start_up_script_is_served_as_a_file(client):
    html = client.get("/api/docs/").content.decode()
    urls = re.findall(r'<script src="([^"]+)"', html)
    own = [u for u in urls if "swagger-ui" not in u]
    assert own, urls
    script = client.get(own[0])
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
