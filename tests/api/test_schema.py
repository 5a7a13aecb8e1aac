"""The OpenAPI schema documents the error answers every endpoint can give."""

from __future__ import annotations

import json
import re
from pathlib import Path

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


def _json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema (what jsonschema validates)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_every_documented_example_is_a_valid_answer(schema):
    # The examples in /api/docs/ are what client developers copy: each must be an answer
    # the endpoint could give (an outage list was wrapped in its page twice, and outages
    # lacked the required "networks").
    from jsonschema import Draft202012Validator

    components = _json_schema(schema["components"])
    checked = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json", {})
                for name, example in content.get("examples", {}).items():
                    body = {**_json_schema(content["schema"]), "components": components}
                    errors = list(Draft202012Validator(body).iter_errors(example["value"]))
                    assert not errors, (path, method, code, name, errors[0].message)
                    checked += 1
    assert checked >= 5


def test_a_service_without_a_status_page_is_a_valid_answer(schema, api_client):
    # Its "" matched both branches of oneOf [uri, empty string] wherever `format` is only an
    # annotation (JSON Schema's default): every such service failed validation (API
    # integrator tester F4). Validated as such a tool does: no format assertion.
    from jsonschema import Draft202012Validator

    body = api_client.get("/api/v1/services/", {"page_size": 200}).json()
    assert "" in {service["status_page"] for service in body["results"]}
    answer = schema["paths"]["/api/v1/services/"]["get"]["responses"]["200"]
    answer_schema = _json_schema(answer["content"]["application/json"]["schema"])
    validator = Draft202012Validator(
        {**answer_schema, "components": _json_schema(schema["components"])}
    )
    assert [error.message for error in validator.iter_errors(body)] == []


@pytest.mark.parametrize(
    ("method", "headers"), [("post", {}), ("get", {"HTTP_ACCEPT": "text/csv"})]
)
def test_the_schema_endpoints_errors_are_json_like_every_api_answer(client, method, headers):
    response = getattr(client, method)("/api/schema/", **headers)
    assert response.status_code in (405, 406)
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) >= {"detail", "code"}


# Words of the code, not of the API: a component description is what an integrator reads
# first on /api/docs/, and drf-spectacular takes it from the class docstring (or a base
# class's) unless told otherwise.
_IMPLEMENTATION_WORDS = re.compile(
    r"serializer|context|selector|``|\bDRF\b|__init__|\binstance\b|deep-cop|"
    r"\b[a-z_]{3,}\.[A-Za-z_]{2,}\b",  # a dotted Python path: selectors.ServiceState
    re.IGNORECASE,
)


def test_component_descriptions_are_written_for_api_users(schema):
    leaked = {
        name: component["description"]
        for name, component in schema["components"]["schemas"].items()
        if _IMPLEMENTATION_WORDS.search(component.get("description", ""))
    }
    assert leaked == {}


@pytest.mark.parametrize(
    "name",
    [
        "ReportCreate",
        "SubscriptionCreate",
        "OutageSummary",
        "OutageDetail",
        "ServiceState",
        "StatusEntry",
    ],
)
def test_main_components_say_what_they_are(schema, name):
    description = schema["components"]["schemas"][name].get("description", "")
    assert description and not _IMPLEMENTATION_WORDS.search(description)


_CONDITIONAL_READS = [
    "/api/v1/services/",
    "/api/v1/services/{slug}/",
    "/api/v1/services/{slug}/comments/",
    "/api/v1/services/{slug}/series/",
    "/api/v1/outages/",
    "/api/v1/outages/{id}/",
    "/api/v1/status/",
    "/api/v1/track-record/",
]


@pytest.mark.parametrize("path", _CONDITIONAL_READS)
def test_every_cached_read_documents_its_conditional_headers(schema, path):
    get = schema["paths"][path]["get"]
    header_params = [p["name"] for p in get["parameters"] if p["in"] == "header"]
    assert header_params == ["If-None-Match"]
    responses = get["responses"]
    for code in ("200", "304"):
        assert {"ETag", "Cache-Control"} <= set(responses[code].get("headers", {})), code
    assert "content" not in responses["304"]


def test_every_429_and_503_documents_retry_after(schema):
    seen = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ("429", "503"):
                if code in operation["responses"]:
                    headers = operation["responses"][code].get("headers", {})
                    assert headers["Retry-After"]["schema"]["type"] == "integer", (path, method)
                    seen += 1
    assert seen >= 15


def test_the_report_post_says_what_counts_and_its_limits(schema):
    description = schema["paths"]["/api/v1/reports/"]["post"]["description"]
    for words in (
        "REPORT_DEDUP_WINDOW_MINUTES",
        "counted",
        "THROTTLE_REPORTS",
        "10 a minute",
        "API_MAX_BODY_BYTES",
        "every POST counts",
        "CORS",
        "docs/configuration.md",
    ):
        assert words in description, words


def test_the_v1_index_is_in_the_schema(schema, client):
    get = schema["paths"]["/api/v1/"]["get"]
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"version", "links"}
    links = schema["components"]["schemas"]["ApiV1Links"]["properties"]
    assert set(links) == set(client.get("/api/v1/").json()["links"])


@pytest.mark.parametrize("path", ["/api/v1/reports/", "/api/v1/subscriptions/"])
def test_bodies_that_refuse_unknown_fields_say_so(schema, path, api_client):
    # A generated client learnt only from a 400 that a misspelt field is refused (API tester,
    # forty-fourth session).
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    component = schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    assert component["additionalProperties"] is False
    answer = api_client.post(path, {"servcie": "acme"}, format="json")
    assert answer.status_code == 400 and answer.json()["fields"]["servcie"] == ["Unknown field."]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/services/{slug}/",
        "/api/v1/services/{slug}/comments/",
        "/api/v1/services/{slug}/series/",
    ],
)
def test_the_slug_redirect_is_documented_where_a_slug_is_read(schema, path):
    # Answered before the view reads the query: schemathesis met an undocumented 301 for
    # /services/X/comments/?page_size=292 in CI (forty-sixth session).
    moved = schema["paths"][path]["get"]["responses"]["301"]
    assert "Location" in moved["headers"]
    assert _error_ref(schema["paths"][path]["get"], "301").endswith("/ApiError")


def test_the_redirect_comes_before_the_query_is_read(api_client, make_service):
    make_service("x", "X")
    response = api_client.get("/api/v1/services/X/comments/", {"page_size": "292"})
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/services/x/comments/?page_size=292"
    assert response.json()["code"] == "slug_case"


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_declares_the_406_it_gives(schema, api_client, make_service):
    # The README documents it; a generated client met an undeclared status (API integrator
    # tester F6).
    make_service("acme")
    asked = 0
    for path, method, operation in _operations(schema):
        assert _error_ref(operation, "406") == "#/components/schemas/ApiError", (path, method)
        url = path.replace("{slug}", "acme").replace("{id}", "1")
        answer = getattr(api_client, method)(url, HTTP_ACCEPT="text/html")
        assert answer.status_code == 406, (path, method, answer.status_code)
        assert answer.json()["code"] == "not_acceptable"
        asked += 1
    assert asked >= 13


def test_the_schema_names_the_public_site_as_its_server(schema, settings):
    # Without it generators fall back to their own default (openapi-generator: localhost).
    assert schema["servers"] == [{"url": settings.SITE_URL}]


def test_the_webhook_callback_declares_its_headers_and_any_2xx(schema):
    from alerts.channels.webhook import signature

    callbacks = schema["paths"]["/api/v1/subscriptions/"]["post"]["callbacks"]
    operation = callbacks["outageEvent"]["{$request.body#/url}"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert set(headers) == {
        "X-OutageWatch-Event",
        "X-OutageWatch-Delivery",
        "X-OutageWatch-Timestamp",
        "X-OutageWatch-Signature",
    }
    assert all(header["required"] for header in headers.values())
    events = schema["components"]["schemas"]["WebhookEvent"]["properties"]["event"]
    event_enum = schema["components"]["schemas"][events["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(headers["X-OutageWatch-Event"]["schema"]["enum"]) == set(event_enum)
    sent = signature(secret="s", timestamp=1_800_000_000, body=b"{}")
    assert re.fullmatch(headers["X-OutageWatch-Signature"]["schema"]["pattern"], sent)
    assert set(operation["responses"]) == {"2XX"}


def _readme_json_after(heading: str):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("```json\n", readme.index(heading)) + len("```json\n")
    return json.loads(readme[start : readme.index("\n```", start)])


def test_the_readme_webhook_body_is_a_valid_webhook_event(schema):
    # It lacked `official` and `official_incident`, which every real message has (API
    # integrator tester F1): a receiver written from the README broke on the real ones.
    from jsonschema import Draft202012Validator

    body = _readme_json_after("### Webhooks")
    event = {"$ref": "#/components/schemas/WebhookEvent"}
    validator = Draft202012Validator({**event, "components": _json_schema(schema["components"])})
    assert [error.message for error in validator.iter_errors(body)] == []


def test_the_schema_version_s_major_is_the_current_url_version(schema, api_client):
    # README, "Compatibility within v1": info.version is the contract's, its major the URL's.
    major = schema["info"]["version"].split(".")[0]
    assert api_client.get("/api/").json()["current"] == f"v{major}"
